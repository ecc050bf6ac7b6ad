/**
 * The dynamic section pass: PT_DYNAMIC by its address, as ld.so finds it (l_ld = p_vaddr + load
 * bias), or an object file's SHT_DYNAMIC section; its tags, string table and the strings named
 * by DT_NEEDED, DT_SONAME, DT_RPATH and DT_RUNPATH.
 */
import { type Bin, sectionStrTab, type Segment, type StrTab } from './bin.ts';
import type { Image } from './layout.ts';

const PT_DYNAMIC = 2;
const SHT_DYNAMIC = 6;
export const DT_NULL = 0;
export const DT_NEEDED = 1;
export const DT_PLTRELSZ = 2;
export const DT_HASH = 4;
export const DT_STRTAB = 5;
export const DT_SYMTAB = 6;
export const DT_RELA = 7;
export const DT_RELASZ = 8;
export const DT_RELAENT = 9;
export const DT_STRSZ = 10;
export const DT_SYMENT = 11;
export const DT_INIT = 12;
export const DT_FINI = 13;
export const DT_SONAME = 14;
export const DT_RPATH = 15;
export const DT_REL = 17;
export const DT_RELSZ = 18;
export const DT_RELENT = 19;
export const DT_PLTREL = 20;
export const DT_JMPREL = 23;
export const DT_RUNPATH = 29;
export const DT_GNU_HASH = 0x6ffffef5;
export const DT_VERSYM = 0x6ffffff0;
export const DT_FLAGS_1 = 0x6ffffffb;
export const DT_VERDEF = 0x6ffffffc;
export const DT_VERDEFNUM = 0x6ffffffd;
export const DT_VERNEED = 0x6ffffffe;
export const DT_VERNEEDNUM = 0x6fffffff;

export interface Dynamic {
  /** The first value of each tag but DT_NEEDED (as ld.so keeps it). */
  dyn: Map<number, number>;
  /** Whether the file has a dynamic section at all. */
  hasDynamic: boolean;
  /** PT_DYNAMIC (programs only). */
  dynSeg: Segment | undefined;
  dynStr: StrTab | undefined;
  needed: string[];
  soname: string | undefined;
  rpath: string | undefined;
  runpath: string | undefined;
  flags1: number;
}

export function readDynamic(img: Image): Dynamic {
  const b: Bin = img.b;
  const { sections, program } = img;
  const dyn = new Map<number, number>();
  const needOffs: number[] = [];
  let dynStr: StrTab | undefined;
  const dynSeg = program ? img.segments.find((s) => s.type === PT_DYNAMIC) : undefined;
  const dynSec = program ? undefined : sections.find((s) => s.type === SHT_DYNAMIC);
  let dynRange: { off: number; size: number } | undefined;
  if (dynSeg) {
    const { off, room } = img.vaddrRoom(dynSeg.vaddr, 'PT_DYNAMIC');
    // ld.so reads to DT_NULL; p_filesz only bounds us (never past the segment's file image).
    dynRange = { off, size: Math.min(room, Math.max(dynSeg.filesz, 0)) };
    if (dynSeg.offset !== off)
      img.warnings.push(
        `PT_DYNAMIC's p_offset 0x${dynSeg.offset.toString(16)} is not where its address 0x${dynSeg.vaddr.toString(16)} is loaded from (0x${off.toString(16)}); using the address, as ld.so does`,
      );
    const ds = sections.find((s) => s.type === SHT_DYNAMIC);
    if (sections.length > 0 && (!ds || ds.addr !== dynSeg.vaddr)) img.disagree("no SHT_DYNAMIC section at PT_DYNAMIC's address; using the dynamic segment");
  } else if (dynSec) {
    dynRange = { off: dynSec.offset, size: dynSec.size };
  }
  const hasDynamic = dynRange !== undefined;
  if (dynRange) {
    const ent = b.is64 ? 16 : 8;
    const n = Math.floor(dynRange.size / ent);
    b.check(dynRange.off, n * ent, 'dynamic section');
    for (let i = 0; i < n; i++) {
      const o = dynRange.off + i * ent;
      const tag = b.is64 ? b.i64(o) : b.dv.getInt32(o, b.le);
      if (tag === DT_NULL) break;
      const val = b.word(o + (b.is64 ? 8 : 4));
      if (tag === DT_NEEDED) needOffs.push(val);
      else if (!dyn.has(tag)) dyn.set(tag, val);
    }
    if (dynSec) {
      const t = sections[dynSec.link];
      if (!t || dynSec.link === 0) b.fail(`dynamic section links to missing section ${dynSec.link}`);
      dynStr = sectionStrTab(b, t, 'dynamic string table');
    } else if (dyn.has(DT_STRTAB)) {
      const addr = dyn.get(DT_STRTAB)!;
      const { off: soff, room } = img.vaddrRoom(addr, 'DT_STRTAB');
      const strsz = dyn.get(DT_STRSZ);
      const size2 = strsz === undefined ? room : strsz;
      if (size2 > room) b.fail('DT_STRSZ extends past its segment');
      b.check(soff, size2, 'dynamic string table');
      dynStr = { off: soff, size: size2, what: 'dynamic string table' };
    }
  }
  const dynString = (tag: number): string | undefined => {
    const v = dyn.get(tag);
    if (v === undefined) return undefined;
    if (!dynStr) return b.fail('dynamic section has no string table');
    return b.str(dynStr, v);
  };
  const needed = needOffs.map((v) => (dynStr ? b.str(dynStr, v) : b.fail('dynamic section has no string table')));
  const soname = dynString(DT_SONAME);
  const rpath = dynString(DT_RPATH);
  const runpath = dynString(DT_RUNPATH);
  const flags1 = dyn.get(DT_FLAGS_1) ?? 0;
  return { dyn, hasDynamic, dynSeg, dynStr, needed, soname, rpath, runpath, flags1 };
}
