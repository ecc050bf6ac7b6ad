/**
 * AArch64: `svc #imm` with the number in x8/w8 (`mov w8,#N` = movz, optionally followed by movk).
 */
import type { ElfExecRegion, SyscallSite } from '../types.ts';
import { Bits, JOIN, MAX_JOINS, MAX_PATHS, mergePaths, pushFixedWidthSites, type Recovered, type ScanContext, WINDOW } from './common.ts';

/** Bytes of `svc` (every A64 instruction is 4). */
export const A64_TRAP_LENGTH = 4;

const X8 = 8;
/** AAPCS64 callee-saved registers survive a call. */
const calleeSaved = (r: number): boolean => r >= 19 && r <= 28;

export function scanAarch64(ctx: ScanContext, region: ElfExecRegion, out: SyscallSite[]): void {
  const { sites, targets } = a64Index(ctx, region);
  pushFixedWidthSites(ctx, region, sites, targets, 'aarch64', 'svc', (c, r, i, lowest, fIdx, tg) => a64ValueBefore(c, r, i, lowest, fIdx, tg, X8), out);
}

/** One pass over a region: its svc words (outside literal data) and the targets of its direct branches. */
export function a64Index(ctx: ScanContext, region: ElfExecRegion): { sites: number[]; targets: Bits; sources: Map<number, number[]> } {
  return ctx.memo(region, 'a64', () => {
    const { dv, le } = ctx;
    const base = region.offset;
    const n = region.size >>> 2;
    // Data mapping symbols ($d) mark literal data inside code.
    const data = dataRanges(ctx, region);
    const sites: number[] = [];
    const targets = new Bits(region.size, 2);
    /** Word index of a branch target -> word indexes of the direct branches to it. */
    const sources = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const w = dv.getUint32(base + i * 4, le);
      if ((w & 0xffe0001f) === (0xd4000001 | 0)) {
        if (!inData(data, region.addr + i * 4)) sites.push(i);
        continue;
      }
      const t = branchTarget(w);
      if (t === undefined) continue;
      targets.set(i * 4 + t);
      const to = i + t / 4;
      const list = sources.get(to);
      if (list) list.push(i);
      else sources.set(to, [i]);
    }
    return { sites, targets, sources };
  });
}

/**
 * The one backwards register tracker of AArch64: the constant register `reg` (x8 for a site's
 * number, x0 for syscall()'s first argument) holds when control reaches word i, walking back to
 * `lowest` (the function's first word `fIdx`, or the window). movz (with a later movk of bits
 * 16-31) gives the value; a register copy is followed; a call is stepped over for callee-saved
 * registers. At a branch target (a join point) every way into it is walked back: the branches
 * to it from within the function and the fall-through; all must give constants (one, or a set).
 * Any other write or an unconditional branch ends the walk with the reason. Reaching the
 * function's start tracking x0 is `arg`: the caller chose it.
 */
export function a64ValueBefore(ctx: ScanContext, region: ElfExecRegion, i: number, lowest: number, fIdx: number, targets: Bits, reg: number): Recovered {
  const { sources } = a64Index(ctx, region);
  const f = ctx.funcs.at(region.addr + i * 4, ctx.key(region));
  const [lo, hi] = f && fIdx >= 0 ? [fIdx, Math.ceil((f.end - region.addr) / 4)] : [i - WINDOW, i + WINDOW];
  const w: Walk = { ctx, region, lo, hi, fIdx, targets, sources, orig: `x${reg}`, budget: { joins: MAX_JOINS, paths: MAX_PATHS } };
  return walk(w, i, true, lowest, reg, `x${reg}`);
}

interface Walk {
  ctx: ScanContext;
  region: ElfExecRegion;
  /** Word indexes [lo, hi) branches into a join point may come from: the function, or the window around the site. */
  lo: number;
  hi: number;
  fIdx: number;
  targets: Bits;
  sources: Map<number, number[]>;
  /** The register tracked from the site, for the reasons. */
  orig: string;
  budget: { joins: number; paths: number };
}

const NOP = 0xd503201f;

/** Walks back from word `from` (control stands there; `joinAtStart`: it may be a join point) to `lowest`, tracking x`t0`. */
function walk(wk: Walk, from: number, joinAtStart: boolean, lowest: number, t0: number, name0: string): Recovered {
  const { ctx, region, fIdx, targets, orig } = wk;
  const { dv, le } = ctx;
  let t = t0;
  let name = name0;
  let movk = 0; // bits supplied by movk instructions seen so far (later in program order)
  let movkMask = 0;
  for (let cur = from; ; cur--) {
    const j = cur - 1;
    if (j < lowest) {
      if (j < fIdx && fIdx === lowest && movkMask === 0) {
        if (t === 0) return { k: 'arg', why: `${name}: the number comes from the caller (first argument)` };
        return { k: 'unknown', why: `${name} not set in the function before the site` };
      }
      return { k: 'unknown', why: `${name} not set before the site within the scanned code` };
    }
    if ((cur !== from || joinAtStart) && targets.has(cur * 4)) {
      // A join point: every way into `cur` (the branches to it, the fall-through) is walked back.
      if (movkMask !== 0 || --wk.budget.joins < 0) return { k: 'unknown', why: JOIN };
      const paths: Recovered[] = [];
      for (const s of wk.sources.get(cur) ?? []) {
        // Only branches from within the function (or the window, without symbols). One placed
        // after the site is walked back like any other: a path through the site itself (a loop)
        // meets its svc or call there, which ends it unresolved.
        if (s < wk.lo || s >= wk.hi || --wk.budget.paths < 0) return { k: 'unknown', why: JOIN };
        paths.push(walk(wk, s, true, Math.max(0, s - WINDOW, fIdx), t, name));
      }
      // Alignment nops after an unconditional branch are reached only when branched to.
      let q = j;
      while (q >= 0 && dv.getUint32(region.offset + q * 4, le) === NOP && !targets.has(q * 4)) q--;
      if (q >= 0 && effect(dv.getUint32(region.offset + q * 4, le), t) !== 'stop') paths.push(walk(wk, cur, false, lowest, t, name));
      return mergePaths(paths);
    }
    const w = dv.getUint32(region.offset + j * 4, le);
    const rd = w & 31;
    // MOVZ
    if ((w & 0x7f800000) === 0x52800000) {
      if (rd !== t) continue;
      const hw = (w >>> 21) & 3;
      const v = ((w >>> 5) & 0xffff) * 2 ** (16 * hw);
      if (movkMask !== 0 && hw !== 0) return { k: 'unknown', why: `${name} built by movz/movk with a shifted base` };
      return { k: 'const', v: movkMask ? (v % 0x10000) + movk : v };
    }
    // MOVK
    if ((w & 0x7f800000) === 0x72800000) {
      if (rd !== t) continue;
      const hw = (w >>> 21) & 3;
      if (hw !== 1) return { k: 'unknown', why: `${name} built by movk` };
      if (movkMask & (1 << hw)) continue; // an earlier movk of the same half is overwritten later
      movkMask |= 1 << hw;
      movk += ((w >>> 5) & 0xffff) * 0x10000;
      continue;
    }
    // MOVN
    if ((w & 0x7f800000) === 0x12800000) {
      if (rd === t) return { k: 'unknown', why: `${name} set by movn` };
      continue;
    }
    // mov wD/xD, wN/xN (ORR shifted register with the zero register), uxtw xD, wN (UBFM xD, xN, #0, #31)
    const isOrrMov = (w & 0x7fe0ffe0) === 0x2a0003e0;
    const isUxtw = (w & 0xfffffc00) === (0xd3407c00 | 0);
    if (isOrrMov || isUxtw) {
      if (rd !== t) continue;
      const src = isOrrMov ? (w >>> 16) & 31 : (w >>> 5) & 31;
      if (movkMask !== 0 || src === 31) return { k: 'unknown', why: `${name} copied from ${src === 31 ? 'xzr' : `x${src}`}` };
      t = src;
      name = `${orig} (copied from x${src})`;
      continue;
    }
    const e = effect(w, t);
    if (e === 'none') continue;
    if (e === 'stop') return { k: 'unknown', why: 'no straight-line path to the site (unconditional branch before it)' };
    if (e === 'call') {
      if (calleeSaved(t)) continue;
      return { k: 'unknown', why: `${name} clobbered by a call before the site` };
    }
    return { k: 'unknown', why: `${name} written by an instruction that is not a constant move` };
  }
}

/** Effect of one instruction on the tracked register R when it is not one of the moves recognised above. */
function effect(w: number, R: number): 'none' | 'stop' | 'call' | 'write' {
  const op0 = (w >>> 25) & 0xf;
  const rt = w & 31;
  if ((op0 & 0b1110) === 0b1010) {
    // Branches, exceptions, system.
    if ((w & 0x7c000000) === 0x14000000) return (w & 0x80000000) !== 0 ? 'call' : 'stop'; // BL / B
    if ((w & 0xfe000000) === (0xd6000000 | 0)) return ((w >>> 21) & 0xf) === 1 ? 'call' : 'stop'; // BLR vs BR/RET/ERET
    if ((w & 0xff000010) === 0x54000000) return 'none'; // B.cond
    if ((w & 0x7e000000) === 0x34000000 || (w & 0x7e000000) === 0x36000000) return 'none'; // CBZ/TBZ
    if ((w & 0xffe0001f) === (0xd4000001 | 0)) return R === 0 ? 'write' : 'none'; // svc returns in x0
    if ((w & 0xff000000) === (0xd4000000 | 0)) return 'stop'; // brk, hlt, hvc, smc
    if ((w & 0xfff00000) === (0xd5300000 | 0) || (w & 0xfff80000) === (0xd5280000 | 0)) return rt === R ? 'write' : 'none'; // MRS, SYSL
    if ((w & 0xffc00000) === (0xd5000000 | 0)) return 'none'; // hints, barriers, msr, sys
    return rt === R ? 'write' : 'none';
  }
  if ((op0 & 0b0101) === 0b0100) {
    // Loads and stores.
    const v = (w >>> 26) & 1;
    const rn = (w >>> 5) & 31;
    const cls = (w >>> 27) & 7;
    if (cls === 0b101) {
      // Pair.
      const load = (w >>> 22) & 1;
      const idx = (w >>> 23) & 3;
      const wb = idx === 1 || idx === 3;
      if (wb && rn === R) return 'write';
      if (load && !v && (rt === R || ((w >>> 10) & 31) === R)) return 'write';
      return 'none';
    }
    if (cls === 0b111) {
      const opc = (w >>> 22) & 3;
      const atomic = ((w >>> 24) & 1) === 0 && ((w >>> 21) & 1) === 1 && ((w >>> 10) & 3) === 0;
      const wb = ((w >>> 24) & 1) === 0 && ((w >>> 21) & 1) === 0 && ((w >>> 10) & 1) === 1;
      if (wb && rn === R) return 'write';
      if (v) return 'none';
      if (atomic) return rt === R ? 'write' : 'none';
      return opc !== 0 && rt === R ? 'write' : 'none';
    }
    // Literal loads, exclusives, others: conservative.
    if (rt === R || ((w >>> 10) & 31) === R || ((w >>> 16) & 31) === R) return 'write';
    return 'none';
  }
  if (op0 === 0) return 'write'; // udf / unallocated: be conservative
  // Data processing (immediate, register, SIMD&FP): Rd in bits 0-4.
  return rt === R ? 'write' : 'none';
}

/** Byte offset of a direct branch target relative to the branch, or undefined. */
function branchTarget(w: number): number | undefined {
  if ((w & 0xfc000000) === 0x14000000) return ((w << 6) >> 6) * 4; // B (calls are not join points)
  if ((w & 0xff000010) === 0x54000000 || (w & 0x7e000000) === 0x34000000) return ((w << 8) >> 13) * 4; // B.cond, CBZ
  if ((w & 0x7e000000) === 0x36000000) return ((w << 13) >> 18) * 4; // TBZ
  return undefined;
}

function dataRanges(ctx: ScanContext, region: ElfExecRegion): [number, number][] {
  const out: [number, number][] = [];
  const ms = ctx.elf.mappingSymbols.filter(
    (m) => m.addr >= region.addr && m.addr < region.addr + region.size && (ctx.elf.type !== 'rel' || m.shndx === region.shndx),
  );
  for (let i = 0; i < ms.length; i++) {
    if (ms[i]!.kind === 'd') out.push([ms[i]!.addr, ms[i + 1]?.addr ?? region.addr + region.size]);
  }
  return out;
}

function inData(ranges: [number, number][], addr: number): boolean {
  for (const [a, b] of ranges) if (addr >= a && addr < b) return true;
  return false;
}
