/**
 * ELF reader: headers, dynamic section, dynamic symbols with versions, .symtab, executable regions.
 *
 * Every read is bounds-checked against the file; tables are validated as a whole (offset, entry
 * size, count) before their entries are read without further checks. Counts taken from headers
 * are only trusted once the bytes they describe are known to be inside the file, so no
 * allocation is ever sized by an untrusted field. Any inconsistency throws `InputError` with a
 * one-line `${file}: reason` message.
 */
import { Buffer } from 'node:buffer';
import { InputError } from '../errors.ts';
import { archByElfMachine } from '../syscalls/arches.ts';
import { whyCannotRun } from './loadable.ts';
import { EM_AARCH64, EM_ARM, EM_PPC64 } from './machines.ts';
import { type ElfBytes, inMemory } from './source.ts';
import type {
  ElfExecRegion, ElfImport, ElfInfo, ElfMappingSymbol, ElfSymbol, ElfSymbolType, ElfType, ElfVersionNeed,
} from './types.ts';

// Program header types and flags.
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const PF_X = 1;
// Section header types and flags.
const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const SHT_DYNAMIC = 6;
const SHT_NOBITS = 8;
const SHT_DYNSYM = 11;
const SHT_GNU_VERDEF = 0x6ffffffd;
const SHT_GNU_VERNEED = 0x6ffffffe;
const SHT_GNU_VERSYM = 0x6fffffff;
const SHF_EXECINSTR = 4;
const SHN_UNDEF = 0;
const SHN_XINDEX = 0xffff;
// Dynamic tags.
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_HASH = 4;
const DT_STRTAB = 5;
const DT_SYMTAB = 6;
const DT_STRSZ = 10;
const DT_SYMENT = 11;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_RUNPATH = 29;
const DT_GNU_HASH = 0x6ffffef5;
const DT_REL = 17;
const DT_RELSZ = 18;
const DT_PLTRELSZ = 2;
const DT_RELASZ = 8;
const DT_PLTREL = 20;
const DT_RELA = 7;
const DT_JMPREL = 23;
const DT_VERSYM = 0x6ffffff0;
const DT_FLAGS_1 = 0x6ffffffb;
const DT_VERDEF = 0x6ffffffc;
const DT_VERDEFNUM = 0x6ffffffd;
const DT_VERNEED = 0x6ffffffe;
const DT_VERNEEDNUM = 0x6fffffff;
const DF_1_PIE = 0x08000000;
// Symbols.
const STB_LOCAL = 0;
const STB_WEAK = 2;
const STT_NOTYPE = 0;
const STT_OBJECT = 1;
const STT_FUNC = 2;
const STT_SECTION = 3;
const STT_FILE = 4;
const STT_COMMON = 5;
const STT_TLS = 6;
const STT_GNU_IFUNC = 10;

const TYPES: Record<number, ElfType> = { 1: 'rel', 2: 'exec', 3: 'dyn', 4: 'core' };

interface Section {
  index: number;
  name: number;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  entsize: number;
}

interface Segment {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
}

/** A string table: a validated byte range of the file. */
interface StrTab {
  off: number;
  size: number;
  what: string;
}

/** One raw symbol table entry. */
interface RawSym {
  /** File offset of the Elf_Sym entry (where a report points for an import). */
  at: number;
  name: string;
  value: number;
  size: number;
  info: number;
  shndx: number;
}

/** Bounds-checked little/big-endian reads over the whole file. */
class Bin {
  readonly dv: DataView;
  readonly len: number;
  readonly buf: Buffer;

  constructor(readonly bytes: Uint8Array, readonly file: string, readonly le: boolean, readonly is64: boolean, readonly src: ElfBytes) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.len = bytes.byteLength;
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Set once the headers show the kernel would refuse the file: then that is the error. */
  cannot: string | undefined;

  fail(msg: string): never {
    if (this.cannot) throw new InputError(`${this.file}: cannot run: ${this.cannot}`);
    throw new InputError(`${this.file}: ${msg}`);
  }

  /** Throws unless [off, off+size) lies inside the file. */
  check(off: number, size: number, what: string): void {
    if (!(off >= 0 && size >= 0 && off + size <= this.len)) this.fail(`${what} extends past the end of the file`);
    // A lazily read file: every range is checked before it is read, so this is where it is loaded.
    this.src.ensure(off, size);
  }

  // Unchecked reads: callers validate the range first.
  u8(o: number): number {
    return this.bytes[o]!;
  }
  u16(o: number): number {
    return this.dv.getUint16(o, this.le);
  }
  u32(o: number): number {
    return this.dv.getUint32(o, this.le);
  }
  u64(o: number): number {
    const lo = this.dv.getUint32(this.le ? o : o + 4, this.le);
    const hi = this.dv.getUint32(this.le ? o + 4 : o, this.le);
    return hi * 0x100000000 + lo;
  }
  /** Signed 64-bit as a number (only used for d_tag, whose interesting values are small). */
  i64(o: number): number {
    const lo = this.dv.getUint32(this.le ? o : o + 4, this.le);
    const hi = this.dv.getInt32(this.le ? o + 4 : o, this.le);
    return hi * 0x100000000 + lo;
  }
  /** Address-sized word. */
  word(o: number): number {
    return this.is64 ? this.u64(o) : this.u32(o);
  }

  /** NUL-terminated string at `idx` in `tab`. */
  str(tab: StrTab, idx: number): string {
    if (idx >= tab.size) this.fail(`string offset ${idx} out of range in ${tab.what}`);
    const start = tab.off + idx;
    const end = this.bytes.indexOf(0, start);
    if (end < 0 || end >= tab.off + tab.size) this.fail(`unterminated string in ${tab.what}`);
    return start === end ? '' : this.buf.toString('latin1', start, end);
  }
}

/** Options of `readElf`. */
export interface ReadElfOptions {
  /**
   * Read the bytes of the executable regions (default true). False for callers that need only
   * the dynamic information (imports, versions, needed libraries): with a lazy `ElfFile` the
   * code is then never read from disk, so such an ElfInfo must not be given to a scanner.
   */
  code?: boolean;
}

/**
 * Reads an ELF file; throws `InputError` on anything malformed.
 *
 * A program (anything with program headers) is read the way the kernel and ld.so read it:
 * the dynamic section through PT_DYNAMIC's virtual address, every dynamic table (symbols,
 * strings, hash, versions) by the address its DT_* tag gives, and code = the PF_X PT_LOAD
 * segments. Section headers, which neither ever reads, only add .symtab (function names, ARM
 * mapping symbols); where they disagree with the segments, the segments win and
 * `warnings` says so. A relocatable object has no program headers: its sections are all there is.
 */
export function readElf(input: Uint8Array | ElfBytes, file: string, opts: ReadElfOptions = {}): ElfInfo {
  const src = input instanceof Uint8Array ? inMemory(input) : input;
  const bytes = src.bytes;
  src.ensure(0, Math.min(64, bytes.byteLength));
  if (bytes.byteLength < 16 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw new InputError(`${file}: not an ELF file`);
  }
  const cls = bytes[4];
  if (cls !== 1 && cls !== 2) throw new InputError(`${file}: unsupported ELF class ${cls}`);
  const data = bytes[5];
  if (data !== 1 && data !== 2) throw new InputError(`${file}: unsupported ELF data encoding ${data}`);
  const is64 = cls === 2;
  const b: Bin = new Bin(bytes, file, data === 1, is64, src);
  const ehsize = is64 ? 64 : 52;
  if (b.len < ehsize) b.fail('truncated ELF header');
  const warnings: string[] = [];

  const eType = b.u16(16);
  const machine = b.u16(18);
  const entry = b.word(24);
  const phoff = is64 ? b.u64(32) : b.u32(28);
  const shoff = is64 ? b.u64(40) : b.u32(32);
  const flags = b.u32(is64 ? 48 : 36);
  const h = is64 ? 54 : 42;
  const phentsize = b.u16(h);
  let phnum = b.u16(h + 2);
  const shentsize = b.u16(h + 4);
  const shStd = is64 ? 64 : 40;
  const phStd = is64 ? 56 : 32;
  const isRel = eType === 1;

  // Extended numbering (phnum 0xffff) lives in section header 0; the kernel does not know it,
  // so only an object file (which the kernel never loads) may use it for phnum.
  if (phnum === 0xffff && isRel && shoff !== 0) {
    if (shentsize < shStd) b.fail(`bad e_shentsize ${shentsize}`);
    b.check(shoff, shStd, 'section header table');
    phnum = readSection(b, shoff, 0).info;
  }

  // Program headers.
  const segments: Segment[] = [];
  if (phnum > 0) {
    if (phentsize < phStd) b.fail(`bad e_phentsize ${phentsize}`);
    if (phoff + phnum * phentsize > b.len) b.fail('truncated program header table');
    b.check(phoff, phnum * phentsize, 'program header table');
    for (let i = 0; i < phnum; i++) {
      const o = phoff + i * phentsize;
      segments.push(is64
        ? { type: b.u32(o), flags: b.u32(o + 4), offset: b.u64(o + 8), vaddr: b.u64(o + 16), filesz: b.u64(o + 32), memsz: b.u64(o + 40) }
        : { type: b.u32(o), offset: b.u32(o + 4), vaddr: b.u32(o + 8), filesz: b.u32(o + 16), memsz: b.u32(o + 20), flags: b.u32(o + 24) });
    }
  }
  const loads = segments.filter((s) => s.type === PT_LOAD);
  // A program is whatever the loader would map; an object file (or a program without program
  // headers, which cannot run anyway) is read through its sections.
  const program = !isRel && segments.length > 0;

  // Section headers: required for object files; for programs a broken table is ignored (the
  // loader never reads it), with a warning.
  let sections: Section[] = [];
  let shstr: StrTab | undefined;
  let symtabRaw: RawSym[] | undefined;
  const readSectionsTable = (): void => {
    let shnum = b.u16(h + 6);
    let shstrndx = b.u16(h + 8);
    if (shoff === 0) return;
    if (shnum === 0 || shstrndx === SHN_XINDEX) {
      if (shentsize < shStd) b.fail(`bad e_shentsize ${shentsize}`);
      b.check(shoff, shStd, 'section header table');
      const s0 = readSection(b, shoff, 0);
      if (shnum === 0) shnum = s0.size;
      if (shstrndx === SHN_XINDEX) shstrndx = s0.link;
    }
    if (shnum === 0) return;
    if (shentsize < shStd) b.fail(`bad e_shentsize ${shentsize}`);
    if (shoff + shnum * shentsize > b.len) b.fail('truncated section header table');
    b.check(shoff, shnum * shentsize, 'section header table');
    const list: Section[] = [];
    for (let i = 0; i < shnum; i++) list.push(readSection(b, shoff + i * shentsize, i));
    let names: StrTab | undefined;
    if (shstrndx !== 0) {
      const s = list[shstrndx];
      if (!s) b.fail(`section name table index ${shstrndx} out of range`);
      if (s.type !== SHT_NOBITS) names = sectionStrTab(b, s, 'section name table');
    }
    let syms: RawSym[] | undefined;
    const symtabSec = list.find((s) => s.type === SHT_SYMTAB);
    if (symtabSec) {
      const t = list[symtabSec.link];
      if (!t || symtabSec.link === 0) b.fail(`.symtab links to missing section ${symtabSec.link}`);
      const strs = sectionStrTab(b, t, 'symbol string table');
      syms = readSymbols(b, symtabSec.offset, symtabSec.size, symtabSec.entsize, strs, '.symtab');
    }
    // Only now, with everything read, do the sections count (all or nothing).
    sections = list;
    shstr = names;
    symtabRaw = syms;
  };
  if (program) {
    try {
      readSectionsTable();
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      warnings.push(`section headers ignored (the loader never reads them): ${e.message.slice(file.length + 2)}`);
    }
  } else {
    readSectionsTable();
  }
  const sectionName = (s: Section): string => {
    if (!shstr) return `#${s.index}`;
    try {
      return b.str(shstr, s.name);
    } catch (e) {
      if (!(e instanceof InputError) || !program) throw e;
      return `#${s.index}`;
    }
  };
  const disagree = (what: string): void => {
    warnings.push(`section headers disagree with program headers: ${what}`);
  };

  /** File offset of a virtual address through PT_LOAD; `len` bytes must be in the segment's file image. */
  const vaddrToOffset = (addr: number, len: number, what: string): number => {
    for (const s of loads) {
      if (addr >= s.vaddr && addr - s.vaddr < s.filesz) {
        const off = s.offset + (addr - s.vaddr);
        if (addr - s.vaddr + len > s.filesz) b.fail(`${what} extends past its segment`);
        b.check(off, len, what);
        return off;
      }
    }
    return b.fail(`${what} address 0x${addr.toString(16)} is not in any loaded segment`);
  };
  /** Bytes available from a vaddr to the end of its segment's file image (not read: callers check what they use). */
  const vaddrRoom = (addr: number, what: string): { off: number; room: number } => {
    for (const s of loads) {
      if (addr >= s.vaddr && addr - s.vaddr < s.filesz) {
        const off = s.offset + (addr - s.vaddr);
        b.check(off, 0, what);
        return { off, room: Math.min(s.filesz - (addr - s.vaddr), b.len - off) };
      }
    }
    return b.fail(`${what} address 0x${addr.toString(16)} is not in any loaded segment`);
  };

  // PT_INTERP.
  let interp: string | undefined;
  let interpFacts: { filesz: number; last: number | undefined } | undefined;
  const interpSeg = segments.find((s) => s.type === PT_INTERP);
  if (interpSeg) {
    b.check(interpSeg.offset, interpSeg.filesz, 'PT_INTERP');
    let end = interpSeg.offset + interpSeg.filesz;
    const nul = b.bytes.indexOf(0, interpSeg.offset);
    if (nul >= 0 && nul < end) end = nul;
    interp = b.buf.toString('latin1', interpSeg.offset, end);
    interpFacts = { filesz: interpSeg.filesz, last: interpSeg.filesz > 0 ? b.u8(interpSeg.offset + interpSeg.filesz - 1) : undefined };
  }

  // What the kernel refuses is decided by the headers alone; once it is known, any later
  // problem is reported as that (a file that cannot run has nothing else worth saying).
  const cannot = whyCannotRun({
    eType, machine, class: is64 ? 64 : 32, phentsize, phnum, loads: loads.length,
    ...(interpFacts ? { interp: interpFacts } : {}),
  });
  if (cannot && !isRel) b.cannot = cannot;

  // Dynamic section: PT_DYNAMIC by its address, as ld.so finds it (l_ld = p_vaddr + load bias).
  const dyn = new Map<number, number>();
  const needOffs: number[] = [];
  let dynStr: StrTab | undefined;
  const dynSeg = program ? segments.find((s) => s.type === PT_DYNAMIC) : undefined;
  const dynSec = program ? undefined : sections.find((s) => s.type === SHT_DYNAMIC);
  let dynRange: { off: number; size: number } | undefined;
  if (dynSeg) {
    const { off, room } = vaddrRoom(dynSeg.vaddr, 'PT_DYNAMIC');
    // ld.so reads to DT_NULL; p_filesz only bounds us (never past the segment's file image).
    dynRange = { off, size: Math.min(room, Math.max(dynSeg.filesz, 0)) };
    if (dynSeg.offset !== off) warnings.push(`PT_DYNAMIC's p_offset 0x${dynSeg.offset.toString(16)} is not where its address 0x${dynSeg.vaddr.toString(16)} is loaded from (0x${off.toString(16)}); using the address, as ld.so does`);
    const ds = sections.find((s) => s.type === SHT_DYNAMIC);
    if (sections.length > 0 && (!ds || ds.addr !== dynSeg.vaddr)) disagree('no SHT_DYNAMIC section at PT_DYNAMIC\'s address; using the dynamic segment');
  } else if (dynSec) {
    dynRange = { off: dynSec.offset, size: dynSec.size };
  }
  const hasDynamic = dynRange !== undefined;
  if (dynRange) {
    const ent = is64 ? 16 : 8;
    const n = Math.floor(dynRange.size / ent);
    b.check(dynRange.off, n * ent, 'dynamic section');
    for (let i = 0; i < n; i++) {
      const o = dynRange.off + i * ent;
      const tag = is64 ? b.i64(o) : b.dv.getInt32(o, b.le);
      if (tag === DT_NULL) break;
      const val = b.word(o + (is64 ? 8 : 4));
      if (tag === DT_NEEDED) needOffs.push(val);
      else if (!dyn.has(tag)) dyn.set(tag, val);
    }
    if (dynSec) {
      const t = sections[dynSec.link];
      if (!t || dynSec.link === 0) b.fail(`dynamic section links to missing section ${dynSec.link}`);
      dynStr = sectionStrTab(b, t, 'dynamic string table');
    } else if (dyn.has(DT_STRTAB)) {
      const addr = dyn.get(DT_STRTAB)!;
      const { off: soff, room } = vaddrRoom(addr, 'DT_STRTAB');
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

  // Dynamic symbols.
  let dynsyms: RawSym[] = [];
  let versym: { off: number; count: number } | undefined;
  let verneed: { off: number; end: number; count: number; strs: StrTab } | undefined;
  let verdef: { off: number; end: number; count: number; strs: StrTab } | undefined;
  if (program) {
    if (dynSeg && dyn.has(DT_SYMTAB)) {
      if (!dynStr) b.fail('DT_SYMTAB without DT_STRTAB');
      const std = is64 ? 24 : 16;
      const entsize = dyn.get(DT_SYMENT) ?? std;
      if (entsize === 0) b.fail('DT_SYMENT is 0');
      const symAddr = dyn.get(DT_SYMTAB)!;
      const { off: symOff, room } = vaddrRoom(symAddr, 'DT_SYMTAB');
      const count = dynsymCount(b, dyn, vaddrRoom, symAddr, entsize);
      if (count * entsize > room) b.fail('dynamic symbol table extends past its segment');
      dynsyms = readSymbols(b, symOff, count * entsize, entsize, dynStr, 'dynamic symbol table');
      if (sections.length > 0) {
        const sec = sections.find((s) => s.addr === symAddr && s.type !== SHT_NOBITS && s.size > 0);
        if (!sec) disagree('no section at DT_SYMTAB\'s address; using the dynamic segment');
        else if (sec.type !== SHT_DYNSYM) disagree(`${sectionName(sec)} is not SHT_DYNSYM; using the dynamic segment`);
        else if (sec.size !== count * entsize) disagree(`${sectionName(sec)} has ${Math.floor(sec.size / entsize)} symbols, the hash table ${count}; using the hash table`);
      }
      const vsAddr = dyn.get(DT_VERSYM);
      if (vsAddr !== undefined) versym = { off: vaddrToOffset(vsAddr, count * 2, 'DT_VERSYM'), count };
      const vnAddr = dyn.get(DT_VERNEED);
      if (vnAddr !== undefined) {
        const r = vaddrRoom(vnAddr, 'DT_VERNEED');
        verneed = { off: r.off, end: r.off + r.room, count: dyn.get(DT_VERNEEDNUM) ?? 0, strs: dynStr };
      }
      const vdAddr = dyn.get(DT_VERDEF);
      if (vdAddr !== undefined) {
        const r = vaddrRoom(vdAddr, 'DT_VERDEF');
        verdef = { off: r.off, end: r.off + r.room, count: dyn.get(DT_VERDEFNUM) ?? 0, strs: dynStr };
      }
    } else if (sections.some((s) => s.type === SHT_DYNSYM)) {
      disagree('a SHT_DYNSYM section, but no dynamic symbol table in PT_DYNAMIC; the loader binds nothing');
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

  // Versions: index -> name (+ library for needs).
  const versionNames = new Map<number, { name: string; file?: string }>();
  const versionNeeds: ElfVersionNeed[] = [];
  const versionDefs: string[] = [];
  if (verneed) {
    let budget = Math.floor((verneed.end - verneed.off) / 16) + 1;
    let p = verneed.off;
    for (let i = 0; i < verneed.count; i++) {
      if (p + 16 > verneed.end) b.fail('truncated version needs (.gnu.version_r)');
      b.check(p, 16, 'version needs');
      const cnt = b.u16(p + 2);
      const fileName = b.str(verneed.strs, b.u32(p + 4));
      const need: ElfVersionNeed = { file: fileName, versions: [] };
      versionNeeds.push(need);
      let a = p + b.u32(p + 8);
      for (let j = 0; j < cnt; j++) {
        if (--budget < 0) b.fail('version needs chain loops or overlaps (.gnu.version_r)');
        if (a + 16 > verneed.end) b.fail('truncated version needs (.gnu.version_r)');
        b.check(a, 16, 'version needs');
        const other = b.u16(a + 6);
        const name = b.str(verneed.strs, b.u32(a + 8));
        need.versions.push(name);
        versionNames.set(other & 0x7fff, { name, file: fileName });
        const next = b.u32(a + 12);
        if (next === 0) break;
        a += next;
      }
      if (--budget < 0) b.fail('version needs chain loops or overlaps (.gnu.version_r)');
      const next = b.u32(p + 12);
      if (next === 0) break;
      p += next;
    }
  }
  if (verdef) {
    let budget = Math.floor((verdef.end - verdef.off) / 8) + 1;
    let p = verdef.off;
    for (let i = 0; i < verdef.count; i++) {
      if (p + 20 > verdef.end) b.fail('truncated version definitions (.gnu.version_d)');
      b.check(p, 20, 'version definitions');
      const vflags = b.u16(p + 2);
      const ndx = b.u16(p + 4);
      const cnt = b.u16(p + 6);
      const aux = p + b.u32(p + 12);
      if (cnt > 0) {
        if (aux + 8 > verdef.end) b.fail('truncated version definitions (.gnu.version_d)');
        b.check(aux, 8, 'version definitions');
        const name = b.str(verdef.strs, b.u32(aux));
        if (!versionNames.has(ndx & 0x7fff)) versionNames.set(ndx & 0x7fff, { name });
        if ((vflags & 1) === 0) versionDefs.push(name); // VER_FLG_BASE names the file itself
      }
      if (--budget < 0) b.fail('version definitions chain loops or overlaps (.gnu.version_d)');
      const next = b.u32(p + 16);
      if (next === 0) break;
      p += next;
    }
  }

  const imports: ElfImport[] = [];
  const exports: string[] = [];
  for (let i = 1; i < dynsyms.length; i++) {
    const s = dynsyms[i]!;
    const bind = s.info >> 4;
    if (bind === STB_LOCAL || s.name === '') continue;
    if (s.shndx === SHN_UNDEF) {
      const imp: ElfImport = { name: s.name, weak: bind === STB_WEAK, type: symType(s.info & 0xf), symbolOffset: s.at };
      if (versym && i < versym.count) {
        const v = versionNames.get(b.u16(versym.off + 2 * i) & 0x7fff);
        if (v && v.file !== undefined) {
          imp.version = v.name;
          imp.library = v.file;
        }
      }
      imports.push(imp);
    } else {
      exports.push(s.name);
    }
  }

  // .symtab, mapping symbols, and the symbol list used for naming.
  // ELFv1 (e_flags 1, or 0: unspecified, the old ABI) has function descriptors; ELFv2 (2) does not.
  const opdDescriptors = machine === EM_PPC64 && is64 && (flags & 3) !== 2 && eType !== 1 /* ET_REL: values are section-relative */;
  const descriptorEntry = (addr: number): number | undefined => {
    for (const s of loads) {
      if (addr >= s.vaddr && addr - s.vaddr + 8 <= s.filesz) {
        const off = s.offset + (addr - s.vaddr);
        return off + 8 <= b.len ? b.u64(off) : undefined;
      }
    }
    return undefined;
  };
  // ELFv1's e_entry is a descriptor too: the kernel starts at the address it holds.
  const codeEntry = opdDescriptors ? descriptorEntry(entry) ?? entry : entry;
  const symbols: ElfSymbol[] = [];
  const mappingSymbols: ElfMappingSymbol[] = [];
  const isArm = machine === EM_ARM;
  /** (name, value) pairs seen: the first value per name, and any further pairs as `name\0value`. */
  const seen = new Map<string, number>();
  const seenMore = new Set<string>();
  const addSym = (s: RawSym, dynamic: boolean): void => {
    if (s.shndx === SHN_UNDEF || s.name === '') return;
    const t = s.info & 0xf;
    if (t === STT_SECTION || t === STT_FILE) return;
    if ((isArm || machine === EM_AARCH64) && s.name.charCodeAt(0) === 36 /* $ */ && t === STT_NOTYPE) {
      const k = s.name.charAt(1);
      if ((k === 'a' || k === 't' || k === 'd' || k === 'x') && (s.name.length === 2 || s.name.charAt(2) === '.')) {
        if (!dynamic) mappingSymbols.push({ addr: s.value, kind: k, shndx: s.shndx });
        return;
      }
    }
    const type = symType(t);
    let value = s.value;
    let thumb: boolean | undefined;
    if (isArm && type === 'func' && value % 2 === 1) {
      value -= 1;
      thumb = true;
    }
    if (opdDescriptors && type === 'func') {
      // 64-bit PowerPC ELFv1: a function symbol's value is the address of its descriptor in .opd
      // (entry point, TOC, environment); the code starts at the descriptor's first doubleword.
      const entry = descriptorEntry(value);
      if (entry === undefined) return;
      value = entry;
    }
    const first = seen.get(s.name);
    if (first === undefined) seen.set(s.name, value);
    else if (first === value) return;
    else {
      const key = `${s.name}\0${value}`;
      if (seenMore.has(key)) return;
      seenMore.add(key);
    }
    const bind = s.info >> 4;
    const sym: ElfSymbol = {
      name: s.name, value, size: s.size, type,
      bind: bind === STB_LOCAL ? 'local' : bind === STB_WEAK ? 'weak' : 'global',
      shndx: s.shndx, dynamic,
    };
    if (thumb) sym.thumb = true;
    symbols.push(sym);
  };
  for (let i = 1; i < dynsyms.length; i++) addSym(dynsyms[i]!, true);
  if (symtabRaw) for (let i = 1; i < symtabRaw.length; i++) addSym(symtabRaw[i]!, false);
  symbols.sort((x, y) => x.value - y.value);
  mappingSymbols.sort((x, y) => x.addr - y.addr);

  // The relocation tables, which check reads (src/check/dynamic.ts) to find PLT slots, come in
  // with the code: within their segments, and tolerated when malformed as ld.so's would not be
  // (nothing reported depends on them alone).
  if (program && opts.code !== false) {
    for (const [at, sz] of [[DT_RELA, DT_RELASZ], [DT_REL, DT_RELSZ], [DT_JMPREL, DT_PLTRELSZ]] as const) {
      const addr = dyn.get(at);
      const size = dyn.get(sz);
      if (addr === undefined || !size) continue;
      const s = loads.find((l) => addr >= l.vaddr && addr - l.vaddr < l.filesz);
      if (!s) continue;
      const off = s.offset + (addr - s.vaddr);
      const len = Math.min(size, s.filesz - (addr - s.vaddr), b.len - off);
      if (off >= 0 && len > 0) src.ensure(off, len);
    }
  }

  // Executable regions: for a program, the PF_X PT_LOAD segments, each byte once.
  const exec: ElfExecRegion[] = program ? execSegments(b, loads, opts.code !== false) : [];
  if (!program) {
    // Each byte of the file once: a code section whose bytes an earlier one (by offset)
    // already covers, duplicates and overlaps (65,535 of them in a hostile file), is skipped.
    const code = sections.filter((s) => (s.flags & SHF_EXECINSTR) !== 0 && s.type !== SHT_NOBITS && s.size > 0);
    const keep = new Map<Section, number>(); // section -> bytes at its start already covered
    let end = -1;
    for (const s of [...code].sort((x, y) => x.offset - y.offset || x.index - y.index)) {
      if (s.offset + s.size <= end) continue;
      keep.set(s, Math.max(0, end - s.offset));
      end = s.offset + s.size;
    }
    for (const s of code) {
      const skip = keep.get(s);
      if (skip === undefined) continue;
      const name = sectionName(s);
      if (!(s.offset >= 0 && s.offset + s.size <= b.len)) b.fail(`section ${name} extends past the end of the file`);
      const r = { name, addr: s.addr + skip, offset: s.offset + skip, size: s.size - skip, shndx: s.index };
      if (opts.code !== false) b.check(r.offset, r.size, `section ${name}`);
      exec.push(r);
    }
  } else if (sections.length > 0) {
    // Code the section headers hide, or claim, is a disagreement worth a line.
    const inExec = (a: number): boolean => exec.some((r) => a >= r.addr && a < r.addr + r.size);
    const atEntry = sections.find((s) => s.type !== SHT_NOBITS && s.addr !== 0 && entry >= s.addr && entry < s.addr + s.size);
    if (atEntry && (atEntry.flags & SHF_EXECINSTR) === 0 && inExec(entry)) {
      disagree(`${sectionName(atEntry)}, which holds the entry point, is not SHF_EXECINSTR; scanning the executable segments`);
    }
    const outside = sections.filter((s) => (s.flags & SHF_EXECINSTR) !== 0 && s.type !== SHT_NOBITS && s.size > 0 && !inExec(s.addr));
    if (outside.length > 0) disagree(`${outside.slice(0, 3).map(sectionName).join(', ')}${outside.length > 3 ? ', ...' : ''} SHF_EXECINSTR outside every executable segment; not code at run time`);
  }

  const type: ElfType = TYPES[eType] ?? 'other';
  const isStaticPie = hasDynamic && (flags1 & DF_1_PIE) !== 0 && needed.length === 0;
  const arch = archByElfMachine(machine, is64 ? 64 : 32)?.name;
  const info: ElfInfo = {
    file, class: is64 ? 64 : 32, endian: b.le ? 'little' : 'big', machine, type, entry: codeEntry, flags,
    needed,
    static: interp === undefined && (type === 'exec' || type === 'dyn') && (!hasDynamic || isStaticPie),
    pie: type === 'dyn' && ((flags1 & DF_1_PIE) !== 0 || (interp !== undefined && soname === undefined)),
    hasSections: sections.length > 0,
    imports, exports, versionDefs, versionNeeds, symbols, mappingSymbols, exec,
    loads: loads.map((s) => ({ vaddr: s.vaddr, offset: s.offset, filesz: s.filesz })),
    warnings,
  };
  if (cannot) info.cannotRun = cannot;
  if (arch) info.arch = arch;
  if (interp !== undefined) info.interp = interp;
  if (soname !== undefined) info.soname = soname;
  if (rpath !== undefined) info.rpath = rpath;
  if (runpath !== undefined) info.runpath = runpath;
  return info;
}

/**
 * The PF_X PT_LOAD segments as regions of file bytes, sorted by address, with overlaps cut so
 * that each virtual address (and so each byte of code) is scanned once, however many segments
 * claim it: an input with 65,535 overlapping segments costs one pass over its code.
 */
function execSegments(b: Bin, loads: Segment[], read: boolean): ElfExecRegion[] {
  const xs = loads
    .map((s, i) => ({ s, i }))
    .filter(({ s }) => (s.flags & PF_X) !== 0 && s.filesz > 0)
    .sort((x, y) => x.s.vaddr - y.s.vaddr || x.i - y.i);
  const out: ElfExecRegion[] = [];
  let covered = -Infinity; // end of the address range already taken
  for (const { s, i } of xs) {
    if (!(s.offset >= 0 && s.offset + s.filesz <= b.len)) b.fail(`PT_LOAD segment ${i} extends past the end of the file`);
    const end = s.vaddr + s.filesz;
    if (end <= covered) continue;
    const skip = covered > s.vaddr ? covered - s.vaddr : 0;
    const region = { name: `LOAD#${i}`, addr: s.vaddr + skip, offset: s.offset + skip, size: s.filesz - skip, shndx: -1 };
    if (read) b.check(region.offset, region.size, `PT_LOAD segment ${i}`);
    out.push(region);
    covered = end;
  }
  return out;
}

function symType(t: number): ElfSymbolType {
  if (t === STT_FUNC || t === STT_GNU_IFUNC) return 'func';
  if (t === STT_OBJECT || t === STT_COMMON) return 'object';
  if (t === STT_TLS) return 'tls';
  return 'other';
}

function readSection(b: Bin, o: number, index: number): Section {
  return b.is64
    ? {
      index, name: b.u32(o), type: b.u32(o + 4), flags: b.u64(o + 8), addr: b.u64(o + 16), offset: b.u64(o + 24),
      size: b.u64(o + 32), link: b.u32(o + 40), info: b.u32(o + 44), entsize: b.u64(o + 56),
    }
    : {
      index, name: b.u32(o), type: b.u32(o + 4), flags: b.u32(o + 8), addr: b.u32(o + 12), offset: b.u32(o + 16),
      size: b.u32(o + 20), link: b.u32(o + 24), info: b.u32(o + 28), entsize: b.u32(o + 36),
    };
}

function sectionStrTab(b: Bin, s: Section, what: string): StrTab {
  if (s.type !== SHT_STRTAB) b.fail(`${what} (section ${s.index}) is not a string table`);
  b.check(s.offset, s.size, what);
  return { off: s.offset, size: s.size, what };
}

function readSymbols(b: Bin, off: number, size: number, entsize: number, strs: StrTab, what: string): RawSym[] {
  const std = b.is64 ? 24 : 16;
  if (entsize === 0) b.fail(`${what} has entry size 0`);
  if (entsize < std) b.fail(`${what} has bad entry size ${entsize}`);
  b.check(off, size, what);
  const n = Math.floor(size / entsize);
  const out: RawSym[] = new Array<RawSym>(n);
  for (let i = 0; i < n; i++) {
    const o = off + i * entsize;
    if (b.is64) {
      out[i] = { at: o, name: b.str(strs, b.u32(o)), info: b.u8(o + 4), shndx: b.u16(o + 6), value: b.u64(o + 8), size: b.u64(o + 16) };
    } else {
      out[i] = { at: o, name: b.str(strs, b.u32(o)), value: b.u32(o + 4), size: b.u32(o + 8), info: b.u8(o + 12), shndx: b.u16(o + 14) };
    }
  }
  return out;
}

/**
 * Number of dynamic symbols, as ld.so bounds them: DT_HASH's nchain is exact; DT_GNU_HASH's
 * last chain ends at the last hashed symbol (unhashed ones, the imports, come before
 * symoffset). Only when neither exists is the table bounded by the next dynamic table after
 * it (normally .dynstr), as readelf does.
 */
function dynsymCount(
  b: Bin, dyn: Map<number, number>,
  vaddrRoom: (addr: number, what: string) => { off: number; room: number },
  symAddr: number, entsize: number,
): number {
  const hash = dyn.get(DT_HASH);
  if (hash !== undefined) {
    const { off, room } = vaddrRoom(hash, 'DT_HASH');
    if (room < 8) b.fail('truncated DT_HASH table');
    b.check(off, 8, 'DT_HASH');
    return b.u32(off + 4); // nchain == number of symbols
  }
  // DT_GNU_HASH covers only the symbols a lookup can find; the imports of an executable sit
  // below symoffset, possibly all of them. ld.so binds what the relocations name, by index:
  // so the table reaches at least the highest index a relocation uses.
  let lower = relocSymbolEnd(b, dyn, vaddrRoom);
  const gnu = dyn.get(DT_GNU_HASH);
  if (gnu !== undefined) lower = Math.max(lower, gnuHashCount(b, vaddrRoom, gnu));
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

/** One past the highest symbol index any dynamic relocation names (0 without relocations). */
function relocSymbolEnd(
  b: Bin, dyn: Map<number, number>, vaddrRoom: (addr: number, what: string) => { off: number; room: number },
): number {
  let end = 0;
  const table = (addr: number | undefined, size: number | undefined, rela: boolean, what: string): void => {
    if (addr === undefined || !size) return;
    const { off, room } = vaddrRoom(addr, what);
    const step = b.is64 ? (rela ? 24 : 16) : rela ? 12 : 8;
    const n = Math.floor(Math.min(size, room) / step);
    b.check(off, n * step, what);
    const infoAt = b.is64 ? 8 : 4;
    for (let i = 0, o = off + infoAt; i < n; i++, o += step) {
      // r_info: symbol index in the high 32 bits (64-bit) or above the low byte (32-bit).
      const sym = b.is64 ? b.dv.getUint32(b.le ? o + 4 : o, b.le) : b.u32(o) >>> 8;
      if (sym >= end) end = sym + 1;
    }
  };
  table(dyn.get(DT_RELA), dyn.get(DT_RELASZ), true, 'DT_RELA');
  table(dyn.get(DT_REL), dyn.get(DT_RELSZ), false, 'DT_REL');
  table(dyn.get(DT_JMPREL), dyn.get(DT_PLTRELSZ), dyn.get(DT_PLTREL) === DT_RELA, 'DT_JMPREL');
  return end;
}

function gnuHashCount(
  b: Bin, vaddrRoom: (addr: number, what: string) => { off: number; room: number }, gnu: number,
): number {
  const { off, room } = vaddrRoom(gnu, 'DT_GNU_HASH');
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
