/**
 * The dynamic symbol pass: for a program, DT_SYMTAB sized as ld.so bounds it (DT_HASH,
 * DT_GNU_HASH, the relocations' symbol indices), and where the version tables (DT_VERSYM,
 * DT_VERNEED, DT_VERDEF) are; for an object file, its .dynsym and .gnu.version* sections.
 */
import { type Bin, type RawSym, readSymbols, type Section, sectionStrTab, type StrTab } from './bin.ts';
import {
  DT_GNU_HASH,
  DT_HASH,
  DT_JMPREL,
  DT_REL,
  DT_RELA,
  DT_STRTAB,
  DT_SYMENT,
  DT_SYMTAB,
  DT_VERDEF,
  DT_VERDEFNUM,
  DT_VERNEED,
  DT_VERNEEDNUM,
  DT_VERSYM,
  type Dynamic,
} from './dynamic.ts';
import type { Image } from './layout.ts';
import { relocSymbolEnd } from './relocs.ts';

const SHT_NOBITS = 8;
const SHT_DYNSYM = 11;
const SHT_GNU_VERDEF = 0x6ffffffd;
const SHT_GNU_VERNEED = 0x6ffffffe;
const SHT_GNU_VERSYM = 0x6fffffff;

/** A version table: a byte range, the entry count its header gives, and its string table. */
export interface VersionTable {
  off: number;
  end: number;
  count: number;
  strs: StrTab;
}

export interface DynamicSymbols {
  /** Index 0 is the null symbol. */
  dynsyms: RawSym[];
  versym: { off: number; count: number } | undefined;
  verneed: VersionTable | undefined;
  verdef: VersionTable | undefined;
}

export function readDynamicSymbols(img: Image, d: Dynamic): DynamicSymbols {
  const b: Bin = img.b;
  const { sections, program } = img;
  const { dyn, dynSeg, dynStr } = d;
  let dynsyms: RawSym[] = [];
  let versym: { off: number; count: number } | undefined;
  let verneed: VersionTable | undefined;
  let verdef: VersionTable | undefined;
  if (program) {
    if (dynSeg && dyn.has(DT_SYMTAB)) {
      if (!dynStr) b.fail('DT_SYMTAB without DT_STRTAB');
      const std = b.is64 ? 24 : 16;
      const entsize = dyn.get(DT_SYMENT) ?? std;
      if (entsize === 0) b.fail('DT_SYMENT is 0');
      const symAddr = dyn.get(DT_SYMTAB)!;
      const { off: symOff, room } = img.vaddrRoom(symAddr, 'DT_SYMTAB');
      const count = dynsymCount(img, dyn, symAddr, entsize);
      if (count * entsize > room) b.fail('dynamic symbol table extends past its segment');
      dynsyms = readSymbols(b, symOff, count * entsize, entsize, dynStr, 'dynamic symbol table');
      if (sections.length > 0) {
        const sec = sections.find((s) => s.addr === symAddr && s.type !== SHT_NOBITS && s.size > 0);
        if (!sec) img.disagree("no section at DT_SYMTAB's address; using the dynamic segment");
        else if (sec.type !== SHT_DYNSYM) img.disagree(`${img.sectionName(sec)} is not SHT_DYNSYM; using the dynamic segment`);
        else if (sec.size !== count * entsize)
          img.disagree(`${img.sectionName(sec)} has ${Math.floor(sec.size / entsize)} symbols, the hash table ${count}; using the hash table`);
      }
      const vsAddr = dyn.get(DT_VERSYM);
      if (vsAddr !== undefined) versym = { off: img.vaddrToOffset(vsAddr, count * 2, 'DT_VERSYM'), count };
      const vnAddr = dyn.get(DT_VERNEED);
      if (vnAddr !== undefined) {
        const r = img.vaddrRoom(vnAddr, 'DT_VERNEED');
        verneed = { off: r.off, end: r.off + r.room, count: dyn.get(DT_VERNEEDNUM) ?? 0, strs: dynStr };
      }
      const vdAddr = dyn.get(DT_VERDEF);
      if (vdAddr !== undefined) {
        const r = img.vaddrRoom(vdAddr, 'DT_VERDEF');
        verdef = { off: r.off, end: r.off + r.room, count: dyn.get(DT_VERDEFNUM) ?? 0, strs: dynStr };
      }
    } else if (sections.some((s) => s.type === SHT_DYNSYM)) {
      img.disagree('a SHT_DYNSYM section, but no dynamic symbol table in PT_DYNAMIC; the loader binds nothing');
    }
  } else {
    // An object file: its sections are all there is.
    const dynsymSec = sections.find((s) => s.type === SHT_DYNSYM);
    const linked = (s: Section, what: string): Section => {
      const t = sections[s.link];
      if (!t || s.link === 0) b.fail(`${what} links to missing section ${s.link}`);
      return t;
    };
    if (dynsymSec) {
      const strs = sectionStrTab(b, linked(dynsymSec, '.dynsym'), 'dynamic string table');
      dynsyms = readSymbols(b, dynsymSec.offset, dynsymSec.size, dynsymSec.entsize, strs, '.dynsym');
      const vs = sections.find((s) => s.type === SHT_GNU_VERSYM);
      if (vs) {
        b.check(vs.offset, vs.size, '.gnu.version');
        versym = { off: vs.offset, count: Math.floor(vs.size / 2) };
      }
      const vn = sections.find((s) => s.type === SHT_GNU_VERNEED);
      if (vn) {
        b.check(vn.offset, vn.size, '.gnu.version_r');
        verneed = { off: vn.offset, end: vn.offset + vn.size, count: vn.info, strs: sectionStrTab(b, linked(vn, '.gnu.version_r'), 'dynamic string table') };
      }
      const vd = sections.find((s) => s.type === SHT_GNU_VERDEF);
      if (vd) {
        b.check(vd.offset, vd.size, '.gnu.version_d');
        verdef = { off: vd.offset, end: vd.offset + vd.size, count: vd.info, strs: sectionStrTab(b, linked(vd, '.gnu.version_d'), 'dynamic string table') };
      }
    }
  }

  return { dynsyms, versym, verneed, verdef };
}

/**
 * Number of dynamic symbols, as ld.so bounds them: DT_HASH's nchain is exact; DT_GNU_HASH's
 * last chain ends at the last hashed symbol (unhashed ones, the imports, come before
 * symoffset). Only when neither exists is the table bounded by the next dynamic table after
 * it (normally .dynstr), as readelf does.
 */
function dynsymCount(img: Image, dyn: Map<number, number>, symAddr: number, entsize: number): number {
  const b = img.b;
  const hash = dyn.get(DT_HASH);
  if (hash !== undefined) {
    const { off, room } = img.vaddrRoom(hash, 'DT_HASH');
    if (room < 8) b.fail('truncated DT_HASH table');
    b.check(off, 8, 'DT_HASH');
    return b.u32(off + 4); // nchain == number of symbols
  }
  // DT_GNU_HASH covers only the symbols a lookup can find; the imports of an executable sit
  // below symoffset, possibly all of them. ld.so binds what the relocations name, by index:
  // so the table reaches at least the highest index a relocation uses.
  let lower = relocSymbolEnd(img, dyn);
  const gnu = dyn.get(DT_GNU_HASH);
  if (gnu !== undefined) lower = Math.max(lower, gnuHashCount(img, gnu));
  let next = Infinity;
  for (const tag of [DT_STRTAB, DT_VERSYM, DT_VERNEED, DT_VERDEF, DT_GNU_HASH, DT_REL, DT_RELA, DT_JMPREL]) {
    const a = dyn.get(tag);
    if (a !== undefined && a > symAddr && a < next) next = a;
  }
  // The next table after it bounds the symbol table (as readelf sizes it): the count when it
  // is consistent with what the loader needs.
  const upper = next === Infinity ? 0 : Math.floor((next - symAddr) / entsize);
  if (upper >= lower && upper > 0) return upper;
  if (gnu !== undefined || lower > 0) return lower;
  return b.fail('cannot size the dynamic symbol table (no DT_HASH or DT_GNU_HASH)');
}

function gnuHashCount(img: Image, gnu: number): number {
  const b = img.b;
  const { off, room } = img.vaddrRoom(gnu, 'DT_GNU_HASH');
  if (room < 16) b.fail('truncated DT_GNU_HASH table');
  b.check(off, 16, 'DT_GNU_HASH');
  const nbuckets = b.u32(off);
  const symoffset = b.u32(off + 4);
  const bloomSize = b.u32(off + 8);
  const bucketsOff = 16 + bloomSize * (b.is64 ? 8 : 4);
  const chainOff = bucketsOff + nbuckets * 4;
  if (chainOff > room) b.fail('truncated DT_GNU_HASH table');
  b.check(off + bucketsOff, nbuckets * 4, 'DT_GNU_HASH');
  let max = 0;
  for (let i = 0; i < nbuckets; i++) max = Math.max(max, b.u32(off + bucketsOff + i * 4));
  if (max === 0) return symoffset;
  if (max < symoffset) b.fail('DT_GNU_HASH bucket below symoffset');
  // Walk the last chain to its end marker (bit 0 set): forward only, bounded by the segment.
  const first = chainOff + (max - symoffset) * 4;
  for (let at = first; ; at += 4) {
    if (at + 4 > room) b.fail('DT_GNU_HASH chain runs past its segment');
    if ((at - first) % 65536 === 0) b.check(off + at, Math.min(65536, room - at), 'DT_GNU_HASH');
    if (b.u32(off + at) & 1) return max + (at - first) / 4 + 1;
  }
}
