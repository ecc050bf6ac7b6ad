/**
 * The unwind-table pass: function extents from the FDEs of `.eh_frame`, for code no symbol
 * describes (a stripped program keeps its unwind tables: the C++ runtime and glibc's
 * backtrace() need them at run time).
 *
 * Found the way the unwinder finds it: PT_GNU_EH_FRAME's `.eh_frame_hdr`, whose sorted table
 * gives every FDE with its initial location, else its pointer to `.eh_frame` walked entry by
 * entry; a program without PT_GNU_EH_FRAME (gcc -static does not ask the linker for one) is
 * read through its `.eh_frame` section, placed by the segments like everything else.
 *
 * Fail closed: this pass only ever adds knowledge. Anything malformed (a length past its
 * segment, an encoding it does not know, a CIE pointer outside the table) stops the read with
 * one warning and keeps the FDEs read before it; nothing throws past `readFrames`. Every loop is
 * bounded by the bytes it reads (an entry is at least 8 bytes, a table row at least 2).
 */
import { InputError } from '../../errors.ts';
import { doubled } from '../../util/typed-grow.ts';
import type { ElfExecRegion, ElfFrames } from '../types.ts';
import type { Bin } from './bin.ts';
import type { Image } from './layout.ts';

const PT_GNU_EH_FRAME = 0x6474e550;
const SHT_PROGBITS = 1;

// DWARF pointer encodings (DW_EH_PE_*, LSB Core "DWARF Extensions"): low nibble the format,
// high nibble how the value is applied.
const PE_OMIT = 0xff;
const PE_ABSPTR = 0x00;
const PE_ULEB128 = 0x01;
const PE_UDATA2 = 0x02;
const PE_UDATA4 = 0x03;
const PE_UDATA8 = 0x04;
const PE_SLEB128 = 0x09;
const PE_SDATA2 = 0x0a;
const PE_SDATA4 = 0x0b;
const PE_SDATA8 = 0x0c;
const PE_PCREL = 0x10;
const PE_DATAREL = 0x30;

/** FDE ranges as they are read, in columns that grow (ElfFrames when done). */
class FrameList {
  start = new Float64Array(256);
  end = new Float64Array(256);
  signal = new Uint8Array(256);
  length = 0;

  push(start: number, end: number, signal: boolean): void {
    if (this.length === this.start.length) {
      this.start = doubled(this.start);
      this.end = doubled(this.end);
      this.signal = doubled(this.signal);
    }
    this.start[this.length] = start;
    this.end[this.length] = end;
    this.signal[this.length++] = signal ? 1 : 0;
  }
}

/** Malformed unwind data: caught in `readFrames`, never past it. */
class Bad extends Error {}

/**
 * A window of the file mapped contiguously at `vaddr` (one segment's file image, or part of it):
 * bounded reads, each byte's address known for pc-relative pointers.
 */
class Window {
  constructor(
    readonly b: Bin,
    /** File offset of the window's first byte. */
    readonly off: number,
    readonly size: number,
    readonly vaddr: number,
  ) {}
  /** Throws Bad unless [o, o + n) (file offsets) lies inside the window. */
  need(o: number, n: number, what: string): void {
    if (!(o >= this.off && n >= 0 && o + n <= this.off + this.size)) throw new Bad(`${what} runs past its segment`);
  }
  addrOf(o: number): number {
    return this.vaddr + (o - this.off);
  }
  offOf(addr: number): number | undefined {
    return addr >= this.vaddr && addr < this.vaddr + this.size ? this.off + (addr - this.vaddr) : undefined;
  }
}

/** A cursor over a Window, reading DWARF's variable-length forms. */
class Cursor {
  constructor(
    readonly w: Window,
    public o: number,
    /** Reads stop here (the end of the current entry). */
    public end: number,
  ) {}
  /** The same cursor over another stretch (EhFrame reads every FDE with one). */
  at(o: number, end: number): this {
    this.o = o;
    this.end = end;
    return this;
  }
  private take(n: number, what: string): number {
    if (this.o + n > this.end) throw new Bad(`${what} runs past its entry`);
    this.w.need(this.o, n, what);
    const at = this.o;
    this.o += n;
    return at;
  }
  u8(what: string): number {
    return this.w.b.u8(this.take(1, what));
  }
  uleb(what: string): number {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = this.u8(what);
      // Past 2^53 a value is no size or offset in a file under 2 GiB.
      if (shift > 49) throw new Bad(`${what}: LEB128 value too large`);
      v += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return v;
    }
  }
  sleb(what: string): number {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = this.u8(what);
      if (shift > 49) throw new Bad(`${what}: LEB128 value too large`);
      v += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return byte & 0x40 ? v - 2 ** (shift + 7) : v;
    }
  }
  /** A NUL-terminated string inside the entry. */
  cstr(what: string): string {
    let s = '';
    for (;;) {
      const c = this.u8(what);
      if (c === 0) return s;
      if (s.length >= 16) throw new Bad(`${what} too long`);
      s += String.fromCharCode(c);
    }
  }
  /**
   * A pointer in encoding `enc`: `dataBase` is the base of DW_EH_PE_datarel (only
   * .eh_frame_hdr defines one). Returns the address, wrapped to the file's word size.
   */
  pointer(enc: number, what: string, dataBase?: number): number {
    const at = this.w.addrOf(this.o);
    let v = this.value(enc & 0x0f, what);
    switch (enc & 0x70) {
      case 0:
        break;
      case PE_PCREL:
        v += at;
        break;
      case PE_DATAREL:
        if (dataBase === undefined) throw new Bad(`${what}: datarel pointer outside .eh_frame_hdr`);
        v += dataBase;
        break;
      default:
        throw new Bad(`${what}: pointer encoding 0x${enc.toString(16)} not supported`);
    }
    // An indirect pointer (0x80) names a slot holding the address: never how code ranges are given.
    if (enc & 0x80) throw new Bad(`${what}: indirect pointer encoding 0x${enc.toString(16)}`);
    return this.w.b.is64 ? v : ((v % 2 ** 32) + 2 ** 32) % 2 ** 32;
  }
  /** A value in pointer format `fmt` (the low nibble of an encoding), without its application. */
  value(fmt: number, what: string): number {
    const b = this.w.b;
    switch (fmt) {
      case PE_ABSPTR:
        return b.is64 ? b.u64(this.take(8, what)) : b.u32(this.take(4, what));
      case PE_ULEB128:
        return this.uleb(what);
      case PE_UDATA2:
        return b.u16(this.take(2, what));
      case PE_UDATA4:
        return b.u32(this.take(4, what));
      case PE_UDATA8:
        return b.u64(this.take(8, what));
      case PE_SLEB128:
        return this.sleb(what);
      case PE_SDATA2:
        return b.dv.getInt16(this.take(2, what), b.le);
      case PE_SDATA4:
        return b.dv.getInt32(this.take(4, what), b.le);
      case PE_SDATA8:
        return b.i64(this.take(8, what));
      default:
        throw new Bad(`${what}: pointer format 0x${fmt.toString(16)} not supported`);
    }
  }
}

/** What an FDE needs from its CIE: how its initial location is encoded. */
interface Cie {
  fdeEnc: number;
  /** Augmentation 'S': a signal frame. */
  signal: boolean;
}

/** One entry's header: where its body starts and ends, and its CIE id field. */
interface Entry {
  /** File offset of the id field (CIE pointers count back from it). */
  idAt: number;
  id: number;
  body: number;
  end: number;
}

/** The records of one .eh_frame (CIEs and FDEs, in the 32-bit or the 64-bit format). */
class EhFrame {
  private readonly cies = new Map<number, Cie>();
  /**
   * Scratch, so that reading an FDE allocates only its range (a large library has tens of
   * thousands): the cursor entry() and fde() read with, and the header entry() returns for an
   * FDE. A CIE's header gets an object of its own (cie() runs inside fde(), once per CIE).
   */
  private readonly cur: Cursor;
  private readonly fdeEntry: Entry = { idAt: 0, id: 0, body: 0, end: 0 };
  constructor(readonly w: Window) {
    this.cur = new Cursor(w, 0, 0);
  }

  /**
   * The entry at file offset `o`, or undefined at the terminator (length 0) or the window's end;
   * `into` is filled and returned (by default a scratch object the next call overwrites).
   */
  entry(o: number, into: Entry = this.fdeEntry): Entry | undefined {
    if (o + 4 > this.w.off + this.w.size) return undefined;
    const c = this.cur.at(o, this.w.off + this.w.size);
    let len = c.value(PE_UDATA4, 'entry length');
    if (len === 0) return undefined;
    let idSize = 4;
    if (len === 0xffffffff) {
      len = c.value(PE_UDATA8, 'extended entry length');
      idSize = 8;
    }
    const idAt = c.o;
    const end = idAt + len;
    if (len < idSize) throw new Bad(`entry at 0x${this.w.addrOf(o).toString(16)} shorter than its id`);
    this.w.need(idAt, len, `entry at 0x${this.w.addrOf(o).toString(16)}`);
    into.idAt = idAt;
    into.id = idSize === 4 ? this.w.b.u32(idAt) : this.w.b.u64(idAt);
    into.body = idAt + idSize;
    into.end = end;
    return into;
  }

  /** The CIE at file offset `o` (cached: FDEs share a few). */
  cie(o: number): Cie {
    let cie = this.cies.get(o);
    if (cie) return cie;
    const e = this.entry(o, { idAt: 0, id: 0, body: 0, end: 0 });
    if (e?.id !== 0) throw new Bad(`CIE pointer to 0x${this.w.addrOf(o).toString(16)}, which is no CIE`);
    const c = new Cursor(this.w, e.body, e.end);
    const version = c.u8('CIE version');
    if (version !== 1 && version !== 3) throw new Bad(`CIE version ${version}`);
    let aug = c.cstr('CIE augmentation');
    // "eh" (gcc before 3.0) stores a pointer-sized word after the string.
    if (aug.startsWith('eh')) {
      c.value(PE_ABSPTR, 'CIE eh data');
      aug = aug.slice(2);
    }
    c.uleb('CIE code alignment');
    c.sleb('CIE data alignment');
    if (version === 1) c.u8('CIE return register');
    else c.uleb('CIE return register');
    let fdeEnc = PE_ABSPTR;
    const signal = aug.startsWith('z') && aug.includes('S');
    if (aug.startsWith('z')) {
      c.uleb('CIE augmentation length');
      // Each letter's data in order; the ones after 'R' need not be understood.
      for (const ch of aug.slice(1)) {
        if (ch === 'R') {
          fdeEnc = c.u8('CIE FDE encoding');
          break;
        }
        if (ch === 'L') c.u8('CIE LSDA encoding');
        else if (ch === 'P') {
          const enc = c.u8('CIE personality encoding');
          c.value(enc & 0x0f, 'CIE personality');
        } else if (ch !== 'S' && ch !== 'B' && ch !== 'G') throw new Bad(`CIE augmentation "${aug}" not understood`);
      }
    } else if (aug !== '') throw new Bad(`CIE augmentation "${aug}" not understood`);
    cie = { fdeEnc, signal };
    this.cies.set(o, cie);
    return cie;
  }

  /**
   * The code range of the FDE `e`, added to `out`; its start, or undefined for an empty one
   * (which the linker leaves for a discarded function), which is not added.
   */
  fde(e: Entry, out: FrameList): number | undefined {
    const cieAt = e.idAt - e.id;
    const { fdeEnc, signal } = this.cie(cieAt);
    if (fdeEnc === PE_OMIT) throw new Bad('CIE omits the FDE encoding');
    const c = this.cur.at(e.body, e.end);
    const start = c.pointer(fdeEnc, 'FDE initial location');
    const range = c.value(fdeEnc & 0x0f, 'FDE address range');
    if (range <= 0 || start <= 0) return undefined;
    out.push(start, start + range, signal);
    return start;
  }

  /** Every FDE from file offset `o` to the terminator or the window's end. */
  walk(o: number, out: FrameList): void {
    for (let at = o; ; ) {
      const e = this.entry(at);
      if (!e) return;
      if (e.id !== 0) this.fde(e, out);
      at = e.end;
    }
  }
}

/** The window of the PT_LOAD file image holding `addr`, from `addr` to the segment's end. */
function windowAt(img: Image, addr: number): Window | undefined {
  for (const s of img.loads) {
    if (addr >= s.vaddr && addr - s.vaddr < s.filesz) {
      const off = s.offset + (addr - s.vaddr);
      const size = Math.min(s.filesz - (addr - s.vaddr), img.b.len - off);
      if (off < 0 || size <= 0) return undefined;
      img.b.check(off, size, 'unwind table'); // a lazily read file loads the window here
      return new Window(img.b, off, size, addr);
    }
  }
  return undefined;
}

/** The FDEs .eh_frame_hdr's table lists (each read from .eh_frame), or its pointer to .eh_frame walked. */
function fromHeader(img: Image, hdrAddr: number, out: FrameList): void {
  const w = windowAt(img, hdrAddr);
  if (!w) throw new Bad(`.eh_frame_hdr address 0x${hdrAddr.toString(16)} is not in any loaded segment`);
  const c = new Cursor(w, w.off, w.off + w.size);
  const version = c.u8('.eh_frame_hdr version');
  if (version !== 1) throw new Bad(`.eh_frame_hdr version ${version}`);
  const ptrEnc = c.u8('.eh_frame_hdr encoding');
  const countEnc = c.u8('.eh_frame_hdr encoding');
  const tableEnc = c.u8('.eh_frame_hdr encoding');
  if (ptrEnc === PE_OMIT) throw new Bad('.eh_frame_hdr has no .eh_frame pointer');
  const ehAddr = c.pointer(ptrEnc, '.eh_frame pointer', hdrAddr);
  const ew = windowAt(img, ehAddr);
  if (!ew) throw new Bad(`.eh_frame address 0x${ehAddr.toString(16)} is not in any loaded segment`);
  const eh = new EhFrame(ew);
  if (countEnc === PE_OMIT || tableEnc === PE_OMIT) {
    eh.walk(ew.off, out);
    return;
  }
  const count = c.pointer(countEnc, '.eh_frame_hdr count', hdrAddr);
  // Each row is two encoded values of at least 2 bytes: a count the window cannot hold is a lie.
  if (!(count >= 0 && count * 4 <= w.off + w.size - c.o)) throw new Bad(`.eh_frame_hdr count ${count} exceeds its segment`);
  let prev = -Infinity;
  for (let i = 0; i < count; i++) {
    const loc = c.pointer(tableEnc, '.eh_frame_hdr table', hdrAddr);
    const fdeAddr = c.pointer(tableEnc, '.eh_frame_hdr table', hdrAddr);
    // The unwinder binary-searches the table: out of order, it would not find what it lists.
    if (loc < prev) throw new Bad('.eh_frame_hdr table not sorted');
    prev = loc;
    const fo = ew.offOf(fdeAddr);
    if (fo === undefined) throw new Bad(`.eh_frame_hdr lists an FDE at 0x${fdeAddr.toString(16)}, outside .eh_frame's segment`);
    const e = eh.entry(fo);
    if (!e || e.id === 0) throw new Bad(`.eh_frame_hdr lists 0x${fdeAddr.toString(16)}, which is no FDE`);
    // Checked after it is added: a Bad ends the read, and what was read before it is kept.
    const at = out.length;
    const start = eh.fde(e, out);
    if (start !== undefined && start !== loc) {
      out.length = at;
      throw new Bad(`.eh_frame_hdr says 0x${loc.toString(16)} for the FDE of 0x${start.toString(16)}`);
    }
  }
}

/** .eh_frame by its section header (programs without PT_GNU_EH_FRAME), placed by the segments. */
function fromSection(img: Image, out: FrameList): void {
  const s = img.sections.find((x) => x.type === SHT_PROGBITS && x.addr !== 0 && x.size > 0 && img.sectionName(x) === '.eh_frame');
  if (!s) return;
  const w = windowAt(img, s.addr);
  if (!w) return; // not loaded: the unwinder cannot read it either
  const eh = new EhFrame(new Window(img.b, w.off, Math.min(w.size, s.size), s.addr));
  eh.walk(w.off, out);
}

/**
 * The FDE ranges of a program that lie inside its executable regions, sorted by start; a
 * warning in `img.warnings` for what could not be read. Object files (whose FDEs wait for
 * relocations) have none.
 */
export function readFrames(img: Image, exec: readonly ElfExecRegion[]): ElfFrames {
  const raw = new FrameList();
  if (!img.program) return done(raw, []);
  const hdr = img.segments.find((s) => s.type === PT_GNU_EH_FRAME);
  try {
    if (hdr) fromHeader(img, hdr.vaddr, raw);
    else fromSection(img, raw);
  } catch (e) {
    if (!(e instanceof Bad || e instanceof InputError)) throw e;
    const msg = e instanceof InputError ? e.message.slice(img.b.file.length + 2) : e.message;
    img.warnings.push(`unwind table (.eh_frame) read up to a malformed entry (${msg}); code past it has no function extents from it`);
  }
  // A range outside the code (a discarded function's FDE, relocated to 0 plus its offset) describes nothing that runs.
  const keep: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const s = raw.start[i]!;
    const t = raw.end[i]!;
    if (exec.some((x) => s >= x.addr && t <= x.addr + x.size)) keep.push(i);
  }
  return done(raw, keep);
}

/** The ranges `keep` of `raw`, sorted by start then end (stable; the header's table is sorted already). */
function done(raw: FrameList, keep: number[]): ElfFrames {
  const before = (a: number, b: number): number => raw.start[a]! - raw.start[b]! || raw.end[a]! - raw.end[b]!;
  let sorted = true;
  for (let k = 1; k < keep.length && sorted; k++) if (before(keep[k - 1]!, keep[k]!) > 0) sorted = false;
  if (!sorted) keep.sort((a, b) => before(a, b) || a - b);
  const n = keep.length;
  const out = { length: n, start: new Float64Array(n), end: new Float64Array(n), signal: new Uint8Array(n) };
  keep.forEach((i, k) => {
    out.start[k] = raw.start[i]!;
    out.end[k] = raw.end[i]!;
    out.signal[k] = raw.signal[i]!;
  });
  return out;
}
