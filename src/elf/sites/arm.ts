/**
 * 32-bit ARM, A32 and Thumb-2.
 *
 * - `svc` with the number in r7 (`mov r7,#N`, `movs`, `movw`[+`movt`], `mov.w`, `ldr r7,[pc,#..]`);
 *   OABI `svc #0x9000NN` carries the number in the instruction.
 * - glibc's Thumb syscalls `bl __libc_do_syscall` with the number in ip (r12); the svc inside
 *   __libc_do_syscall itself is reported unresolved.
 * - `mov r7, r0` before the svc (the syscall() wrapper) gives kind `syscall_wrapper`.
 * - At a branch target between the site and the setter, every branch to it (of the same
 *   instruction set, within the function) and the fall-through are followed (a set of
 *   constants when they differ).
 *
 * The instruction set of each byte comes from mapping symbols ($a/$t/$d) when present, else from
 * function symbols (bit 0 of st_value), else from the entry point's bit 0.
 */
import type { ElfExecRegion, SiteIsa, SiteKind, SyscallSite } from '../types.ts';
import { Bits, type Func, JOIN, MAX_JOINS, MAX_PATHS, mergePaths, type Recovered, type ScanContext, WINDOW } from './common.ts';

type Mode = 'a' | 't' | 'd';
interface Range {
  start: number;
  end: number;
  mode: Mode;
}

/** Bytes of an A32 `svc` and of a `bl` into __libc_do_syscall (A32 or Thumb-2). */
export const ARM_TRAP_LENGTH = 4;
/** Bytes of a Thumb `svc` (16-bit encoding). */
export const THUMB_TRAP_LENGTH = 2;

const R7 = 7;
const IP = 12;
/** AAPCS callee-saved registers survive a call. */
const calleeSaved = (r: number): boolean => r >= 4 && r <= 11;

export function scanArm(ctx: ScanContext, region: ElfExecRegion, out: SyscallSite[]): void {
  const index = armIndex(ctx, region);
  const { ranges, sweeps, mapped } = index;
  const key = ctx.key(region);
  const doSyscall = ctx.funcs.byNameLookup('__libc_do_syscall');
  let doSyscallAddr = doSyscall && ctx.elf.type !== 'rel' ? doSyscall.start : undefined;

  // Pass 1: find the sites over the decoded ranges (Thumb swept per range, for its instruction boundaries).
  interface Pending {
    addr: number;
    isa: SiteIsa;
    kind: SiteKind;
    reg: number;
    /** index into starts[] (Thumb) or -1 (ARM: word index via addr) */
    idx: number;
    /** Start of the mode range holding the site. */
    rangeStart: number;
    thumbRange?: ThumbSweep;
    oabi?: number;
  }
  const pending: Pending[] = [];
  const { dv, le } = ctx;
  let thumbs = 0;
  for (const r of ranges) {
    if (r.mode === 'd') continue;
    if (r.mode === 'a') {
      const first = Math.ceil((r.start - region.addr) / 4) * 4;
      for (let o = first; o + 4 <= r.end - region.addr; o += 4) {
        const w = dv.getUint32(region.offset + o, le);
        const cond = w >>> 28;
        if ((w & 0x0f000000) === 0x0f000000 && cond !== 0xf) {
          const imm = w & 0xffffff;
          // Without mapping symbols, literal pools are indistinguishable from code: only accept the
          // encodings Linux toolchains emit (svc 0, and OABI svc 0x9000NN in ARM state).
          if (!mapped && imm !== 0 && !(imm >= 0x900000 && imm < 0xa00000)) continue;
          const s: Pending = { addr: region.addr + o, isa: 'arm', kind: 'svc', reg: R7, idx: -1, rangeStart: r.start };
          if (imm >= 0x900000 && imm < 0xa00000) s.oabi = imm - 0x900000;
          pending.push(s);
        }
      }
    } else {
      const sw = sweeps[thumbs++]!;
      for (let k = 0; k < sw.count; k++) {
        const o = sw.starts[k]!;
        const h = dv.getUint16(region.offset + o, le);
        if ((h & 0xff00) === 0xdf00 && (mapped || h === 0xdf00)) {
          pending.push({ addr: region.addr + o, isa: 'thumb', kind: 'svc', reg: R7, idx: k, thumbRange: sw, rangeStart: r.start });
          // Without symbols, recognise glibc's __libc_do_syscall by its body: push {r7, lr}; mov r7, ip; svc 0
          if (
            doSyscallAddr === undefined &&
            ctx.elf.type !== 'rel' &&
            k >= 2 &&
            sw.starts[k - 2] === o - 4 &&
            dv.getUint16(region.offset + o - 4, le) === 0xb580 &&
            dv.getUint16(region.offset + o - 2, le) === 0x4667
          ) {
            doSyscallAddr = region.addr + o - 4;
          }
        }
      }
    }
  }

  // Calls to __libc_do_syscall.
  if (doSyscallAddr !== undefined) {
    let sweepIdx = 0;
    for (const r of ranges) {
      if (r.mode === 'a') {
        const first = Math.ceil((r.start - region.addr) / 4) * 4;
        for (let o = first; o + 4 <= r.end - region.addr; o += 4) {
          const w = dv.getUint32(region.offset + o, le);
          if ((w & 0x0f000000) === 0x0b000000 && w >>> 28 !== 0xf && region.addr + o + 8 + ((w << 8) >> 6) === doSyscallAddr) {
            pending.push({ addr: region.addr + o, isa: 'arm', kind: 'libc_do_syscall', reg: IP, idx: -1, rangeStart: r.start });
          }
        }
      } else if (r.mode === 't') {
        const sw = sweeps[sweepIdx++]!;
        for (let k = 0; k < sw.count; k++) {
          const o = sw.starts[k]!;
          const h = dv.getUint16(region.offset + o, le);
          if ((h & 0xf800) !== 0xf000 || o + 4 > region.size) continue;
          const h2 = dv.getUint16(region.offset + o + 2, le);
          if (((h2 & 0xd000) === 0xd000 || (h2 & 0xd001) === 0xc000) && thumbBlTarget(region.addr + o, h, h2) === doSyscallAddr) {
            pending.push({ addr: region.addr + o, isa: 'thumb', kind: 'libc_do_syscall', reg: IP, idx: k, thumbRange: sw, rangeStart: r.start });
          }
        }
      }
    }
  }

  for (const p of pending) {
    let rec: Recovered;
    const f = ctx.funcs.at(p.addr, key);
    if (p.oabi !== undefined) rec = { k: 'const', v: p.oabi };
    else if (p.thumbRange) rec = recoverThumb(ctx, region, index, p.thumbRange, p.idx, p.reg, f);
    else rec = recoverArm(ctx, region, index, (p.addr - region.addr) / 4, p.reg, f, Math.ceil((p.rangeStart - region.addr) / 4));
    if (p.kind === 'svc' && (f?.name === '__libc_do_syscall' || (p.addr - 4 === doSyscallAddr && !f)) && rec.k !== 'const') {
      rec = { k: 'unknown', why: 'number passed in ip by the callers of __libc_do_syscall (listed as libc_do_syscall sites)' };
    }
    out.push(...ctx.sites(region, p.addr, p.isa, p.kind, rec));
  }
}

interface ArmIndex {
  ranges: Range[];
  /** The sweep of each Thumb range, in order. */
  sweeps: ThumbSweep[];
  /** Direct branch targets (calls are not join points). */
  targets: Bits;
  /** Branch target -> the direct branches to it (region offsets), per instruction set of the branch. */
  sources: { a32: Map<number, number[]>; thumb: Map<number, number[]> };
  /** Whether the region has mapping symbols (else literal pools look like code). */
  mapped: boolean;
}

/** One pass over a region: its mode ranges, the sweep of each Thumb range, and the branch targets. */
export function armIndex(ctx: ScanContext, region: ElfExecRegion): ArmIndex {
  return ctx.memo(region, 'arm', () => {
    const ranges = modeRanges(ctx, region);
    const mapped = ctx.elf.mappingSymbols.some((m) => m.addr >= region.addr && m.addr < region.addr + region.size);
    const targets = new Bits(region.size, 1);
    const sources = { a32: new Map<number, number[]>(), thumb: new Map<number, number[]>() };
    const branchFrom = (set: Map<number, number[]>) => (from: number, to: number) => {
      targets.set(to);
      const list = set.get(to);
      if (list) list.push(from);
      else set.set(to, [from]);
    };
    const a32To = branchFrom(sources.a32);
    const thumbTo = branchFrom(sources.thumb);
    const sweeps: ThumbSweep[] = [];
    const { dv, le } = ctx;
    for (const r of ranges) {
      if (r.mode === 'd') continue;
      if (r.mode === 't') {
        sweeps.push(sweepThumb(ctx, region, r, thumbTo));
        continue;
      }
      const first = Math.ceil((r.start - region.addr) / 4) * 4;
      for (let o = first; o + 4 <= r.end - region.addr; o += 4) {
        const w = dv.getUint32(region.offset + o, le);
        const cond = w >>> 28;
        if ((w & 0x0f000000) === 0x0f000000 && cond !== 0xf) continue; // svc
        if ((w & 0x0e000000) === 0x0a000000) {
          const t = o + 8 + ((w << 8) >> 6);
          if (cond !== 0xf && !(w & 0x01000000)) a32To(o, t); // calls are not join points
        }
      }
    }
    return { ranges, sweeps, targets, sources, mapped };
  });
}

/**
 * What register `reg` holds when control reaches the instruction at `addr` (A32, or Thumb when
 * `thumb`), by the one tracker of each instruction set (recoverArm, recoverThumb) over the
 * region's index; undefined when no instruction of that set starts there (data, the other set,
 * or inside a wider instruction).
 */
export function armValueBefore(ctx: ScanContext, region: ElfExecRegion, addr: number, thumb: boolean, reg: number): Recovered | undefined {
  const index = armIndex(ctx, region);
  const { ranges, sweeps } = index;
  const f = ctx.funcs.at(addr, ctx.key(region));
  const off = addr - region.addr;
  let t = 0;
  for (const r of ranges) {
    if (r.mode === 'd') continue;
    const sw = r.mode === 't' ? sweeps[t++]! : undefined;
    if (addr < r.start || addr >= r.end) continue;
    if (thumb !== (r.mode === 't')) return undefined;
    if (!sw) return off % 4 === 0 ? recoverArm(ctx, region, index, off / 4, reg, f, Math.ceil((r.start - region.addr) / 4)) : undefined;
    const k = thumbIndex(sw, off);
    return k >= 0 ? recoverThumb(ctx, region, index, sw, k, reg, f) : undefined;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Mode ranges

function modeRanges(ctx: ScanContext, region: ElfExecRegion): Range[] {
  const lo = region.addr;
  const hi = region.addr + region.size;
  const rel = ctx.elf.type === 'rel';
  const ms = ctx.elf.mappingSymbols.filter((m) => m.addr >= lo && m.addr < hi && (!rel || m.shndx === region.shndx) && m.kind !== 'x');
  const funcs = ctx.funcs.list(ctx.key(region)).filter((f) => f.start >= lo && f.start < hi);
  const thumbs = funcs.filter((f) => f.thumb).length;
  const fallback: Mode = funcs.length > 0 ? (thumbs * 2 >= funcs.length ? 't' : 'a') : ctx.elf.entry & 1 ? 't' : 'a';
  const out: Range[] = [];
  if (ms.length > 0) {
    if (ms[0]!.addr > lo) out.push({ start: lo, end: ms[0]!.addr, mode: fallback });
    for (let i = 0; i < ms.length; i++) {
      const end = ms[i + 1]?.addr ?? hi;
      if (end > ms[i]!.addr) out.push({ start: ms[i]!.addr, end, mode: ms[i]!.kind as Mode });
    }
    return out;
  }
  if (funcs.length > 0) {
    let at = lo;
    for (let i = 0; i < funcs.length; i++) {
      const f = funcs[i]!;
      if (f.start < at) continue;
      if (f.start > at) out.push({ start: at, end: f.start, mode: fallback });
      const end = Math.min(f.end, funcs[i + 1]?.start ?? hi, hi);
      out.push({ start: f.start, end, mode: f.thumb ? 't' : 'a' });
      at = end;
    }
    if (at < hi) out.push({ start: at, end: hi, mode: fallback });
    return out;
  }
  return [{ start: lo, end: hi, mode: fallback }];
}

// ---------------------------------------------------------------------------------------------
// A32

export function armExpandImm(imm12: number): number {
  const rot = ((imm12 >>> 8) & 0xf) * 2;
  const v = imm12 & 0xff;
  return rot === 0 ? v : ((v >>> rot) | (v << (32 - rot))) >>> 0;
}

/**
 * The A32 tracker: the constant register `orig` holds at word i (r7 or ip for a site, r0 for
 * syscall()'s first argument), walking back within the function `f` and the mode range.
 */
function recoverArm(ctx: ScanContext, region: ElfExecRegion, index: ArmIndex, i: number, orig: number, f: Func | undefined, rangeStart: number): Recovered {
  const fIdx = Math.ceil(((f ? f.start : -Infinity) - region.addr) / 4);
  const [lo, hi] = f ? [f.start - region.addr, f.end - region.addr] : [(i - WINDOW) * 4, (i + WINDOW) * 4];
  const w: ArmWalk = { ctx, region, index, orig, lo, hi, budget: { joins: MAX_JOINS, paths: MAX_PATHS } };
  return walkArm(w, i, true, Math.max(0, i - WINDOW, rangeStart, fIdx), fIdx, rangeStart, orig);
}

/** One backward walk of either instruction set: the region's index, the tracked register, and the bounds branches into a join may come from. */
interface ArmWalk {
  ctx: ScanContext;
  region: ElfExecRegion;
  index: ArmIndex;
  orig: number;
  /** Region offsets [lo, hi) branches into a join point may come from: the function, or the window. */
  lo: number;
  hi: number;
  budget: { joins: number; paths: number };
}

/** A32: walks back from word `from` (control stands there; `joinAtStart`: it may be a join point) to `lowest`, tracking `reg0`. */
function walkArm(wk: ArmWalk, from: number, joinAtStart: boolean, lowest: number, fIdx: number, rangeStart: number, reg0: number): Recovered {
  const { ctx, region, orig } = wk;
  const { dv, le } = ctx;
  const { targets, sources } = wk.index;
  let reg = reg0;
  let name = reg === orig ? regName(reg) : `${regName(orig)} (copied from ${regName(reg)})`;
  let high: number | undefined; // from movt
  for (let cur = from; ; cur--) {
    const j = cur - 1;
    if (j < lowest) return atStart(reg, orig, j < fIdx && fIdx === lowest);
    if ((cur !== from || joinAtStart) && targets.has(cur * 4)) {
      // A join point: each A32 branch to it from within the function, and the fall-through.
      if (high !== undefined || --wk.budget.joins < 0) return { k: 'unknown', why: JOIN };
      const paths: Recovered[] = [];
      // A Thumb branch here (no plain branch changes the instruction set) says the ranges are wrong.
      if (sources.thumb.has(cur * 4)) return { k: 'unknown', why: JOIN };
      for (const s of sources.a32.get(cur * 4) ?? []) {
        if (s < wk.lo || s >= wk.hi || s % 4 !== 0 || s / 4 < rangeStart || --wk.budget.paths < 0) return { k: 'unknown', why: JOIN };
        paths.push(walkArm(wk, s / 4, true, Math.max(0, s / 4 - WINDOW, rangeStart, fIdx), fIdx, rangeStart, reg));
      }
      let q = j;
      while (q >= lowest && A32_NOPS.has(dv.getUint32(region.offset + q * 4, le)) && !targets.has(q * 4)) q--;
      const pw = q >= 0 ? dv.getUint32(region.offset + q * 4, le) : 0;
      if (q >= 0 && !(pw >>> 28 === 0xe && armEffect(pw, reg) === 'branch')) paths.push(walkArm(wk, cur, false, lowest, fIdx, rangeStart, reg));
      return mergePaths(paths);
    }
    const o = j * 4;
    const w = dv.getUint32(region.offset + o, le);
    const cond = w >>> 28;
    const addr = region.addr + o;
    if (cond === 0xf) {
      if ((w & 0xfe000000) === (0xfa000000 | 0)) {
        if (calleeSaved(reg)) continue;
        return { k: 'unknown', why: `${name} clobbered by a call before the site` };
      }
      continue;
    }
    const rd = (w >>> 12) & 0xf;
    const always = cond === 0xe;
    // Recognised writers of the register.
    if ((w & 0x0fef0000) === 0x03a00000 && rd === reg) {
      if (!always) return { k: 'unknown', why: `${name} set conditionally` };
      return withHigh(armExpandImm(w & 0xfff), high);
    }
    if ((w & 0x0ff00000) === 0x03000000 && rd === reg) {
      if (!always) return { k: 'unknown', why: `${name} set conditionally` };
      const lo16 = ((w >>> 4) & 0xf000) | (w & 0xfff);
      return { k: 'const', v: high !== undefined ? high * 0x10000 + lo16 : lo16 };
    }
    if ((w & 0x0ff00000) === 0x03400000 && rd === reg) {
      if (!always || high !== undefined) return { k: 'unknown', why: `${name} set by movt` };
      high = ((w >>> 4) & 0xf000) | (w & 0xfff);
      continue;
    }
    if ((w & 0x0fef0ff0) === 0x01a00000 && rd === reg) {
      if (!always) return { k: 'unknown', why: `${name} set conditionally` };
      if (high !== undefined || (w & 0xf) >= 13) return { k: 'unknown', why: `${name} copied from ${regName(w & 0xf)}` };
      reg = w & 0xf;
      name = `${regName(orig)} (copied from ${regName(reg)})`;
      continue;
    }
    if ((w & 0x0f7f0000) === 0x051f0000 && rd === reg) {
      if (!always) return { k: 'unknown', why: `${name} set conditionally` };
      const off = w & 0xfff;
      const lit = ctx.word32(addr + 8 + (w & 0x00800000 ? off : -off), region);
      if (lit === undefined) return { k: 'unknown', why: `${name} loaded from a literal outside the code` };
      return withHigh(lit, high);
    }
    const e = armEffect(w, reg);
    if (e === 'none') continue;
    if (e === 'branch') {
      if (!always) continue;
      return { k: 'unknown', why: 'no straight-line path to the site (unconditional branch before it)' };
    }
    if (e === 'call') {
      if (calleeSaved(reg)) continue;
      return { k: 'unknown', why: `${name} clobbered by a call before the site` };
    }
    return { k: 'unknown', why: `${name} written by an instruction that is not a constant move` };
  }
}

/** A value written before a movt of the same register: movt replaces the top half. */
function withHigh(v: number, high: number | undefined): Recovered {
  if (high !== undefined) return { k: 'const', v: high * 0x10000 + (v & 0xffff) };
  return { k: 'const', v };
}

const regName = (r: number): string => (r === IP ? 'ip' : r === 13 ? 'sp' : r === 14 ? 'lr' : r === 15 ? 'pc' : `r${r}`);

/** End of a backward walk at the function start (or the scan limit) while tracking `reg`. */
function atStart(reg: number, orig: number, atFunctionStart: boolean): Recovered {
  const what = reg === orig ? regName(reg) : `${regName(orig)} (copied from ${regName(reg)})`;
  if (atFunctionStart && reg === 0) return { k: 'arg', why: `${what}: the number comes from the caller (first argument)` };
  if (atFunctionStart) return { k: 'unknown', why: `${what} not set in the function before the site` };
  return { k: 'unknown', why: `${what} not set before the site within the scanned code` };
}

/** Effect of an A32 instruction on `reg` (other than the recognised constant moves). */
function armEffect(w: number, reg: number): 'none' | 'branch' | 'call' | 'write' {
  const rd = (w >>> 12) & 0xf;
  const rn = (w >>> 16) & 0xf;
  const top = (w >>> 25) & 7;
  if (top === 0b101) return w & 0x01000000 ? 'call' : 'branch';
  if ((w & 0x0ffffff0) === 0x012fff10) return 'branch'; // bx
  if ((w & 0x0ffffff0) === 0x012fff30) return 'call'; // blx reg
  if ((w & 0x0f000000) === 0x0f000000) return 'none'; // svc: the kernel preserves r1-r14
  if (top === 0b000 || top === 0b001) {
    if (top === 0b000 && (w & 0x90) === 0x90) {
      // Multiply, swap, exclusive, extra loads/stores: conservative.
      return rd === reg || rn === reg ? 'write' : 'none';
    }
    if (top === 0b000 && (w & 0x01900000) === 0x01000000) {
      // Miscellaneous (mrs, clz, bkpt...): conservative.
      return rd === reg ? 'write' : 'none';
    }
    const opc = (w >>> 21) & 0xf;
    if (opc >= 8 && opc <= 11) return w & 0x00100000 ? 'none' : rd === reg ? 'write' : 'none'; // tst/teq/cmp/cmn
    if (rd === 15) return 'branch';
    return rd === reg ? 'write' : 'none';
  }
  if (top === 0b010 || top === 0b011) {
    if (top === 0b011 && w & 0x10) return rd === reg || rn === reg ? 'write' : 'none'; // media
    const load = (w & 0x00100000) !== 0;
    const wb = (w & 0x01000000) === 0 || (w & 0x00200000) !== 0;
    if (wb && rn === reg) return 'write';
    if (load && rd === 15) return 'branch';
    return load && rd === reg ? 'write' : 'none';
  }
  if (top === 0b100) {
    const load = (w & 0x00100000) !== 0;
    if (w & 0x00200000 && rn === reg) return 'write';
    if (load && w & 0x8000) return 'branch';
    return load && w & (1 << reg) ? 'write' : 'none';
  }
  // Coprocessor / VFP transfers: conservative.
  return rd === reg || rn === reg ? 'write' : 'none';
}

// ---------------------------------------------------------------------------------------------
// Thumb

interface ThumbSweep {
  /** Region-relative offsets of instruction starts. */
  starts: Int32Array;
  /** 1 when the instruction is inside an IT block (conditional). */
  cond: Uint8Array;
  count: number;
  rangeStart: number;
}

function sweepThumb(ctx: ScanContext, region: ElfExecRegion, r: Range, branchTo: (from: number, to: number) => void): ThumbSweep {
  const { dv, le } = ctx;
  const start = Math.ceil((r.start - region.addr) / 2) * 2;
  const end = r.end - region.addr;
  const cap = Math.max(0, (end - start) >> 1);
  const starts = new Int32Array(cap);
  const cond = new Uint8Array(cap);
  let count = 0;
  let it = 0; // remaining instructions in an IT block
  for (let o = start; o + 2 <= end; ) {
    const h = dv.getUint16(region.offset + o, le);
    starts[count] = o;
    if (it > 0) {
      cond[count] = 1;
      it--;
    }
    count++;
    const wide = (h & 0xe000) === 0xe000 && (h & 0x1800) !== 0;
    if (wide) {
      if (o + 4 > end) break;
      const h2 = dv.getUint16(region.offset + o + 2, le);
      if ((h & 0xf800) === 0xf000 && ((h2 & 0xd000) === 0x8000 || (h2 & 0xd000) === 0x9000)) {
        const t = thumbBranchOffset(h, h2);
        if (t !== undefined) branchTo(o, o + 4 + t);
      }
      o += 4;
    } else {
      if ((h & 0xf000) === 0xd000 && ((h >>> 8) & 0xf) < 0xe) branchTo(o, o + 4 + (((h & 0xff) << 24) >> 23));
      else if ((h & 0xf800) === 0xe000) branchTo(o, o + 4 + (((h & 0x7ff) << 21) >> 20));
      else if ((h & 0xf500) === 0xb100) branchTo(o, o + 4 + ((((h >>> 9) & 1) << 6) | (((h >>> 3) & 0x1f) << 1)));
      else if ((h & 0xff00) === 0xbf00 && (h & 0xf) !== 0) {
        const m = h & 0xf;
        it = m & 1 ? 4 : m & 2 ? 3 : m & 4 ? 2 : 1;
      }
      o += 2;
    }
  }
  return { starts, cond, count, rangeStart: start };
}

/** Offset (from addr+4) of B.W, Bcond.W and BL; undefined for other control instructions. */
function thumbBranchOffset(h: number, h2: number): number | undefined {
  const s = (h >>> 10) & 1;
  const j1 = (h2 >>> 13) & 1;
  const j2 = (h2 >>> 11) & 1;
  if ((h2 & 0xd000) === 0x8000) {
    if (((h >>> 6) & 0xe) === 0xe) return undefined; // misc control, not a branch
    const imm = (s << 20) | (j2 << 19) | (j1 << 18) | ((h & 0x3f) << 12) | ((h2 & 0x7ff) << 1);
    return (imm << 11) >> 11;
  }
  if ((h2 & 0xd000) === 0x9000 || (h2 & 0xd000) === 0xd000) {
    const i1 = ~(j1 ^ s) & 1;
    const i2 = ~(j2 ^ s) & 1;
    const imm = (s << 24) | (i1 << 23) | (i2 << 22) | ((h & 0x3ff) << 12) | ((h2 & 0x7ff) << 1);
    return (imm << 7) >> 7;
  }
  return undefined;
}

function thumbBlTarget(addr: number, h: number, h2: number): number {
  const s = (h >>> 10) & 1;
  const i1 = ~(((h2 >>> 13) & 1) ^ s) & 1;
  const i2 = ~(((h2 >>> 11) & 1) ^ s) & 1;
  const imm = (s << 24) | (i1 << 23) | (i2 << 22) | ((h & 0x3ff) << 12) | ((h2 & 0x7ff) << 1);
  const off = (imm << 7) >> 7;
  if ((h2 & 0x1000) === 0) return ((addr + 4) & ~3) + off; // BLX to ARM
  return addr + 4 + off;
}

function thumbExpandImm(i12: number): number {
  const imm8 = i12 & 0xff;
  if (i12 >>> 10 === 0) {
    switch ((i12 >>> 8) & 3) {
      case 0:
        return imm8;
      case 1:
        return ((imm8 << 16) | imm8) >>> 0;
      case 2:
        return ((imm8 << 24) | (imm8 << 8)) >>> 0;
      default:
        return ((imm8 << 24) | (imm8 << 16) | (imm8 << 8) | imm8) >>> 0;
    }
  }
  const v = 0x80 | (i12 & 0x7f);
  const rot = i12 >>> 7;
  return ((v >>> rot) | (v << (32 - rot))) >>> 0;
}

/** The Thumb tracker: the constant register `orig` holds at instruction k of the sweep, walking back within the function `f`. */
function recoverThumb(ctx: ScanContext, region: ElfExecRegion, index: ArmIndex, sw: ThumbSweep, k: number, orig: number, f: Func | undefined): Recovered {
  const at = sw.starts[k]!;
  const [lo, hi] = f ? [f.start - region.addr, f.end - region.addr] : [at - WINDOW * 4, at + WINDOW * 4];
  const w: ArmWalk = { ctx, region, index, orig, lo, hi, budget: { joins: MAX_JOINS, paths: MAX_PATHS } };
  return walkThumb(w, sw, k, true, f ? f.start : -Infinity, orig);
}

/** Thumb: walks back from instruction `from` of the sweep (control stands there; `joinAtStart`: it may be a join point), tracking `reg0`. */
function walkThumb(wk: ArmWalk, sw: ThumbSweep, from: number, joinAtStart: boolean, fstart: number, reg0: number): Recovered {
  const { ctx, region, orig } = wk;
  const { dv, le } = ctx;
  const { targets, sources } = wk.index;
  let reg = reg0;
  let name = reg === orig ? regName(reg) : `${regName(orig)} (copied from ${regName(reg)})`;
  let high: number | undefined;
  for (let cur = from; ; cur--) {
    const j = cur - 1;
    if (j < 0 || j < from - WINDOW || region.addr + sw.starts[j]! < fstart) {
      return atStart(reg, orig, j >= from - WINDOW && region.addr + sw.starts[cur]! === fstart);
    }
    if ((cur !== from || joinAtStart) && targets.has(sw.starts[cur]!)) {
      // A join point: each Thumb branch to it from within the function, and the fall-through.
      if (high !== undefined || --wk.budget.joins < 0) return { k: 'unknown', why: JOIN };
      const paths: Recovered[] = [];
      if (sources.a32.has(sw.starts[cur]!)) return { k: 'unknown', why: JOIN };
      for (const s of sources.thumb.get(sw.starts[cur]!) ?? []) {
        const q = s >= wk.lo && s < wk.hi ? thumbIndex(sw, s) : -1;
        if (q < 0 || --wk.budget.paths < 0) return { k: 'unknown', why: JOIN };
        paths.push(walkThumb(wk, sw, q, true, fstart, reg));
      }
      // Padding nops after an unconditional branch are reached only when branched to.
      let q = j;
      while (q >= 0 && isThumbNop(dv, le, region.offset + sw.starts[q]!) && !targets.has(sw.starts[q]!) && sw.cond[q] !== 1) q--;
      if (q >= 0 && !(thumbEffectAt(dv, le, region.offset + sw.starts[q]!, reg) === 'branch' && sw.cond[q] !== 1))
        paths.push(walkThumb(wk, sw, cur, false, fstart, reg));
      return mergePaths(paths);
    }
    const o = sw.starts[j]!;
    const addr = region.addr + o;
    const conditional = sw.cond[j] === 1;
    const h = dv.getUint16(region.offset + o, le);
    const wide = (h & 0xe000) === 0xe000 && (h & 0x1800) !== 0;
    let e: 'none' | 'branch' | 'call' | 'write';
    if (!wide) {
      // movs rd,#imm8
      if ((h & 0xf800) === 0x2000 && ((h >>> 8) & 7) === reg) {
        if (conditional) return { k: 'unknown', why: `${name} set conditionally` };
        return withHigh(h & 0xff, high);
      }
      // mov rd, rm (any registers)
      if ((h & 0xff00) === 0x4600 && (((h >>> 4) & 8) | (h & 7)) === reg) {
        if (conditional) return { k: 'unknown', why: `${name} set conditionally` };
        const rm = (h >>> 3) & 0xf;
        if (high !== undefined || rm >= 13) return { k: 'unknown', why: `${name} copied from ${regName(rm)}` };
        reg = rm;
        name = `${regName(orig)} (copied from ${regName(reg)})`;
        continue;
      }
      // ldr rt,[pc,#imm8*4]
      if ((h & 0xf800) === 0x4800 && ((h >>> 8) & 7) === reg) {
        if (conditional) return { k: 'unknown', why: `${name} set conditionally` };
        const lit = ctx.word32(((addr + 4) & ~3) + (h & 0xff) * 4, region);
        if (lit === undefined) return { k: 'unknown', why: `${name} loaded from a literal outside the code` };
        return withHigh(lit, high);
      }
      e = thumb16Effect(h, reg);
    } else {
      const h2 = dv.getUint16(region.offset + o + 2, le);
      const rd = (h2 >>> 8) & 0xf;
      if ((h & 0xfbf0) === 0xf240 && rd === reg) {
        // movw
        if (conditional) return { k: 'unknown', why: `${name} set conditionally` };
        const lo16 = ((h & 0xf) << 12) | (((h >>> 10) & 1) << 11) | (((h2 >>> 12) & 7) << 8) | (h2 & 0xff);
        return { k: 'const', v: high !== undefined ? high * 0x10000 + lo16 : lo16 };
      }
      if ((h & 0xfbf0) === 0xf2c0 && rd === reg) {
        // movt
        if (conditional || high !== undefined) return { k: 'unknown', why: `${name} set by movt` };
        high = ((h & 0xf) << 12) | (((h >>> 10) & 1) << 11) | (((h2 >>> 12) & 7) << 8) | (h2 & 0xff);
        continue;
      }
      if ((h & 0xfbef) === 0xf04f && !(h2 & 0x8000) && rd === reg) {
        // mov.w rd,#const
        if (conditional) return { k: 'unknown', why: `${name} set conditionally` };
        return withHigh(thumbExpandImm((((h >>> 10) & 1) << 11) | (((h2 >>> 12) & 7) << 8) | (h2 & 0xff)), high);
      }
      if ((h & 0xffef) === 0xea4f && (h2 & 0x70f0) === 0 && rd === reg) {
        // mov.w rd, rm
        if (conditional) return { k: 'unknown', why: `${name} set conditionally` };
        const rm = h2 & 0xf;
        if (high !== undefined || rm >= 13) return { k: 'unknown', why: `${name} copied from ${regName(rm)}` };
        reg = rm;
        name = `${regName(orig)} (copied from ${regName(reg)})`;
        continue;
      }
      if ((h & 0xff7f) === 0xf85f && h2 >>> 12 === reg) {
        // ldr.w rt,[pc,#imm12]
        if (conditional) return { k: 'unknown', why: `${name} set conditionally` };
        const off = h2 & 0xfff;
        const lit = ctx.word32(((addr + 4) & ~3) + (h & 0x80 ? off : -off), region);
        if (lit === undefined) return { k: 'unknown', why: `${name} loaded from a literal outside the code` };
        return withHigh(lit, high);
      }
      e = thumb32Effect(h, h2, reg);
    }
    if (e === 'none') continue;
    if (e === 'branch') {
      if (conditional) continue;
      return { k: 'unknown', why: 'no straight-line path to the site (unconditional branch before it)' };
    }
    if (e === 'call') {
      if (calleeSaved(reg)) continue;
      return { k: 'unknown', why: `${name} clobbered by a call before the site` };
    }
    return { k: 'unknown', why: `${name} written by an instruction that is not a constant move` };
  }
}

/** Index in the sweep of the instruction at region offset `off`, or -1. */
function thumbIndex(sw: ThumbSweep, off: number): number {
  let lo = 0;
  let hi = sw.count;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sw.starts[mid]! < off) lo = mid + 1;
    else hi = mid;
  }
  return lo < sw.count && sw.starts[lo] === off ? lo : -1;
}

/** nop (bf00) and nop.w (f3af 8000). */
function isThumbNop(dv: DataView, le: boolean, o: number): boolean {
  const h = dv.getUint16(o, le);
  return h === 0xbf00 || (h === 0xf3af && dv.getUint16(o + 2, le) === 0x8000);
}

/** The effect on `reg` of the Thumb instruction at file offset o (for the moves: 'write'). */
function thumbEffectAt(dv: DataView, le: boolean, o: number, reg: number): 'none' | 'branch' | 'call' | 'write' {
  const h = dv.getUint16(o, le);
  const wide = (h & 0xe000) === 0xe000 && (h & 0x1800) !== 0;
  return wide ? thumb32Effect(h, dv.getUint16(o + 2, le), reg) : thumb16Effect(h, reg);
}

/** A32 nop (hint) and mov r0,r0. */
const A32_NOPS = new Set([0xe320f000, 0xe1a00000]);

/** Effect of a 16-bit Thumb instruction on `reg`. Conditional branches are 'none' (fall-through path). */
function thumb16Effect(h: number, reg: number): 'none' | 'branch' | 'call' | 'write' {
  if ((h & 0xf000) === 0xd000) {
    const c = (h >>> 8) & 0xf;
    if (c === 0xf) return 'none'; // svc: the kernel preserves r1-r14
    if (c === 0xe) return 'branch'; // udf
    return 'none'; // b<cond>
  }
  if ((h & 0xf800) === 0xe000) return 'branch'; // b
  if ((h & 0xf500) === 0xb100) return 'none'; // cbz/cbnz
  if ((h & 0xff00) === 0x4700) return h & 0x80 ? 'call' : 'branch'; // blx/bx
  if ((h & 0xff00) === 0xbf00) return 'none'; // it, hints
  if ((h & 0xfe00) === 0xb400) return 'none'; // push
  if ((h & 0xfe00) === 0xbc00) {
    // pop
    if (h & 0x100) return 'branch';
    return reg < 8 && h & (1 << reg) ? 'write' : 'none';
  }
  if ((h & 0xf800) === 0xc000) return ((h >>> 8) & 7) === reg ? 'write' : 'none'; // stm (writeback)
  if ((h & 0xf800) === 0xc800) return ((h >>> 8) & 7) === reg || (reg < 8 && h & (1 << reg)) ? 'write' : 'none'; // ldm
  if ((h & 0xff00) === 0xb000) return 'none'; // add/sub sp,#imm
  if ((h & 0xf800) === 0x2800 || (h & 0xffc0) === 0x4200 || (h & 0xffc0) === 0x4280 || (h & 0xffc0) === 0x42c0 || (h & 0xff00) === 0x4500) return 'none'; // cmp/tst/cmn
  if (
    (h & 0xf800) === 0x6000 ||
    (h & 0xf800) === 0x7000 ||
    (h & 0xf800) === 0x8000 ||
    (h & 0xf800) === 0x9000 ||
    ((h & 0xf800) === 0x5000 && ((h >>> 9) & 7) < 3)
  )
    return 'none'; // stores
  // ldr/ldrb/ldrh/ldrsb/ldrsh with an immediate or register offset: Rt in [2:0] (bits [10:8]
  // are part of the offset, not a register).
  if ((h & 0xe000) === 0x6000 || (h & 0xf000) === 0x8000 || (h & 0xf000) === 0x5000) return (h & 7) === reg ? 'write' : 'none';
  if ((h & 0xff00) === 0x4400 || (h & 0xff00) === 0x4600) {
    // add/mov with high registers
    const rd = ((h >>> 4) & 8) | (h & 7);
    if (rd === 15) return 'branch';
    return rd === reg ? 'write' : 'none';
  }
  if (reg >= 8) return 'none'; // every other 16-bit instruction only writes r0-r7
  return (h & 7) === reg || ((h >>> 8) & 7) === reg ? 'write' : 'none';
}

/** Effect of a 32-bit Thumb instruction on `reg`. */
function thumb32Effect(h: number, h2: number, reg: number): 'none' | 'branch' | 'call' | 'write' {
  if ((h & 0xf800) === 0xf000 && h2 & 0x8000) {
    if ((h2 & 0x5000) === 0x5000 || (h2 & 0xd000) === 0xc000) return 'call'; // bl, blx
    if ((h2 & 0xd000) === 0x9000) return 'branch'; // b.w
    if (((h >>> 6) & 0xe) !== 0xe) return 'none'; // b<cond>.w
    if ((h & 0xffe0) === 0xf3e0) return ((h2 >>> 8) & 0xf) === reg ? 'write' : 'none'; // mrs
    return 'none'; // msr, hints, barriers
  }
  if ((h & 0xfff0) === 0xe8d0 && (h2 & 0xffe0) === 0xf000) return 'branch'; // tbb/tbh
  if ((h & 0xfe50) === 0xe800) {
    // stm/push.w
    return h & 0x20 && (h & 0xf) === reg ? 'write' : 'none';
  }
  if ((h & 0xfe50) === 0xe810) {
    // ldm/pop.w
    if (h2 & 0x8000) return 'branch';
    return (h & 0x20 && (h & 0xf) === reg) || h2 & (1 << reg) ? 'write' : 'none';
  }
  if ((h & 0xfe00) === 0xf800) {
    // single loads/stores
    const load = (h & 0x10) !== 0;
    const rt = h2 >>> 12;
    const rn = h & 0xf;
    const wb = (h & 0x80) === 0 && (h2 & 0x0900) === 0x0900;
    if (wb && rn === reg) return 'write';
    if (!load) return 'none';
    if (rt === 15) return ((h >>> 5) & 3) === 2 ? 'branch' : 'none'; // ldr pc vs pld/pli
    return rt === reg ? 'write' : 'none';
  }
  if ((h & 0xfe00) === 0xea00 || ((h & 0xf800) === 0xf000 && !(h2 & 0x8000)) || (h & 0xff00) === 0xfa00) {
    return ((h2 >>> 8) & 0xf) === reg ? 'write' : 'none'; // data processing: Rd
  }
  if ((h & 0xff80) === 0xfb00) return ((h2 >>> 8) & 0xf) === reg ? 'write' : 'none'; // mul/mla
  if ((h & 0xff80) === 0xfb80) return ((h2 >>> 8) & 0xf) === reg || h2 >>> 12 === reg ? 'write' : 'none'; // long multiply/divide
  // ldrd/strd/exclusives, coprocessor, VFP transfers: conservative.
  return h2 >>> 12 === reg || ((h2 >>> 8) & 0xf) === reg || (h2 & 0xf) === reg || (h & 0xf) === reg ? 'write' : 'none';
}
