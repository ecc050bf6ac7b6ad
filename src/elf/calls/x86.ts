/**
 * x86-64 calls to a wrapper: `call rel32` / `jmp rel32` (e8/e9) to a target, and
 * `call *slot(%rip)` (ff 15) through a GOT slot (-fno-plt). The first argument (edi) at each call
 * is what the site scanner's tracker (sites/x86.ts) says, over the same decoder's forward sweep
 * of the enclosing function: `mov $N,%edi` with stores, loads into other registers and other
 * argument set-up in between, a copy from a register set earlier, never a guess.
 */
import { Buffer } from 'node:buffer';
import { Bits, type Recovered, type ScanContext } from '../sites/common.ts';
import { EDI, Insn, instructionAt, sweepInterval, sweepX86, valueBefore, type X86Sweep } from '../sites/x86.ts';
import type { ElfExecRegion } from '../types.ts';
import { nextPair } from './byte-pair.ts';
import { pushCall, tailArgument, type WrapperCall } from './call.ts';

const MISALIGNED: Recovered = { k: 'unknown', why: 'the call bytes lie inside another instruction of the decoded code' };

/**
 * The first argument at x86-64 calls. Each stretch of code (function, or code between symbols)
 * is swept once, with its own branch targets, so an answer does not depend on which other calls
 * were asked about first.
 */
export class X86Calls {
  private readonly sweeps = new Map<string, { sw: X86Sweep; targets: Bits }>();
  private readonly d = new Insn();

  constructor(readonly ctx: ScanContext) {}

  /** What edi holds at the call at region offset `off`. */
  firstArgument(r: ElfExecRegion, off: number): Recovered {
    const [lo, hi] = sweepInterval(this.ctx, r, off);
    const key = `${r.offset}:${lo}:${hi}`;
    let s = this.sweeps.get(key);
    if (!s) {
      const targets = new Bits(hi - lo, 0, lo);
      s = { sw: sweepX86(this.ctx, r, lo, hi, true, targets, this.d), targets };
      this.sweeps.set(key, s);
    }
    const k = instructionAt(s.sw, off);
    if (k < 0) return MISALIGNED;
    return valueBefore(this.ctx.bytes, r.offset, s.sw, k, EDI, s.targets, true, this.d);
  }
}

export function callsX86(tracker: X86Calls, r: ElfExecRegion, targets: Set<number>, slots: Set<number>, out: WrapperCall[]): void {
  const b = tracker.ctx.bytes;
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const end = r.offset + r.size;
  // call/jmp rel32 (e8/e9) to a target: rel32 + o == target - addr + offset - 5 for a call at o.
  // For a call at o to a target, rel32 == want - o: over a run of 65,536 consecutive o its upper
  // two bytes (at o+3, o+4) are fixed, so each run is searched for those two bytes (memmem in
  // Buffer.indexOf), and only matches are checked. Runs whose two bytes are 00 00 or ff ff
  // (calls within 64 KiB of the target: such bytes are common) are checked byte by byte.
  const want = Int32Array.from([...targets].map((t) => t - r.addr + r.offset - 5));
  const stop = end - 5;
  const hits = new Set<number>();
  const at1 = (o: number, w: number): void => {
    if ((b[o]! & 0xfe) !== 0xe8) return;
    if ((b[o + 1]! | (b[o + 2]! << 8) | (b[o + 3]! << 16) | (b[o + 4]! << 24)) + o === w) hits.add(o);
  };
  const needle = Buffer.alloc(2);
  for (const w of want) {
    if (stop < r.offset) break;
    // rel32 = w - o must be an int32 (w is one, and sums of an int32 and o match only then).
    const hLo = Math.max(-32768, Math.floor((w - stop) / 65536));
    const hHi = Math.min(32767, Math.floor((w - r.offset) / 65536));
    for (let h = hLo; h <= hHi; h++) {
      const oLo = Math.max(r.offset, w - h * 65536 - 65535);
      const oHi = Math.min(stop, w - h * 65536);
      if (oLo > oHi) continue;
      const c3 = h & 0xff;
      const c4 = (h >> 8) & 0xff;
      if ((c3 === 0 && c4 === 0) || (c3 === 0xff && c4 === 0xff)) {
        for (let o = oLo; o <= oHi; o++) at1(o, w);
        continue;
      }
      needle[0] = c3;
      needle[1] = c4;
      const win = buf.subarray(oLo + 3, oHi + 5);
      for (let q = win.indexOf(needle); q >= 0; q = win.indexOf(needle, q + 1)) at1(oLo + q, w);
    }
  }
  // e8 hits first, then e9, as before the single pass (the sort below is by address anyway).
  const sorted = [...hits].sort((x, y) => x - y);
  for (const op of [0xe8, 0xe9]) {
    for (const o of sorted) {
      if (b[o] !== op) continue;
      const at = r.addr + (o - r.offset);
      const t = at + 5 + dv.getInt32(o + 1, true);
      if (op === 0xe9) pushCall(out, at, tailArgument(tracker.firstArgument(r, o - r.offset)), t, true);
      else pushCall(out, at, tracker.firstArgument(r, o - r.offset), t);
    }
  }
  // call *slot(%rip) (ff 15): -fno-plt.
  if (slots.size) {
    for (let o = nextPair(buf, 0xff, 0x15, r.offset); o >= 0 && o + 6 <= end; o = nextPair(buf, 0xff, 0x15, o + 1)) {
      if (slots.has(r.addr + (o - r.offset) + 6 + dv.getInt32(o + 2, true))) pushCall(out, r.addr + (o - r.offset), tracker.firstArgument(r, o - r.offset));
    }
  }
  out.sort((x, y) => x.address - y.address);
}
