/**
 * The reader's byte layer: bounds-checked reads over the file, and the raw records (section and
 * program headers, string tables, symbol entries) every pass of the reader shares.
 */
import { Buffer } from 'node:buffer';
import { InputError } from '../../errors.ts';
import type { ElfSymbolType } from '../types.ts';
import type { ElfBytes } from '../source.ts';

const SHT_STRTAB = 3;
const STT_OBJECT = 1;
const STT_FUNC = 2;
const STT_COMMON = 5;
const STT_TLS = 6;
const STT_GNU_IFUNC = 10;

export interface Section {
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

export interface Segment {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
}

/** A string table: a validated byte range of the file. */
export interface StrTab {
  off: number;
  size: number;
  what: string;
}

/** One raw symbol table entry. */
export interface RawSym {
  /** File offset of the Elf_Sym entry (where a report points for an import). */
  at: number;
  name: string;
  value: number;
  size: number;
  info: number;
  shndx: number;
}

/** Bounds-checked little/big-endian reads over the whole file. */
export class Bin {
  readonly dv: DataView;
  readonly len: number;
  readonly buf: Buffer;

  constructor(
    readonly bytes: Uint8Array,
    readonly file: string,
    readonly le: boolean,
    readonly is64: boolean,
    readonly src: ElfBytes,
  ) {
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

export function symType(t: number): ElfSymbolType {
  if (t === STT_FUNC || t === STT_GNU_IFUNC) return 'func';
  if (t === STT_OBJECT || t === STT_COMMON) return 'object';
  if (t === STT_TLS) return 'tls';
  return 'other';
}

export function readSection(b: Bin, o: number, index: number): Section {
  return b.is64
    ? {
        index,
        name: b.u32(o),
        type: b.u32(o + 4),
        flags: b.u64(o + 8),
        addr: b.u64(o + 16),
        offset: b.u64(o + 24),
        size: b.u64(o + 32),
        link: b.u32(o + 40),
        info: b.u32(o + 44),
        entsize: b.u64(o + 56),
      }
    : {
        index,
        name: b.u32(o),
        type: b.u32(o + 4),
        flags: b.u32(o + 8),
        addr: b.u32(o + 12),
        offset: b.u32(o + 16),
        size: b.u32(o + 20),
        link: b.u32(o + 24),
        info: b.u32(o + 28),
        entsize: b.u32(o + 36),
      };
}

export function sectionStrTab(b: Bin, s: Section, what: string): StrTab {
  if (s.type !== SHT_STRTAB) b.fail(`${what} (section ${s.index}) is not a string table`);
  b.check(s.offset, s.size, what);
  return { off: s.offset, size: s.size, what };
}

export function readSymbols(b: Bin, off: number, size: number, entsize: number, strs: StrTab, what: string): RawSym[] {
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
