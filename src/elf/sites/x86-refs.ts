/**
 * x86-64 code references for the call graph (src/elf/callgraph.ts): the direct call and jump
 * targets and the rip-relative operands of one stretch of code, decoded with the site
 * scanner's instruction decoder (one decoder of x86).
 */
import { type RefKind, type RegionCode, STRETCH_FALLS, STRETCH_PADDING, STRETCH_STUB } from '../graph/types.ts';
import { decode, Insn, readImm } from './x86.ts';
import { doubled } from '../../util/typed-grow.ts';

export interface X86Refs {
  /** Direct call targets (E8 rel32): function entries. */
  calls: number[];
  /** Direct jump targets (E9, EB, Jcc, loop/jrcxz). */
  jumps: number[];
  /** Address of each jump of `jumps`. */
  jumpsFrom: number[];
  /** Rip-relative memory operands and LEA targets: GOT slots, data, taken function addresses. */
  mems: number[];
  /** Whether the last instruction decoded can fall through into the byte after `to`. */
  fallsThrough: boolean;
  /**
   * Whether the stretch is only what a PLT holds (endbr64, indirect jmp/call/push through a
   * rip-relative slot, push imm, direct jmp, nop, int3): code the loader's tables lead into,
   * never a function of its own.
   */
  stubLike: boolean;
  /** Whether the stretch is only alignment padding (nop forms, int3). */
  padding: boolean;
}

const d = new Insn();

/**
 * Decodes [from, to) (file offsets of `b`; `addrOf(off)` = the address of a file offset) as one
 * linear sweep. A byte that does not decode is skipped: the sweep resynchronises, and the
 * caller's byte-wise rel32 search covers what a desynchronised stretch may hide.
 */
export function x86Refs(b: Uint8Array, from: number, to: number, delta: number): X86Refs {
  const out: X86Refs = { calls: [], jumps: [], jumpsFrom: [], mems: [], fallsThrough: true, stubLike: true, padding: true };
  let p = from;
  while (p < to) {
    if (!decode(b, p, to, true, d)) {
      out.stubLike = false;
      out.padding = false;
      out.fallsThrough = true;
      p++;
      continue;
    }
    const next = p + d.len + delta; // address of the next instruction
    const plain = d.map === 0 && !d.vex;
    if (plain && d.op === 0xe8) out.calls.push(next + readImm(b, p + d.immOff, d.immSize, true));
    else if (!Number.isNaN(d.rel)) {
      out.jumps.push(next + d.rel);
      out.jumpsFrom.push(p + delta);
    }
    // ModRM mod 00 r/m 101 without SIB is rip-relative in 64-bit code; the disp32 sits just
    // before the immediate.
    const ripRel = d.modrm >= 0 && (d.modrm & 0xc7) === 0x05;
    if (ripRel) out.mems.push(next + readImm(b, p + d.immOff - 4, 4, true));
    const reg = (d.modrm >> 3) & 7;
    const nop = plain && (d.op === 0x90 || d.op === 0xcc);
    const nopLong = d.map === 1 && !d.vex && (d.op === 0x1f || d.op === 0x1e); // nopl, endbr64
    const pad = nop || (nopLong && d.op === 0x1f);
    // ret, jmp rel, jmp indirect, ud2, hlt: nothing runs after them in sequence. Padding after
    // one does not run either (a jump to what follows the padding is an entry of its own): the
    // lazy PLT's first stub (push; jmp *; nopl) ends in padding but never runs into the first
    // entry, whose import counted for every library that DT_INIT's code reaches.
    if (!pad || out.padding)
      out.fallsThrough =
        !(plain && (d.op === 0xc3 || d.op === 0xc2 || d.op === 0xe9 || d.op === 0xeb || d.op === 0xf4 || (d.op === 0xff && reg === 4))) &&
        !(d.map === 1 && !d.vex && d.op === 0x0b);
    if (!pad) out.padding = false;
    if (out.stubLike) {
      const viaSlot = plain && d.op === 0xff && ripRel && (reg === 2 || reg === 4 || reg === 6);
      const push = plain && (d.op === 0x68 || d.op === 0x6a);
      const jmp = plain && (d.op === 0xe9 || d.op === 0xeb);
      if (!(nop || nopLong || viaSlot || push || jmp)) out.stubLike = false;
    }
    p += d.len;
  }
  return out;
}

/** X86Sweep.info bits. */
const K_CALL = 1;
const K_JUMP = 2;
const K_MEM = 3;
const KIND = 3;

/** The sweep may go on after the instruction (x86Refs' fallsThrough, were it the last). */
const F_FALLS = 4;
/** Alignment padding (nop forms, int3). */
const F_PAD = 8;
/** PLT-stub-like (x86Refs' stubLike). */
const F_STUB = 16;
/** A byte that did not decode near its segment's end: with a later limit it might. */
const F_LIMITED = 32;
/** Both a branch target and a rip-relative operand (no such instruction is known): decoded anew. */
const F_MULTI = 64;

/**
 * One linear sweep of a region, resynchronised at each cut (segments [cut_k, cut_k+1)), kept
 * per instruction so that each stretch of the call graph reads its references from it instead
 * of decoding its bytes again (they are the same instructions wherever a stretch starts at an
 * instruction of the sweep and ends at one). A byte that does not decode is an instruction of
 * its own, as in x86Refs.
 */
export class RefSweep implements RegionCode {
  /** File offset of each instruction, ascending, then the region's end. */
  off: Int32Array;
  info: Uint8Array;
  /** The call, jump or rip-relative target (an address), or 0. */
  target: Float64Array;
  count = 0;
  /** The segments' ends (file offsets): the cuts inside the region, then its end. */
  private readonly segEnds: number[];

  constructor(
    readonly b: Uint8Array,
    readonly from: number,
    readonly to: number,
    readonly delta: number,
    cuts: readonly number[],
  ) {
    this.segEnds = [...cuts.filter((c) => c > from && c < to), to];
    const cap = Math.max(16, (to - from) >> 2);
    this.off = new Int32Array(cap);
    this.info = new Uint8Array(cap);
    this.target = new Float64Array(cap);
    let seg = from;
    for (const c of [...cuts, to]) {
      if (c > seg) this.segment(seg, c);
      seg = Math.max(seg, c);
    }
    this.push(to, 0, 0);
  }

  private push(off: number, info: number, target: number): void {
    if (this.count === this.off.length) {
      this.off = doubled(this.off);
      this.info = doubled(this.info);
      this.target = doubled(this.target);
    }
    this.off[this.count] = off;
    this.info[this.count] = info;
    this.target[this.count++] = target;
  }

  private segment(from: number, to: number): void {
    const b = this.b;
    const delta = this.delta;
    let p = from;
    while (p < to) {
      if (!decode(b, p, to, true, d)) {
        this.push(p, F_FALLS | (p + 15 > to ? F_LIMITED : 0), 0);
        p++;
        continue;
      }
      const next = p + d.len + delta;
      const plain = d.map === 0 && !d.vex;
      let kind = 0;
      let target = 0;
      if (plain && d.op === 0xe8) {
        kind = K_CALL;
        target = next + readImm(b, p + d.immOff, d.immSize, true);
      } else if (!Number.isNaN(d.rel)) {
        kind = K_JUMP;
        target = next + d.rel;
      }
      const ripRel = d.modrm >= 0 && (d.modrm & 0xc7) === 0x05;
      let multi = 0;
      if (ripRel) {
        if (kind) multi = F_MULTI;
        kind = K_MEM;
        target = next + readImm(b, p + d.immOff - 4, 4, true);
      }
      const reg = (d.modrm >> 3) & 7;
      const falls =
        !(plain && (d.op === 0xc3 || d.op === 0xc2 || d.op === 0xe9 || d.op === 0xeb || d.op === 0xf4 || (d.op === 0xff && reg === 4))) &&
        !(d.map === 1 && !d.vex && d.op === 0x0b);
      const nop = plain && (d.op === 0x90 || d.op === 0xcc);
      const nopLong = d.map === 1 && !d.vex && (d.op === 0x1f || d.op === 0x1e);
      const pad = nop || (nopLong && d.op === 0x1f);
      const viaSlot = plain && d.op === 0xff && ripRel && (reg === 2 || reg === 4 || reg === 6);
      const push = plain && (d.op === 0x68 || d.op === 0x6a);
      const jmp = plain && (d.op === 0xe9 || d.op === 0xeb);
      const stub = nop || nopLong || viaSlot || push || jmp;
      this.push(p, kind | multi | (falls ? F_FALLS : 0) | (pad ? F_PAD : 0) | (stub ? F_STUB : 0), target);
      p += d.len;
    }
  }

  /** Index of the instruction at file offset `o`, or -1. */
  at(o: number): number {
    let lo = 0;
    let hi = this.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = this.off[mid]!;
      if (v === o) return mid;
      if (v < o) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /**
   * Every reference of the whole sweep (the call graph's entries): `from` is the address of the
   * instruction. True: x86 code never branches where the graph does not decode.
   */
  forEachRef(onRef: (kind: RefKind, target: number, from: number) => void): boolean {
    const { off, info, target, count, delta } = this;
    for (let k = 0; k + 1 < count; k++) {
      const kind = info[k]! & KIND;
      if (kind) onRef(kind === K_CALL ? 'call' : kind === K_JUMP ? 'jump' : 'mem', target[k]!, off[k]! + delta);
    }
    return true;
  }

  /**
   * What x86Refs(b, from, to, delta) finds in a stretch inside the region, each target handed
   * to `onTarget` (calls, jumps and rip-relative operands alike) and the rest returned as
   * STRETCH_* bits; read from the sweep where it has the same instructions (`from` is one of
   * its instructions, `to` is one or the end of a segment the sweep decoded up to cleanly),
   * else decoded anew. No arrays: a library has hundreds of thousands of stretches.
   */
  visit(from: number, to: number, onTarget: (t: number) => void, _onPage: (page: number) => void): number {
    const segEnds = this.segEnds;
    const k0 = this.at(from);
    if (k0 >= 0) {
      const { off, info, target } = this;
      let falls = true;
      let padding = true;
      let stub = true;
      // The segment end the sweep's limit was at for instruction k: the first cut above it.
      let s = lowerBoundAbove(segEnds, from);
      let k = k0;
      for (; off[k]! < to; k++) {
        const o = off[k]!;
        while (segEnds[s]! <= o) s++;
        const f = info[k]!;
        // An instruction must end inside the stretch as it did in the sweep, and a byte the
        // sweep's limit may have refused must have had the same limit.
        if (off[k + 1]! > to || f & F_MULTI || (f & F_LIMITED && segEnds[s] !== to)) break;
        if (!(f & F_PAD) || padding) falls = (f & F_FALLS) !== 0; // as in x86Refs: padding after a stop stops
        if (!(f & F_PAD)) padding = false;
        if (!(f & F_STUB)) stub = false;
      }
      if (!(off[k]! < to)) {
        for (let j = k0; j < k; j++) if (info[j]! & KIND) onTarget(target[j]!);
        return (falls ? STRETCH_FALLS : 0) | (padding ? STRETCH_PADDING : 0) | (stub ? STRETCH_STUB : 0);
      }
    }
    const r = x86Refs(this.b, from, to, this.delta);
    r.calls.forEach(onTarget);
    r.jumps.forEach(onTarget);
    r.mems.forEach(onTarget);
    return (r.fallsThrough ? STRETCH_FALLS : 0) | (r.padding ? STRETCH_PADDING : 0) | (r.stubLike ? STRETCH_STUB : 0);
  }
}

/** Index of the first element > v in a sorted array. */
function lowerBoundAbove(a: readonly number[], v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
