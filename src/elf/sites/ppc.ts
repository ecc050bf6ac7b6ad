/**
 * PowerPC (32- and 64-bit, either endianness): `sc` or `scv 0` with the number in r0 (`li r0,N`).
 *
 * 64-bit glibc (2.34+) chooses between `scv 0` (POWER9's vectored call) and `sc` at run time:
 * `li r0,N; ...; beq 1f; ld; andis.; beq 1f; scv 0; b 2f; 1: sc; 2:`. Both instructions enter the
 * kernel, and the `sc` is a join point, so the number is recovered on every path into it (a set
 * of constants when the paths differ: each is called).
 */
import type { ElfExecRegion, SyscallSite } from '../types.ts';
import { Bits, JOIN, MAX_JOINS, MAX_PATHS, mergePaths, pushFixedWidthSites, WINDOW, type Recovered, type ScanContext } from './common.ts';

/** Bytes of `sc` and `scv 0` (every PowerPC instruction is 4). */
export const PPC_TRAP_LENGTH = 4;

const SC = 0x44000002;
/** scv 0: LEV 0 only (other levels are reserved for the hypervisor and firmware). */
const SCV0 = 0x44000001;
const NOP = 0x60000000; // ori r0,r0,0
// X-form stores under primary opcode 31 (extended opcode in bits 1-10): they only write RA on update.
const STORES31 = new Set([
  151, 183, 215, 247, 407, 439, 149, 181, 662, 918, 150, 214, 694, 726, 663, 695, 727, 759, 983, 660, 1014, 982, 86, 54, 278, 246, 470,
]);
// Opcode 31 forms that write no GPR: cmp, cmpl, tw, td, mtspr, mtcrf, mtmsr, sync, eieio, wait.
const NOWRITE31 = new Set([0, 32, 4, 68, 467, 144, 146, 178, 598, 854, 62]);

export function scanPpc(ctx: ScanContext, region: ElfExecRegion, out: SyscallSite[]): void {
  const { sites, targets } = ppcIndex(ctx, region);
  pushFixedWidthSites(ctx, region, sites, targets, 'ppc', 'sc', (c, r, i, lowest, fIdx) => ppcValueBefore(c, r, i, lowest, fIdx, 0), out);
}

interface PpcIndex {
  /** Word indexes of sc and scv 0. */
  sites: number[];
  targets: Bits;
  /** Word index of a branch target -> word indexes of the (non-linking, relative) branches to it. */
  sources: Map<number, number[]>;
}

/** One pass over a region: its system calls and its direct branches, by target. */
export function ppcIndex(ctx: ScanContext, region: ElfExecRegion): PpcIndex {
  return ctx.memo(region, 'ppc', () => {
    const { dv, le } = ctx;
    const base = region.offset;
    const n = region.size >>> 2;
    const sites: number[] = [];
    const targets = new Bits(region.size, 2);
    const sources = new Map<number, number[]>();
    const branchTo = (i: number, to: number) => {
      targets.set(to * 4);
      const list = sources.get(to);
      if (list) list.push(i);
      else sources.set(to, [i]);
    };
    for (let i = 0; i < n; i++) {
      const w = dv.getUint32(base + i * 4, le);
      if (w === SC || w === SCV0) {
        sites.push(i);
        continue;
      }
      const op = w >>> 26;
      if (op === 18 && (w & 3) === 0) branchTo(i, i + ((w << 6) >> 8));
      else if (op === 16 && (w & 3) === 0) branchTo(i, i + ((w << 16) >> 18));
    }
    return { sites, targets, sources };
  });
}

/**
 * The one backwards register tracker of PowerPC: the constant register r`reg` (r0 for a site's
 * number, r3 for syscall()'s first argument) holds when control reaches word i, walking back to
 * `lowest` (the function's first word `fIdx`, or the window). `li` gives the value; `mr` is
 * followed; at a join point every predecessor is followed (within a budget) and must agree.
 * Reaching the function's start tracking r3 is `arg`: the caller chose it.
 */
export function ppcValueBefore(ctx: ScanContext, region: ElfExecRegion, i: number, lowest: number, fIdx: number, reg: number): Recovered {
  const { targets, sources } = ppcIndex(ctx, region);
  const budget = { joins: MAX_JOINS, paths: MAX_PATHS };
  const f = ctx.funcs.at(region.addr + i * 4, ctx.key(region));
  const [lo, hi] = f && fIdx >= 0 ? [fIdx, Math.ceil((f.end - region.addr) / 4)] : [i - WINDOW, i + WINDOW];
  return walk(ctx, region, { lo, hi, lowest, fIdx, targets, sources, budget, orig: `r${reg}` }, i, true, reg, `r${reg}`);
}

/** Whether the instruction word never falls through to the next one (b, unconditional bc, blr, bctr, rfid). */
function neverFallsThrough(w: number): boolean {
  const op = w >>> 26;
  if (op === 18) return (w & 1) === 0;
  const bo = (w >>> 21) & 31;
  if (op === 16) return (w & 1) === 0 && (bo & 0x14) === 0x14;
  if (op === 19) {
    const xo = (w >>> 1) & 0x3ff;
    if (xo === 16 || xo === 528 || xo === 560) return (w & 1) === 0 && (bo & 0x14) === 0x14;
    return xo === 18; // rfid
  }
  return false;
}

/**
 * The value of the number register at word `i`, walking back from it. At a join point every
 * predecessor (the fall-through and each branch to it) is followed, within the function and a
 * bounded budget; the answer is the constant, or the set of constants, when every path gives one.
 */
interface Walk {
  /** Word indexes [lo, hi) branches into a join point may come from: the function, or the window around the site. */
  lo: number;
  hi: number;
  lowest: number;
  fIdx: number;
  targets: Bits;
  sources: Map<number, number[]>;
  budget: { joins: number; paths: number };
  /** The register tracked from the site, for the reasons. */
  orig: string;
}

/** Walks back from word `from` (control stands there; `joinAtStart`: it may be a join point) tracking rT = `t0`. */
function walk(ctx: ScanContext, region: ElfExecRegion, w0: Walk, from: number, joinAtStart: boolean, t0: number, name0: string): Recovered {
  const { dv, le } = ctx;
  const { lowest, fIdx, targets, sources, budget } = w0;
  let t = t0;
  let name = name0;
  const lost = (): Recovered => ({ k: 'unknown', why: `${name} written by an instruction that is not li` });
  for (let cur = from; ; cur--) {
    const j = cur - 1;
    if ((cur !== from || joinAtStart) && targets.has(cur * 4)) {
      // A join point between the site and the setter: every way into `cur` must agree.
      if (--budget.joins < 0) return { k: 'unknown', why: JOIN };
      const preds = [...(sources.get(cur) ?? [])];
      // Alignment nops after an unconditional branch are unreachable unless branched to: skip them.
      let k = j;
      while (k >= 0 && dv.getUint32(region.offset + k * 4, le) === NOP && !targets.has(k * 4)) k--;
      const fallsIn = k >= 0 && !neverFallsThrough(dv.getUint32(region.offset + k * 4, le));
      const paths: Recovered[] = [];
      for (const s of preds) {
        // Only branches from within the function (or the window, without symbols). One placed
        // after the site is walked back like any other: a path through the site itself (a loop)
        // meets its sc or call there, which ends it unresolved.
        if (s < w0.lo || s >= w0.hi) return { k: 'unknown', why: JOIN };
        if (--budget.paths < 0) return { k: 'unknown', why: JOIN };
        // Control stands before the branch at s (which writes no GPR): walk on from there, with a
        // look-back window of its own (out-of-line blocks sit far from the code that branches there).
        paths.push(walk(ctx, region, { ...w0, lowest: Math.max(0, s - WINDOW, fIdx) }, s, true, t, name));
      }
      if (fallsIn) paths.push(walk(ctx, region, w0, cur, false, t, name));
      return mergePaths(paths);
    }
    if (j < lowest) {
      if (j < fIdx && fIdx === lowest) {
        if (t === 3) return { k: 'arg', why: `${name}: the number comes from the caller (first argument)` };
        return { k: 'unknown', why: `${name} not set in the function before the site` };
      }
      return { k: 'unknown', why: `${name} not set before the site within the scanned code` };
    }
    const w = dv.getUint32(region.offset + j * 4, le);
    const op = w >>> 26;
    const rt = (w >>> 21) & 31;
    const ra = (w >>> 16) & 31;
    if (op === 14 && rt === t) {
      // addi rT,rA,N; li rT,N when rA is 0
      return ra === 0 ? { k: 'const', v: (w << 16) >> 16 } : { k: 'unknown', why: `${name} computed by addi` };
    }
    if (op === 31 && (w & 0x7fe) === 0x378 && ra === t && rt === ((w >>> 11) & 31)) {
      // mr rA,rS
      if (rt === 1) return { k: 'unknown', why: `${name} copied from r1` };
      t = rt;
      name = `${w0.orig} (copied from r${rt})`;
      continue;
    }
    if (w === NOP) continue;
    if (op === 46 && rt <= t) return lost(); // lmw writes rT..r31
    switch (op) {
      case 18: // b / bl
        if (w & 1) {
          if (t >= 14) continue; // non-volatile
          return { k: 'unknown', why: `${name} clobbered by a call before the site` };
        }
        return { k: 'unknown', why: 'no straight-line path to the site (unconditional branch before it)' };
      case 16: // bc
      case 19: {
        if (op === 19) {
          const xo = (w >>> 1) & 0x3ff;
          if (xo !== 16 && xo !== 528 && xo !== 560) continue; // CR logical ops, isync
        }
        if (w & 1) {
          if (t >= 14) continue;
          return { k: 'unknown', why: `${name} clobbered by a call before the site` };
        }
        if ((rt & 0x14) === 0x14) return { k: 'unknown', why: 'no straight-line path to the site (unconditional branch before it)' };
        continue;
      }
      case 17:
        if (t === 0 || (t >= 3 && t <= 12)) return { k: 'unknown', why: `${name} clobbered by an earlier sc` };
        continue;
      // D-form writers of RT.
      case 7:
      case 8:
      case 12:
      case 13:
      case 14:
      case 15:
      case 32:
      case 33:
      case 34:
      case 35:
      case 40:
      case 41:
      case 42:
      case 43:
      case 46:
      case 56:
      case 58:
        if (rt === t) return lost();
        continue;
      // Writers of RA.
      case 20:
      case 21:
      case 23:
      case 24:
      case 25:
      case 26:
      case 27:
      case 28:
      case 29:
      case 30:
        if (ra === t) return lost();
        continue;
      // Stores (update forms write RA, never r0), FP loads/stores, compares, traps, vector, FP arith.
      case 2:
      case 3:
      case 4:
      case 10:
      case 11:
      case 36:
      case 37:
      case 38:
      case 39:
      case 44:
      case 45:
      case 47:
      case 48:
      case 49:
      case 50:
      case 51:
      case 52:
      case 53:
      case 54:
      case 55:
      case 59:
      case 60:
      case 61:
      case 62:
      case 63:
        continue;
      case 31: {
        const xo = (w >>> 1) & 0x3ff;
        if (STORES31.has(xo) || NOWRITE31.has(xo)) continue;
        if (rt === t || ra === t) return lost();
        continue;
      }
      default:
        return { k: 'unknown', why: 'an instruction before the site could not be classified' };
    }
  }
}
