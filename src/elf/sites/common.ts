/**
 * Shared pieces of the syscall-site scanners: naming sites after their enclosing function,
 * reading literal-pool words, and the result of tracking one register backwards.
 */
import { EM_ARM } from '../../syscalls/elf-machines.ts';
import type { ElfExecRegion, ElfFrames, ElfInfo, ElfSymbol, SiteIsa, SiteKind, SyscallSite } from '../types.ts';

/** How far back (in instructions) a scanner looks for the instruction that sets the number register. */
export const WINDOW = 48;

/** What the instructions before a site say about the number register. */
export type Recovered =
  | { k: 'const'; v: number }
  /** Different constants on different paths into a join point (two or more, ascending): each is called. */
  | { k: 'consts'; vs: number[] }
  /** Copied from the first argument register: the C library's syscall(). */
  | { k: 'arg'; why: string }
  | { k: 'unknown'; why: string };

/** A function: [start, end) in one section (shndx, or -1 when addresses are global). */
export interface Func {
  start: number;
  end: number;
  name: string;
  thumb: boolean;
}

const bindRank = { global: 0, weak: 1, local: 2 } as const;

/** Function symbols indexed for "which function contains this address" queries. */
export class FunctionIndex {
  /** Per section index for ET_REL (values are section-relative), else one list under -1. */
  private readonly lists = new Map<number, Func[]>();
  private byName: Map<string, Func> | undefined;
  private readonly maxEnds = new Map<number, Float64Array>();

  constructor(private readonly elf: ElfInfo) {
    const rel = elf.type === 'rel';
    const all = elf.symbols;
    const groups = new Map<number, ElfSymbol[]>();
    if (rel) {
      for (const s of all) {
        if (s.type !== 'func') continue;
        let g = groups.get(s.shndx);
        if (!g) groups.set(s.shndx, (g = []));
        g.push(s);
      }
    } else {
      const g: ElfSymbol[] = [];
      for (const s of all) if (s.type === 'func') g.push(s);
      if (g.length || elf.frames?.length) groups.set(-1, g);
    }
    for (const [key, syms] of groups) {
      // Symbols are sorted by value; pick one name per address (global, sized, fewer underscores).
      const funcs: Func[] = [];
      for (let i = 0; i < syms.length; ) {
        let j = i + 1;
        let best = syms[i]!;
        let maxSize = best.size;
        while (j < syms.length && syms[j]!.value === best.value) {
          const s = syms[j]!;
          if (s.size > maxSize) maxSize = s.size;
          if (better(s, best)) best = s;
          j++;
        }
        funcs.push({ start: best.value, end: best.value + maxSize, name: best.name, thumb: best.thumb === true });
        i = j;
      }
      // ARM's FDEs would not say which code is Thumb (the mode a function's extent decides here).
      if (key === -1 && elf.machine !== EM_ARM) addFrames(funcs, elf.frames);
      // A zero-sized function extends to the next function.
      for (let i = 0; i < funcs.length; i++) {
        const f = funcs[i]!;
        if (f.end === f.start) f.end = i + 1 < funcs.length ? funcs[i + 1]!.start : Number.MAX_SAFE_INTEGER;
      }
      this.lists.set(key, funcs);
    }
  }

  /** The function containing `addr`, if any. */
  at(addr: number, shndx = -1): Func | undefined {
    const funcs = this.lists.get(shndx) ?? this.lists.get(-1);
    if (!funcs) return undefined;
    const idx = lastStartAtOrBefore(funcs, addr);
    // Nested or overlapping symbols: look back a little for one that covers addr.
    for (let i = idx; i >= 0 && i > idx - 8; i--) {
      const f = funcs[i]!;
      if (addr >= f.start && addr < f.end) return f;
    }
    return undefined;
  }

  /** Start of the next function after `addr` (exclusive), or undefined. */
  nextStart(addr: number, shndx = -1): number | undefined {
    const funcs = this.lists.get(shndx) ?? this.lists.get(-1);
    if (!funcs) return undefined;
    let lo = 0;
    let hi = funcs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (funcs[mid]!.start <= addr) lo = mid + 1;
      else hi = mid;
    }
    return funcs[lo]?.start;
  }

  /** End of the last function that ends at or before `addr`, or undefined. */
  prevEnd(addr: number, shndx = -1): number | undefined {
    const key = this.lists.has(shndx) ? shndx : -1;
    const funcs = this.lists.get(key);
    if (!funcs) return undefined;
    let maxEnd = this.maxEnds.get(key);
    if (!maxEnd) {
      maxEnd = new Float64Array(funcs.length);
      let m = -Infinity;
      funcs.forEach((f, i) => {
        m = Math.max(m, f.end);
        maxEnd![i] = m;
      });
      this.maxEnds.set(key, maxEnd);
    }
    const idx = lastStartAtOrBefore(funcs, addr);
    if (idx < 0) return undefined;
    if (maxEnd[idx]! <= addr) return maxEnd[idx];
    // Something covers addr (nested symbols): fall back to a short scan.
    let best: number | undefined;
    for (let i = idx; i >= 0 && i > idx - 64; i--) {
      const e = funcs[i]!.end;
      if (e <= addr && (best === undefined || e > best)) best = e;
    }
    return best;
  }

  byNameLookup(name: string): Func | undefined {
    if (!this.byName) {
      this.byName = new Map();
      for (const s of this.elf.symbols) {
        if (s.type === 'func' && !this.byName.has(s.name)) {
          this.byName.set(s.name, { start: s.value, end: s.value + s.size, name: s.name, thumb: s.thumb === true });
        }
      }
    }
    return this.byName.get(name);
  }

  /** All functions of one section key (sorted). */
  list(shndx = -1): readonly Func[] {
    return this.lists.get(shndx) ?? this.lists.get(-1) ?? [];
  }
}

/**
 * Functions the unwind tables describe and no symbol does (a stripped file): unnamed, so a site
 * in one never takes the knowledge of a named function. A symbol keeps its extent; one without
 * a size takes its FDE's end. `funcs` stays sorted by start.
 */
function addFrames(funcs: Func[], frames: ElfFrames | undefined): void {
  if (!frames?.length) return;
  // Both lists are sorted by start, one function per start: walked together, no map of the
  // symbols (a directory check made 160 MB of them).
  let k = 0;
  let coveredTo = -Infinity; // end of the symbols sized (when reached) starting at or before the frame
  let last: Func | undefined; // the last symbol starting at or before the frame
  const added: Func[] = [];
  for (let i = 0; i < frames.length; i++) {
    // A signal frame starts a byte before its code: no function start to decode from.
    if (frames.signal[i]) continue;
    const start = frames.start[i]!;
    const end = frames.end[i]!;
    // Sizes are read as they were before any frame gave a size to an unsized symbol.
    while (k < funcs.length && funcs[k]!.start <= start) {
      last = funcs[k++]!;
      if (last.end > last.start) coveredTo = Math.max(coveredTo, last.end);
    }
    if (last !== undefined && last.start === start) {
      if (last.end === last.start) last.end = end;
      continue;
    }
    // Inside a symbol's extent: a part of that function (its own FDE for a cold part or an
    // alternate entry), which the symbol already names.
    if (start < coveredTo || added.at(-1)?.start === start) continue;
    added.push({ start, end, name: '', thumb: false });
  }
  if (!added.length) return;
  // Merged in place, from the back: both lists are sorted by start and no start is in both
  // (one function per address). The array grows by pushes (holes would slow every later read).
  let a = funcs.length - 1;
  for (let b = 0; b < added.length; b++) funcs.push(added[0]!);
  for (let b = added.length - 1, w = funcs.length - 1; b >= 0; w--) {
    if (a >= 0 && funcs[a]!.start > added[b]!.start) {
      funcs[w] = funcs[a--]!;
      continue;
    }
    // An FDE is where the unwinder can unwind, not always the whole function: glibc's clone and
    // clone3 end theirs before the syscall (the child must not unwind into the parent), so the
    // code up to the next function (within a page: not a stretch of data) is still theirs.
    const f = added[b--]!;
    const next = w + 1 < funcs.length ? funcs[w + 1]!.start : undefined;
    if (next !== undefined && next > f.end && next - f.end <= GAP) f.end = next;
    funcs[w] = f;
  }
}

/** The most code after an FDE's end taken as still its function's (see addFrames). */
const GAP = 4096;

function better(a: ElfSymbol, b: ElfSymbol): boolean {
  if (a.size > 0 !== b.size > 0) return a.size > 0;
  if (bindRank[a.bind] !== bindRank[b.bind]) return bindRank[a.bind] < bindRank[b.bind];
  const ua = leadingUnderscores(a.name);
  const ub = leadingUnderscores(b.name);
  if (ua !== ub) return ua < ub;
  if (a.name.length !== b.name.length) return a.name.length < b.name.length;
  return a.name < b.name;
}

function leadingUnderscores(s: string): number {
  let n = 0;
  while (n < s.length && s.charCodeAt(n) === 95) n++;
  return n;
}

/** State shared by one scan of one file. */
export class ScanContext {
  readonly dv: DataView;
  readonly le: boolean;
  private funcIndex: FunctionIndex | undefined;
  private readonly memos = new Map<string, unknown>();

  constructor(
    readonly elf: ElfInfo,
    readonly bytes: Uint8Array,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.le = elf.endian === 'little';
  }

  /** Function symbols, indexed on first use (most files have no candidate sites at all). */
  get funcs(): FunctionIndex {
    return (this.funcIndex ??= new FunctionIndex(this.elf));
  }

  /**
   * What one pass over `region` found (its branch targets, decoded instruction starts), made
   * once per scan: the site scanner and the syscall() call recovery walk back over the same.
   */
  memo<T>(region: ElfExecRegion, what: string, make: () => T): T {
    const key = `${what}:${region.offset}:${region.addr}:${region.size}`;
    if (this.memos.has(key)) return this.memos.get(key) as T;
    const v = make();
    this.memos.set(key, v);
    return v;
  }

  /** Key for FunctionIndex lookups of addresses in `region`. */
  key(region: ElfExecRegion): number {
    return this.elf.type === 'rel' ? region.shndx : -1;
  }

  /** A 32-bit word at a virtual address inside an executable region of the same section space, or undefined. */
  word32(addr: number, region: ElfExecRegion): number | undefined {
    const regions = this.elf.type === 'rel' ? [region] : this.elf.exec;
    for (const r of regions) {
      if (addr >= r.addr && addr + 4 <= r.addr + r.size) {
        return this.dv.getUint32(r.offset + (addr - r.addr), this.le);
      }
    }
    return undefined;
  }

  /** The site(s) at `address`: one per number when paths into it give different constants. */
  sites(region: ElfExecRegion, address: number, isa: SiteIsa, kind: SiteKind, rec: Recovered): SyscallSite[] {
    if (rec.k === 'consts') return rec.vs.map((v) => this.site(region, address, isa, kind, { k: 'const', v }));
    return [this.site(region, address, isa, kind, rec)];
  }

  private site(region: ElfExecRegion, address: number, isa: SiteIsa, kind: SiteKind, rec: Exclude<Recovered, { k: 'consts' }>): SyscallSite {
    const s: SyscallSite = { address, number: null, isa, kind };
    if (rec.k === 'const') {
      if (rec.v >= 0 && Number.isSafeInteger(rec.v)) s.number = rec.v;
      else s.reason = `number register holds ${rec.v}, not a syscall number`;
    } else {
      s.reason = rec.why;
      if (rec.k === 'arg' && (kind === 'syscall' || kind === 'svc' || kind === 'sc' || kind === 'int80')) {
        s.kind = 'syscall_wrapper';
      }
    }
    const f = this.funcs.at(address, this.key(region));
    if (f?.name) s.function = f.name;
    return s;
  }
}

/**
 * Bitmap sized by a region (bounded by the file), one bit per `1 << shift`-byte slot, for the
 * offsets [origin, origin + size): offsets outside are never set.
 */
export class Bits {
  private readonly a: Uint8Array;
  constructor(
    size: number,
    private readonly shift: number,
    private readonly origin = 0,
  ) {
    this.a = new Uint8Array(((size >> shift) >> 3) + 1);
  }
  set(off: number): void {
    const i = (off - this.origin) >> this.shift;
    if (i >= 0 && i >> 3 < this.a.length) this.a[i >> 3]! |= 1 << (i & 7);
  }
  has(off: number): boolean {
    const i = (off - this.origin) >> this.shift;
    return i >= 0 && i >> 3 < this.a.length && (this.a[i >> 3]! & (1 << (i & 7))) !== 0;
  }
}

export const JOIN = 'a branch target lies between the site and the instruction that sets the number';

/** How many join points one walk may pass through, and paths it may follow, in all. */
export const MAX_JOINS = 8;
export const MAX_PATHS = 32;

/**
 * The value at a join point from the values on every path into it: constants when every path
 * gives constants (one, or the set of them), else the first path's reason (a value the caller
 * chose on one path is no answer at the join).
 */
export function mergePaths(paths: readonly Recovered[]): Recovered {
  const vs = new Set<number>();
  for (const p of paths) {
    if (p.k === 'arg') return { k: 'unknown', why: JOIN };
    if (p.k === 'unknown') return p;
    if (p.k === 'const') vs.add(p.v);
    else for (const v of p.vs) vs.add(v);
  }
  if (vs.size === 0) return { k: 'unknown', why: JOIN };
  const sorted = [...vs].sort((a, b) => a - b);
  return sorted.length === 1 ? { k: 'const', v: sorted[0]! } : { k: 'consts', vs: sorted };
}

/** Index of the last function (sorted by start) that starts at or before `addr`; -1 if none. */
function lastStartAtOrBefore(funcs: readonly Func[], addr: number): number {
  let lo = 0;
  let hi = funcs.length - 1;
  let idx = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (funcs[mid]!.start <= addr) {
      idx = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return idx;
}

export type FixedRecover = (ctx: ScanContext, region: ElfExecRegion, i: number, lowest: number, fIdx: number, targets: Bits) => Recovered;

/**
 * Sites of a fixed-width ISA (word index i in the region): bound each look-back by the window
 * and the enclosing function's start, recover the number, and name the site.
 */
export function pushFixedWidthSites(
  ctx: ScanContext,
  region: ElfExecRegion,
  sites: readonly number[],
  targets: Bits,
  isa: SiteIsa,
  kind: SiteKind,
  recover: FixedRecover,
  out: SyscallSite[],
): void {
  for (const i of sites) {
    const { lowest, fIdx } = fixedBounds(ctx, region, i);
    out.push(...ctx.sites(region, region.addr + i * 4, isa, kind, recover(ctx, region, i, lowest, fIdx, targets)));
  }
}

/**
 * How far back a fixed-width walk from word i may go: the window, bounded by the enclosing
 * function's first word `fIdx` (-1 without one), and the region's start.
 */
export function fixedBounds(ctx: ScanContext, region: ElfExecRegion, i: number): { lowest: number; fIdx: number } {
  const f = ctx.funcs.at(region.addr + i * 4, ctx.key(region));
  const fIdx = f ? Math.ceil((f.start - region.addr) / 4) : -1;
  return { lowest: Math.max(0, i - WINDOW, fIdx), fIdx };
}
