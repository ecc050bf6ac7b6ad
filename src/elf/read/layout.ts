/**
 * The reader's first passes: the ELF header, the program headers, the section header table (with
 * .symtab), and the `Image` the later passes read through: virtual addresses mapped by PT_LOAD
 * the way the loader maps them, section names, and the warnings list.
 */
import { InputError } from '../../errors.ts';
import type { ElfBytes } from '../source.ts';
import { Bin, type RawSym, readSection, readSymbols, type Section, sectionStrTab, type Segment, type StrTab } from './bin.ts';

const PT_LOAD = 1;
const SHT_SYMTAB = 2;
const SHT_NOBITS = 8;
const SHN_XINDEX = 0xffff;

/** The ELF header's fields the reader uses. */
export interface Header {
  b: Bin;
  eType: number;
  machine: number;
  entry: number;
  phoff: number;
  shoff: number;
  flags: number;
  /** Offset of e_phentsize (the 16-bit fields after e_flags). */
  h: number;
  phentsize: number;
  phnum: number;
  shentsize: number;
  shStd: number;
  phStd: number;
  isRel: boolean;
}

/** Pass 1: identification and the ELF header; throws unless it is an ELF file we can read. */
export function readHeader(src: ElfBytes, file: string): Header {
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

  const eType = b.u16(16);
  const h = is64 ? 54 : 42;
  const hdr: Header = {
    b,
    eType,
    machine: b.u16(18),
    entry: b.word(24),
    phoff: is64 ? b.u64(32) : b.u32(28),
    shoff: is64 ? b.u64(40) : b.u32(32),
    flags: b.u32(is64 ? 48 : 36),
    h,
    phentsize: b.u16(h),
    phnum: b.u16(h + 2),
    shentsize: b.u16(h + 4),
    shStd: is64 ? 64 : 40,
    phStd: is64 ? 56 : 32,
    isRel: eType === 1,
  };
  // Extended numbering (phnum 0xffff) lives in section header 0; the kernel does not know it,
  // so only an object file (which the kernel never loads) may use it for phnum.
  if (hdr.phnum === 0xffff && hdr.isRel && hdr.shoff !== 0) {
    if (hdr.shentsize < hdr.shStd) b.fail(`bad e_shentsize ${hdr.shentsize}`);
    b.check(hdr.shoff, hdr.shStd, 'section header table');
    hdr.phnum = readSection(b, hdr.shoff, 0).info;
  }
  return hdr;
}

/** Pass 2: the program header table. */
export function readSegments(hdr: Header): Segment[] {
  const b: Bin = hdr.b;
  const { phnum, phoff, phentsize } = hdr;
  const segments: Segment[] = [];
  if (phnum > 0) {
    if (phentsize < hdr.phStd) b.fail(`bad e_phentsize ${phentsize}`);
    if (phoff + phnum * phentsize > b.len) b.fail('truncated program header table');
    b.check(phoff, phnum * phentsize, 'program header table');
    for (let i = 0; i < phnum; i++) {
      const o = phoff + i * phentsize;
      segments.push(
        b.is64
          ? { type: b.u32(o), flags: b.u32(o + 4), offset: b.u64(o + 8), vaddr: b.u64(o + 16), filesz: b.u64(o + 32), memsz: b.u64(o + 40) }
          : { type: b.u32(o), offset: b.u32(o + 4), vaddr: b.u32(o + 8), filesz: b.u32(o + 16), memsz: b.u32(o + 20), flags: b.u32(o + 24) },
      );
    }
  }
  return segments;
}

/** What the section header table holds, all or nothing. */
export interface SectionTable {
  sections: Section[];
  shstr: StrTab | undefined;
  symtabRaw: RawSym[] | undefined;
}

/**
 * Pass 3: the section header table and .symtab. Required for object files; for programs
 * (`program`) a broken table is ignored (the loader never reads it), with a warning.
 */
export function readSections(hdr: Header, program: boolean, warnings: string[]): SectionTable {
  if (!program) return readSectionsTable(hdr);
  try {
    return readSectionsTable(hdr);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    warnings.push(`section headers ignored (the loader never reads them): ${e.message.slice(hdr.b.file.length + 2)}`);
    return { sections: [], shstr: undefined, symtabRaw: undefined };
  }
}

function readSectionsTable(hdr: Header): SectionTable {
  const b: Bin = hdr.b;
  const { h, shoff, shentsize, shStd } = hdr;
  const none: SectionTable = { sections: [], shstr: undefined, symtabRaw: undefined };
  let shnum = b.u16(h + 6);
  let shstrndx = b.u16(h + 8);
  if (shoff === 0) return none;
  if (shnum === 0 || shstrndx === SHN_XINDEX) {
    if (shentsize < shStd) b.fail(`bad e_shentsize ${shentsize}`);
    b.check(shoff, shStd, 'section header table');
    const s0 = readSection(b, shoff, 0);
    if (shnum === 0) shnum = s0.size;
    if (shstrndx === SHN_XINDEX) shstrndx = s0.link;
  }
  if (shnum === 0) return none;
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
  return { sections: list, shstr: names, symtabRaw: syms };
}

/**
 * The file as the later passes see it: PT_LOAD segments map addresses to file offsets (as the
 * loader maps them); section names for messages; one list of warnings.
 */
export class Image {
  readonly loads: Segment[];

  constructor(
    readonly b: Bin,
    readonly segments: Segment[],
    /** A program (read as the loader does) rather than an object file (read through its sections). */
    readonly program: boolean,
    readonly sections: Section[],
    readonly shstr: StrTab | undefined,
    readonly warnings: string[],
  ) {
    this.loads = segments.filter((s) => s.type === PT_LOAD);
  }

  sectionName(s: Section): string {
    if (!this.shstr) return `#${s.index}`;
    try {
      return this.b.str(this.shstr, s.name);
    } catch (e) {
      if (!(e instanceof InputError) || !this.program) throw e;
      return `#${s.index}`;
    }
  }

  disagree(what: string): void {
    this.warnings.push(`section headers disagree with program headers: ${what}`);
  }

  /** File offset of a virtual address through PT_LOAD; `len` bytes must be in the segment's file image. */
  vaddrToOffset(addr: number, len: number, what: string): number {
    for (const s of this.loads) {
      if (addr >= s.vaddr && addr - s.vaddr < s.filesz) {
        const off = s.offset + (addr - s.vaddr);
        if (addr - s.vaddr + len > s.filesz) this.b.fail(`${what} extends past its segment`);
        this.b.check(off, len, what);
        return off;
      }
    }
    return this.b.fail(`${what} address 0x${addr.toString(16)} is not in any loaded segment`);
  }

  /** Bytes available from a vaddr to the end of its segment's file image (not read: callers check what they use). */
  vaddrRoom(addr: number, what: string): { off: number; room: number } {
    for (const s of this.loads) {
      if (addr >= s.vaddr && addr - s.vaddr < s.filesz) {
        const off = s.offset + (addr - s.vaddr);
        this.b.check(off, 0, what);
        return { off, room: Math.min(s.filesz - (addr - s.vaddr), this.b.len - off) };
      }
    }
    return this.b.fail(`${what} address 0x${addr.toString(16)} is not in any loaded segment`);
  }
}

const PT_INTERP = 3;

/** PT_INTERP: the interpreter's path, and the facts the kernel's refusal rules look at. */
export function readInterp(b: Bin, segments: Segment[]): { interp?: string; facts?: { filesz: number; last: number | undefined } } {
  const interpSeg = segments.find((s) => s.type === PT_INTERP);
  if (!interpSeg) return {};
  b.check(interpSeg.offset, interpSeg.filesz, 'PT_INTERP');
  let end = interpSeg.offset + interpSeg.filesz;
  const nul = b.bytes.indexOf(0, interpSeg.offset);
  if (nul >= 0 && nul < end) end = nul;
  return {
    interp: b.buf.toString('latin1', interpSeg.offset, end),
    facts: { filesz: interpSeg.filesz, last: interpSeg.filesz > 0 ? b.u8(interpSeg.offset + interpSeg.filesz - 1) : undefined },
  };
}
