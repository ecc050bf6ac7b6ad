/**
 * AArch64 code references for the call graph (src/elf/callgraph.ts): every 4-byte word of a
 * stretch is decoded (A64 is fixed width and always little-endian, so there is nothing to
 * resynchronise and a literal in code can only add references, never hide one).
 *
 * - Direct branches: `bl` (calls); `b`, `b.cond`, `cbz/cbnz`, `tbz/tbnz` (jumps).
 * - Addresses the code forms: `adr`, literal loads (`ldr xN, label`), and `adrp` with the low
 *   12 bits its users add: `add xD, xN, #lo12`, loads and stores `[xN, #lo12]` (GOT slots:
 *   `adrp x16, slot; ldr x17, [x16, #lo12]`). An `adrp` whose users this linear reading cannot
 *   all see (the register copied, stored, used with a register offset, or never used in the
 *   stretch) makes its whole page referenced (`pages`): fail closed.
 *
 * An `adrp` register stays live until an instruction writes it; a write on one path does not
 * hide a use on another: at a join point (a branch target in the stretch, or the instruction
 * after an unconditional branch) every register an `adrp` set is live again. Calls are not
 * taken to clobber anything (gcc's -fipa-ra keeps values in caller-saved registers across calls
 * to local functions). Over-approximation is the only error allowed.
 */
import type { CodeRefs } from './types.ts';

const PAGE = 4096;

/** Whether `w` ends straight-line execution: b, br/ret/eret (and their pointer-auth forms), brk, hlt, udf. */
function stops(w: number): boolean {
  if ((w & 0xfc000000) === 0x14000000) return true; // B
  if ((w & 0xfe000000) === (0xd6000000 | 0)) return ((w >>> 21) & 0xf) !== 1; // BR, RET, ERET, ... but not BLR
  if ((w & 0xffe0001f) === (0xd4200000 | 0) || (w & 0xffe0001f) === (0xd4400000 | 0)) return true; // BRK, HLT
  return (w & 0xffff0000) === 0; // UDF
}

/** Byte offset of a direct jump's target (b, b.cond, cbz/cbnz, tbz/tbnz), or undefined. */
function jumpOffset(w: number): number | undefined {
  if ((w & 0xfc000000) === 0x14000000) return ((w << 6) >> 6) * 4;
  if ((w & 0xff000010) === 0x54000000 || (w & 0x7e000000) === 0x34000000) return ((w << 8) >> 13) * 4;
  if ((w & 0x7e000000) === 0x36000000) return ((w << 13) >> 18) * 4;
  return undefined;
}

const isHint = (w: number): boolean => (w & 0xfffff01f) === (0xd503201f | 0); // nop, bti, paciasp, ...
/** x16/x17 (IP0/IP1): the registers the linker's PLT stubs and veneers use. */
const ip = (r: number): boolean => r === 16 || r === 17;

/**
 * Whether `w` is an instruction of a PLT stub or a linker veneer: adrp/ldr/add of x16/x17,
 * br x16/x17, PLT0's `stp x16, x30, [sp, #-16]!`, hints (nop, bti).
 */
function stubWord(w: number): boolean {
  if (isHint(w) || w === (0xa9bf7bf0 | 0)) return true;
  if ((w & 0x9f000000) === (0x90000000 | 0)) return ip(w & 31); // ADRP x16/x17
  if ((w & 0xffc00000) === (0xf9400000 | 0)) return ip(w & 31); // LDR x17, [x16, #imm]
  if ((w & 0xff800000) === (0x91000000 | 0)) return ip(w & 31); // ADD x16, x16, #imm
  return (w & 0xfffffc1f) === (0xd61f0000 | 0) && ip((w >>> 5) & 31); // BR x16/x17
}

/**
 * How a load or store addresses memory from its base register rn: the offset added (undefined:
 * a register offset or a pair, which this reading does not follow) and the registers it writes
 * and stores. Undefined: not a load or store of a general form.
 */
interface Access {
  off: number | undefined;
  /** Registers loaded (general-purpose only) and the base when written back. */
  writes: number[];
  /** General-purpose registers whose values are stored. */
  stores: number[];
}

function access(w: number): Access | undefined {
  const rt = w & 31;
  const rn = (w >>> 5) & 31;
  const v = (w >>> 26) & 1;
  const size = w >>> 30;
  const opc = (w >>> 22) & 3;
  // LDR/STR (unsigned immediate)
  if ((w & 0x3b000000) === 0x39000000) {
    const scale = v && opc & 2 ? 4 : size;
    const load = v ? false : opc !== 0 && !(size === 3 && opc === 2); // not PRFM
    return { off: ((w >>> 10) & 0xfff) * 2 ** scale, writes: load ? [rt] : [], stores: !v && opc === 0 ? [rt] : [] };
  }
  // LDUR/STUR, LDTR, and pre/post-indexed (imm9)
  if ((w & 0x3b200000) === 0x38000000) {
    const mode = (w >>> 10) & 3;
    const load = v ? false : opc !== 0 && !(size === 3 && opc === 2);
    const wb = mode === 1 || mode === 3;
    const writes = [...(load ? [rt] : []), ...(wb ? [rn] : [])];
    return { off: mode === 1 ? 0 : (w << 11) >> 23, writes, stores: !v && opc === 0 ? [rt] : [] };
  }
  // Register offset: base + a register, an address this reading cannot know.
  if ((w & 0x3b200c00) === 0x38200800) {
    const load = v ? false : opc !== 0;
    return { off: undefined, writes: load ? [rt] : [], stores: !v && opc === 0 ? [rt] : [] };
  }
  // Atomic memory operations (LDADD, SWP, CAS-like forms at [rn]): rt receives the old value.
  if ((w & 0x3b200c00) === 0x38200000) return { off: 0, writes: v ? [] : [rt], stores: v ? [] : [(w >>> 16) & 31] };
  // Pairs (LDP/STP, LDNP/STNP, LDPSW): not a form an adrp's low bits are added by.
  if ((w & 0x3a000000) === 0x28000000) {
    const load = ((w >>> 22) & 1) === 1;
    const mode = (w >>> 23) & 3;
    const rt2 = (w >>> 10) & 31;
    const writes = [...(load && !v ? [rt, rt2] : []), ...(mode === 1 || mode === 3 ? [rn] : [])];
    return { off: undefined, writes, stores: !load && !v ? [rt, rt2] : [] };
  }
  // Exclusives and acquire/release (LDXR, STXR, LDAR, STLR, CAS): at [rn].
  if ((w & 0x3f000000) === 0x08000000) {
    const load = ((w >>> 22) & 1) === 1;
    return { off: 0, writes: load ? [rt] : [(w >>> 16) & 31], stores: load ? [] : [rt, (w >>> 10) & 31] };
  }
  return undefined;
}

/** The general-purpose registers an instruction that is not a load or store reads as data (rn, rm), and the one it writes. */
function dataProcessing(w: number): { reads: number[]; write: number | undefined } | undefined {
  const rd = w & 31;
  const rn = (w >>> 5) & 31;
  const rm = (w >>> 16) & 31;
  if (((w >>> 26) & 7) === 4) {
    // Data processing (immediate): bits 25-23 choose the class.
    const cls = (w >>> 23) & 7;
    if (cls <= 1) return { reads: [], write: rd }; // ADR, ADRP
    if (cls === 5) return { reads: ((w >>> 29) & 3) === 3 ? [rd] : [], write: rd }; // MOVN/MOVZ, MOVK reads rd
    if (cls === 7) return { reads: [rn, rm], write: rd }; // EXTR
    return { reads: [rn], write: rd }; // add/sub, logical, bitfield
  }
  if (((w >>> 25) & 7) === 5) return { reads: [rn, rm, (w >>> 10) & 31], write: rd }; // register forms (ra of madd too)
  if ((w & 0xfff00000) === (0xd5300000 | 0)) return { reads: [], write: rd }; // MRS
  return undefined;
}

/** Decodes file offsets [from, to) of `b` (`delta` = address - file offset), word by word. */
export function a64Refs(b: Uint8Array, from: number, to: number, delta: number): CodeRefs {
  const out: CodeRefs = { calls: [], callsFrom: [], jumps: [], jumpsFrom: [], mems: [], pages: [], fallsThrough: true, stubLike: true, padding: true };
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  // Instructions sit at addresses that are multiples of 4.
  const first = from + ((4 - ((from + delta) % 4)) % 4);
  const lo = first + delta;
  const hi = to + delta;
  // Pass 1: branches, addresses formed in one instruction, and the join points of the stretch.
  const joins = new Set<number>();
  let last = 0;
  let any = false;
  let anyReal = false;
  for (let o = first; o + 4 <= to; o += 4) {
    const w = dv.getInt32(o, true);
    const at = o + delta;
    any = true;
    // The last instruction that is not a hint decides whether the stretch runs on: nops after
    // a branch do not run (PLT0 ends `br x17; nop; nop; nop`); a zero word is udf, a stop.
    if (!isHint(w) || !anyReal) last = w;
    if (!isHint(w)) anyReal = true;
    if (!isHint(w) && w !== 0) out.padding = false;
    if (out.stubLike && !stubWord(w)) out.stubLike = false;
    if ((w & 0xfc000000) === (0x94000000 | 0)) {
      out.calls.push(at + ((w << 6) >> 6) * 4);
      out.callsFrom!.push(at);
    } else {
      const j = jumpOffset(w);
      if (j !== undefined) {
        out.jumps.push(at + j);
        out.jumpsFrom.push(at);
        if (at + j >= lo && at + j < hi) joins.add(at + j);
      }
    }
    if (stops(w)) joins.add(at + 4);
    if ((w & 0x9f000000) === 0x10000000)
      out.mems.push(at + ((((w >>> 5) & 0x7ffff) << 13) >> 11) + ((w >>> 29) & 3)); // ADR
    else if ((w & 0x3b000000) === 0x18000000) out.mems.push(at + ((w << 8) >> 13) * 4); // LDR (literal)
  }
  out.fallsThrough = !any || !stops(last);
  if (!any) out.padding = out.stubLike = true;
  adrpRefs(dv, first, to, delta, joins, out);
  return out;
}

/** Pass 2: the addresses each `adrp` forms with the low bits its users add (see the file comment). */
function adrpRefs(dv: DataView, first: number, to: number, delta: number, joins: ReadonlySet<number>, out: CodeRefs): void {
  const page = new Float64Array(32).fill(Number.NaN);
  /**
   * 0: the register holds its adrp's page (straight-line since); 1: written since (dead until a
   * join point); 2: live again at a join point, so it may hold the page (by another path).
   */
  const dead = new Uint8Array(32);
  /** 1: some user added low bits; 2: its page went to `pages` already. */
  const used = new Uint8Array(32);
  const pages = out.pages!;
  const wide = (r: number): void => {
    if (used[r] !== 2) pages.push(page[r]!);
    used[r] = 2;
  };
  const retire = (r: number): void => {
    if (!Number.isNaN(page[r]!) && used[r] === 0) wide(r);
    page[r] = Number.NaN;
  };
  /** May hold its page: users add their low bits. */
  const live = (r: number): boolean => r !== 31 && !Number.isNaN(page[r]!) && dead[r] !== 1;
  /** Holds its page for certain: a copy or a store of it sends the page where this reading does not follow. */
  const sure = (r: number): boolean => r !== 31 && !Number.isNaN(page[r]!) && dead[r] === 0;
  const write = (r: number): void => {
    if (r !== 31 && !Number.isNaN(page[r]!)) dead[r] = 1;
  };
  for (let o = first; o + 4 <= to; o += 4) {
    const at = o + delta;
    if (joins.has(at)) for (let r = 0; r < 31; r++) if (dead[r] === 1) dead[r] = 2;
    const w = dv.getInt32(o, true);
    const rd = w & 31;
    if ((w & 0x9f000000) === (0x90000000 | 0)) {
      // ADRP
      if (rd === 31) continue;
      retire(rd);
      const imm = ((((w >>> 5) & 0x7ffff) << 13) >> 11) + ((w >>> 29) & 3);
      page[rd] = Math.floor(at / PAGE) * PAGE + imm * PAGE;
      dead[rd] = 0;
      used[rd] = 0;
      continue;
    }
    const rn = (w >>> 5) & 31;
    if ((w & 0x7f800000) === 0x11000000) {
      // ADD (immediate): the address itself.
      if (live(rn)) {
        out.mems.push(page[rn]! + ((w >>> 10) & 0xfff) * ((w >>> 22) & 1 ? PAGE : 1));
        if (used[rn] === 0) used[rn] = 1;
      }
      write(rd);
      continue;
    }
    const a = access(w);
    if (a) {
      if (live(rn)) {
        if (a.off === undefined) {
          if (sure(rn)) wide(rn);
        } else {
          out.mems.push(page[rn]! + a.off);
          if (used[rn] === 0) used[rn] = 1;
        }
      }
      for (const r of a.stores) if (sure(r)) wide(r); // the page itself stored: its users are elsewhere
      for (const r of a.writes) write(r);
      continue;
    }
    const dp = dataProcessing(w);
    if (dp) {
      for (const r of dp.reads) if (sure(r)) wide(r); // copied or computed with: its users are elsewhere
      if (dp.write !== undefined) write(dp.write);
      continue;
    }
    // BR/BLR xN through the page itself.
    if ((w & 0xfe000000) === (0xd6000000 | 0) && sure(rn)) wide(rn);
  }
  for (let r = 0; r < 31; r++) retire(r);
}
