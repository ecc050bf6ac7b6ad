/**
 * The data objects of a static program, for its call graph (src/elf/callgraph.ts): a code
 * address a data word holds runs when code reads that word, and code reads a word through the
 * object around it (a vtable, a hook table, a struct of function pointers). So a word inside an
 * object whose extent a symbol gives is an edge of that object, and the object is reached when
 * reached code refers to it; only a word outside every object (.init_array, .rela.iplt, the GOT,
 * anonymous tables) roots what it points at, as before.
 *
 * Over-approximation is the only error allowed:
 * - extents come only from sized STT_OBJECT symbols (a stripped program has none: every data word
 *   roots, as without this module);
 * - a reference to a linker-defined boundary (a symbol without a size: __start_SEC, __stop_SEC,
 *   __init_array_end, _edata, ...) walks a whole array of objects: __start_SEC/__stop_SEC reach
 *   every object between the pair, any other boundary the objects from the boundary before it
 *   to the one after it;
 * - an object a data word points at from outside every object is a root, and so are the ones
 *   the unwinder reads, which code never names: the personality routine's slot (DW.ref.*, named
 *   by a CIE) and C++ type information (_ZTI*, _ZTS*, named by the LSDA's type tables);
 * - a reference to any byte inside an object reaches the object.
 */
import type { ElfInfo } from './types.ts';

/** Objects the unwinder reads through .eh_frame and .gcc_except_table (pc-relative, from no code). */
const UNWINDER_READS = /^(DW\.ref\.|_ZTI|_ZTS)/;

export class DataObjects {
  /** Objects as merged, sorted, disjoint intervals [starts[k], ends[k]). */
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  /** Zero-sized data symbols by address (boundaries of linker-made arrays), sorted. */
  private readonly bounds: number[] = [];
  private readonly boundNames = new Map<number, string[]>();
  private readonly byName = new Map<string, number>();
  private readonly boundMemo = new Map<number, number[]>();
  /** Code addresses each object's words hold. */
  readonly code: number[][];
  /** Objects each object's words point into. */
  readonly objects: Set<number>[];
  /** Objects referred to from outside every object (or from the unwind tables). */
  readonly roots = new Set<number>();
  /** [code node, object]: what each code node refers to. */
  readonly refs: [number, number][] = [];

  constructor(
    elf: ElfInfo,
    private readonly inCode: (addr: number) => boolean,
  ) {
    const objs = elf.symbols.filter((s) => s.type === 'object' && s.size > 0 && s.value !== 0 && !inCode(s.value)).sort((a, b) => a.value - b.value);
    for (const s of objs) {
      const last = this.ends.length - 1;
      // Aliases and nested objects merge: one object reached is all of them.
      if (last >= 0 && s.value < this.ends[last]!) this.ends[last] = Math.max(this.ends[last]!, s.value + s.size);
      else {
        this.starts.push(s.value);
        this.ends.push(s.value + s.size);
      }
    }
    for (const s of elf.symbols) {
      if (s.type === 'func' || s.size !== 0 || s.value === 0 || inCode(s.value)) continue;
      let l = this.boundNames.get(s.value);
      if (!l) {
        this.boundNames.set(s.value, (l = []));
        this.bounds.push(s.value);
      }
      l.push(s.name);
      this.byName.set(s.name, s.value);
    }
    this.bounds.sort((a, b) => a - b);
    for (const a of [this.starts[0], this.bounds[0]]) if (a !== undefined) this.lo = Math.min(this.lo, a);
    for (const a of [this.ends.at(-1), this.bounds.at(-1)]) if (a !== undefined) this.hi = Math.max(this.hi, a);
    for (const s of objs) if (UNWINDER_READS.test(s.name)) this.roots.add(this.at(s.value));
    this.code = this.starts.map(() => []);
    this.objects = this.starts.map(() => new Set());
  }

  /** Whether a reference to `addr` may reach an object (a quick range test before `ref`). */
  mayReach(addr: number): boolean {
    return addr >= this.lo && addr <= this.hi;
  }
  private lo = Infinity;
  private hi = -Infinity;

  get size(): number {
    return this.starts.length;
  }

  /** The object holding `addr`, or -1. */
  at(addr: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    let idx = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! <= addr) {
        idx = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return idx >= 0 && addr < this.ends[idx]! ? idx : -1;
  }

  /** The objects a reference to `addr` reaches: the one around it, and an array a boundary there delimits. */
  reached(addr: number): number[] {
    const k = this.at(addr);
    const names = this.boundNames.get(addr);
    if (!names) return k >= 0 ? [k] : [];
    let memo = this.boundMemo.get(addr);
    if (!memo) {
      const set = new Set<number>();
      const range = (lo: number, hi: number): void => {
        for (let i = this.firstAtOrAfter(lo); i < this.starts.length && this.starts[i]! < hi; i++) set.add(i);
        // An object straddling lo is part of the array too.
        const s = this.at(lo);
        if (s >= 0 && lo < hi) set.add(s);
      };
      const bi = this.bounds.indexOf(addr);
      const prev = bi > 0 ? this.bounds[bi - 1]! : -Infinity;
      const next = bi + 1 < this.bounds.length ? this.bounds[bi + 1]! : Infinity;
      for (const n of names) {
        const start = n.startsWith('__stop_') ? this.byName.get(`__start_${n.slice(7)}`) : undefined;
        const stop = n.startsWith('__start_') ? this.byName.get(`__stop_${n.slice(8)}`) : undefined;
        if (stop !== undefined && stop >= addr) range(addr, stop);
        else if (start !== undefined && start <= addr) range(start, addr);
        else {
          range(prev, addr);
          range(addr, next);
        }
      }
      memo = [...set];
      this.boundMemo.set(addr, memo);
    }
    return k >= 0 && !memo.includes(k) ? [...memo, k] : memo;
  }

  /**
   * A word at `at` holding `value` (a pointer in loaded data, or a relocation's result): true
   * when `at` lies in an object, which then holds the edge; false when the caller roots a code
   * address as before (an object it points at is rooted here).
   */
  word(at: number, value: number): boolean {
    const ka = this.at(at);
    const to = value !== 0 ? this.reached(value) : [];
    if (ka < 0) {
      for (const k of to) this.roots.add(k);
      return false;
    }
    if (this.inCode(value)) this.code[ka]!.push(value);
    for (const k of to) if (k !== ka) this.objects[ka]!.add(k);
    return true;
  }

  /** Code node `from` refers to `addr` (rip-relative, absolute, or a data reference found by byte). */
  ref(from: number, addr: number): void {
    for (const k of this.reached(addr)) this.refs.push([from, k]);
  }

  private firstAtOrAfter(v: number): number {
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
