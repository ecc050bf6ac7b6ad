/**
 * A shared library's call graph, to count its calls only where they are reachable from what the
 * program (or another reached library) uses of it.
 *
 * Nodes are stretches of code: each function symbol (.symtab, .dynsym) is one; the code no
 * symbol covers (a stripped library's static functions, the PLT) is cut at every address a call,
 * a rip-relative reference or a relocation points at. Edges are direct calls and jumps,
 * references to code (a function whose address is taken runs when its taker did), falling
 * through into the next stretch, and references to GOT slots, which name the imports (and own
 * exports, interposable) a stretch calls. Roots are the exported functions whose names are
 * used, the entry point, DT_INIT/DT_FINI, every code address a relocation or a data word holds
 * (init/fini arrays, function-pointer tables), and every stretch nothing is seen to enter that
 * is not a PLT stub.
 *
 * The references of each stretch come from its ISA's extraction (graph/refs.ts: x86-64, AArch64).
 * Fail closed: an address no node covers counts; a library of an ISA without branch decoding
 * here gets no graph (`buildCallGraph` returns undefined) and all of it counts. Over-approximation
 * is the only kind of error allowed: a false PASS is the worst bug this product can have.
 */
import { DataObjects } from './data-refs.ts';
import { graphIsa } from './graph/refs.ts';
import { type GraphIsa, type RegionCode, STRETCH_FALLS, STRETCH_PADDING, STRETCH_STUB } from './graph/types.ts';
import type { ElfBytes } from './source.ts';
import type { ElfExecRegion, ElfInfo } from './types.ts';
import { ARCHES } from '../syscalls/arches.ts';
import { doubled } from '../util/typed-grow.ts';

/** Most code (bytes) a graph is built for. */
const MAX_CODE = 8 << 20;
/** Where a static program's data objects sit among the nodes: above every user address. */
const OBJECT_NODES = 2 ** 52;

interface Node {
  start: number;
  end: number;
  /** Exported name (a dynamic, non-local function symbol at `start`). */
  names: string[];
  /** Code no symbol covers and nothing is seen to enter (a root unless PLT-like; see below). */
  unentered: boolean;
}

/** What is reached for one set of used names. */
export interface Reached {
  /** Whether code at `addr` may run (true where no node says otherwise). */
  counts(addr: number): boolean;
  /** Names (imports, or own interposable exports) the reached code calls or reads. */
  uses: ReadonlySet<string>;
}

/**
 * A call graph as plain data: typed arrays and string lists, so it crosses worker threads by
 * structured clone in one copy (`check` analyses each library once per run and hands every
 * worker this, src/check/library-store.ts). Lists per node are CSR: node i's edges are
 * edges[edgeStart[i] .. edgeStart[i + 1]), likewise uses (indices into `names`) and exports.
 */
export interface CallGraphData {
  starts: Float64Array;
  ends: Float64Array;
  edgeStart: Int32Array;
  edges: Int32Array;
  /** Every name a node reads the GOT slot of or exports. */
  names: string[];
  useStart: Int32Array;
  uses: Int32Array;
  exportStart: Int32Array;
  exports: Int32Array;
  roots: Int32Array;
  dataUses: string[];
}

/** Nodes (sorted by start) covering `addr`: symbols may nest, so look back a little. */
function covering(starts: ArrayLike<number>, ends: ArrayLike<number>, addr: number): number[] {
  let lo = 0;
  let hi = starts.length - 1;
  let idx = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid]! <= addr) {
      idx = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  const out: number[] = [];
  for (let i = idx; i >= 0 && i > idx - 16; i--) if (addr < ends[i]!) out.push(i);
  return out;
}

/** Node lists as CSR: offsets (n + 1) and the concatenated items. */
function csr(lists: readonly (readonly number[])[]): { start: Int32Array; items: Int32Array } {
  const start = new Int32Array(lists.length + 1);
  lists.forEach((l, i) => {
    start[i + 1] = start[i]! + l.length;
  });
  const items = new Int32Array(start[lists.length]!);
  lists.forEach((l, i) => items.set(l, start[i]!));
  return { start, items };
}

export class CallGraph {
  /**
   * The node that exports each name, or ~k for several (`shared[k]`, in node order): most
   * names have one, and an array per name was a tenth of a directory check's heap.
   */
  private readonly byName = new Map<string, number>();
  private readonly shared: number[][] = [];
  private readonly dataUseSet: ReadonlySet<string>;
  /** What the fixed roots reach on their own: the same for every program (memoised). */
  private base: { seen: Uint8Array; uses: ReadonlySet<string> } | undefined;
  /** covering() per address asked (the same sites are asked for every program). */
  private readonly coverMemo = new Map<number, number[]>();

  constructor(readonly data: CallGraphData) {
    const { exportStart, exports, names } = data;
    for (let i = 0; i + 1 < exportStart.length; i++) {
      for (let k = exportStart[i]!; k < exportStart[i + 1]!; k++) {
        const name = names[exports[k]!]!;
        const x = this.byName.get(name);
        if (x === undefined) this.byName.set(name, i);
        else if (x >= 0) this.byName.set(name, ~(this.shared.push([x, i]) - 1));
        else this.shared[~x]!.push(i);
      }
    }
    this.dataUseSet = new Set(data.dataUses);
  }

  /** Nodes covering `addr` (nodes are sorted by start; symbols may nest, so look back a little). */
  covering(addr: number): number[] {
    return covering(this.data.starts, this.data.ends, addr);
  }

  /** What runs when the names in `used` are called from outside (and the fixed roots run). */
  reach(used: ReadonlySet<string>): Reached {
    const w = this.walk();
    for (const name of used) w.enter(name);
    w.run();
    return w.reached();
  }

  /**
   * A walk from the fixed roots, to which names called from outside are added as they become
   * known (reachAcross): what is reached only grows, so no node is visited twice.
   */
  walk(): GraphWalk {
    if (!this.base) {
      const w = new GraphWalk(this, new Uint8Array(this.data.starts.length), new Set(this.data.dataUses));
      for (const r of this.data.roots) w.visit(r);
      w.run();
      this.base = { seen: w.seen, uses: w.uses };
    }
    return new GraphWalk(this, this.base.seen.slice(), new AddedTo(this.base.uses));
  }

  /** @internal (GraphWalk) The node exporting `name`, ~k for several (sharedExporters(k)), undefined for none. */
  exporter(name: string): number | undefined {
    return this.byName.get(name);
  }

  /** @internal (GraphWalk) The nodes exporting a name exporter() gave as ~k. */
  sharedExporters(k: number): readonly number[] {
    return this.shared[k]!;
  }

  /** How many names the graph's nodes export. */
  get exportCount(): number {
    return this.byName.size;
  }

  /** The names the graph's nodes export. */
  exportNames(): IterableIterator<string> {
    return this.byName.keys();
  }

  /** @internal (GraphWalk) */
  isDataUse(name: string): boolean {
    return this.dataUseSet.has(name);
  }

  /** @internal (GraphWalk) covering(), memoised by address. */
  coveringMemo(addr: number): number[] {
    let c = this.coverMemo.get(addr);
    if (!c) this.coverMemo.set(addr, (c = this.covering(addr)));
    return c;
  }
}

/**
 * A set that starts as `base` and only grows, without copying it: every program's walk of a
 * library starts from the names its fixed roots use (hundreds), and a copy per program and
 * library was a sixth of a directory check's allocation. Iterates as a copy would: `base` in
 * its order, then what was added.
 */
export class AddedTo implements ReadonlySet<string> {
  private readonly more = new Set<string>();
  constructor(private readonly base: ReadonlySet<string>) {}
  has(v: string): boolean {
    return this.base.has(v) || this.more.has(v);
  }
  add(v: string): this {
    if (!this.base.has(v)) this.more.add(v);
    return this;
  }
  get size(): number {
    return this.base.size + this.more.size;
  }
  *values(): SetIterator<string> {
    yield* this.base;
    yield* this.more;
  }
  keys(): SetIterator<string> {
    return this.values();
  }
  *entries(): SetIterator<[string, string]> {
    for (const v of this.values()) yield [v, v];
  }
  [Symbol.iterator](): SetIterator<string> {
    return this.values();
  }
  forEach(f: (v: string, k: string, s: ReadonlySet<string>) => void): void {
    for (const v of this.values()) f(v, v, this);
  }
}

/** One walk over a CallGraph: the nodes seen and the names their code uses. */
export class GraphWalk {
  private readonly stack: number[] = [];

  constructor(
    private readonly g: CallGraph,
    readonly seen: Uint8Array,
    /** The data relocations' names, and those of every GOT slot seen code reads. */
    readonly uses: Set<string> | AddedTo,
  ) {}

  visit(i: number): void {
    if (!this.seen[i]) {
      this.seen[i] = 1;
      this.stack.push(i);
    }
  }

  /** The name is called from outside: the nodes exporting it run. */
  enter(name: string): void {
    const x = this.g.exporter(name);
    if (x === undefined) return;
    if (x >= 0) this.visit(x);
    else for (const i of this.g.sharedExporters(~x)) this.visit(i);
  }

  /** enter() each of `names`, looking up whichever side is smaller. */
  enterAll(names: readonly string[], asSet: () => ReadonlySet<string>): void {
    if (names.length <= this.g.exportCount) for (const n of names) this.enter(n);
    else {
      const s = asSet();
      for (const n of this.g.exportNames()) if (s.has(n)) this.enter(n);
    }
  }

  /** Visits everything reachable from what was visited; `onUse` hears each name newly used. */
  run(onUse?: (name: string) => void): void {
    const { edgeStart, edges, useStart, uses, names } = this.g.data;
    const stack = this.stack;
    while (stack.length) {
      const n = stack.pop()!;
      for (let k = edgeStart[n]!; k < edgeStart[n + 1]!; k++) this.visit(edges[k]!);
      for (let k = useStart[n]!; k < useStart[n + 1]!; k++) {
        const u = names[uses[k]!]!;
        if (this.uses.has(u)) continue;
        this.uses.add(u);
        onUse?.(u);
        // A call through the PLT to the library's own export (interposable): its own code runs
        // unless another object defines the name first, so it counts too. (A name the data
        // relocations hold is in `uses` from the start, so it does not enter here.)
        this.enter(u);
      }
    }
  }

  reached(): Reached {
    const seen = this.seen;
    const g = this.g;
    return {
      counts: (addr) => {
        const c = g.coveringMemo(addr);
        return c.length === 0 || c.some((i) => seen[i] === 1);
      },
      uses: this.uses,
    };
  }
}

/** The call graph of a library, or undefined when its ISA has no branch decoding here (all of it counts). */
export function buildCallGraph(elf: ElfInfo, src: ElfBytes): CallGraph | undefined {
  const bytes = src.bytes;
  const isa = elf.arch && graphIsa(elf, bytes);
  if (!isa || !elf.arch) return undefined;
  const regions = isa.code.filter((r) => r.offset + r.size <= bytes.byteLength && r.size > 0);
  if (!regions.length) return undefined;
  // Time bound: a library with more code than this (libLLVM: 40 s) gets no graph, so all of it
  // counts (fail closed) rather than stall a directory check. (Decided before its data is read.)
  if (regions.reduce((n, r) => n + r.size, 0) > MAX_CODE) return undefined;
  // The data segments hold function pointers: a lazily read file reads them now, where the
  // graph reads them (heldByData, objectNodes, absoluteRefs): a program loaded at a fixed
  // address, or a static one. A relocatable image holds none but through a relocation, whose
  // addend is in the entry (the graph's arches are RELA ones): its data is not read (a
  // directory check read 100 MB of libraries' data for nothing, libicudata's 31 MB among them).
  if (elf.type === 'exec' || elf.static) for (const l of elf.loads) if (l.offset + l.filesz <= bytes.byteLength) src.ensure(l.offset, l.filesz);
  // The loader's relocations, read by readElf with the code (fail closed without them).
  if (!elf.dynamicRelocations) throw new Error(`${elf.file}: buildCallGraph needs an ElfInfo read with its code`);
  // Each phase is a function of its own: V8 optimises (and, when a phase meets a new shape,
  // re-optimises) one phase at a time, not one function of all of them (issue 13: re-compiling
  // this function whole was about 1.5 s of a directory check's compiler time).
  const code = new CodeSpan(regions);
  const held = heldByData(elf, bytes, code);
  const fixed = [elf.entry, elf.init, elf.fini].filter((a): a is number => a !== undefined && a !== 0 && code.regionOf(a) !== undefined);
  const { symNodes, unsized } = symbolNodes(elf, code);
  // Entries inside code no symbol covers: where a call, a rip-relative reference or a
  // relocation points, found by one sweep of each region, resynchronised at every symbol.
  const entries = new Set<number>(held.addrs);
  // Code addresses objects hold cut stretches as held ones do.
  for (const l of held.objs?.code ?? []) for (const a of l) if (code.regionOf(a)) entries.add(a);
  for (const a of fixed) entries.add(a);
  const sweeps = sweepRegions(isa, code, symNodes, entries);
  // Code that branches where the graph does not decode: its edges would be lost (fail closed).
  if (!sweeps) return undefined;
  const nodes = cutNodes(code, symNodes, unsized, entries);
  const starts = Float64Array.from(nodes, (n) => n.start);
  const ends = Float64Array.from(nodes, (n) => n.end);
  const graph = { covering: (addr: number) => covering(starts, ends, addr) };
  const names = new NameIds();
  const slotIds = new Map<number, number>();
  for (const [a, n] of held.slots) slotIds.set(a, names.id(n));
  let slotLo = Infinity;
  let slotHi = -Infinity;
  for (const a of slotIds.keys()) {
    slotLo = Math.min(slotLo, a);
    slotHi = Math.max(slotHi, a);
  }
  const refs: Refs = { code, starts, ends, slotIds, slotLo, slotHi, objs: held.objs, edges: new Pairs(), uses: new Pairs(), roots: new Set<number>() };
  sweptEdges(refs, nodes, sweeps, graph);
  // Every rel32 at any byte that lands on a node's start or a GOT slot, so a stretch the sweep
  // misread keeps its calls: one pass over each region, a hit credited to every node around it.
  // (A fixed-width ISA's decoding saw every instruction: there is nothing to search for.)
  if (!isa.exact) {
    const scan = rel32Scan(bytes, refs, nodes);
    for (const r of regions) scanRel32(scan, r);
  }
  // A program loaded at a fixed address takes code addresses as absolute immediates and
  // displacements (mov $main,%rdi; a jump table's disp32): every 32-bit word at any byte that
  // lands in code is a reference from the node around it, like a rip-relative one.
  if (elf.type === 'exec') absoluteRefs(bytes, refs, graph);
  const objectStarts = held.objs?.size ? objectNodes(held.objs, regions, bytes, graph, ends, refs.edges, refs.roots) : [];
  for (const a of fixed) for (const j of graph.covering(a)) refs.roots.add(j);
  for (const a of held.addrs) for (const j of graph.covering(a)) refs.roots.add(j);
  return assemble(nodes, objectStarts, refs, names, held.dataUses);
}

/** The code regions, and which one holds an address. */
class CodeSpan {
  readonly lo: number;
  readonly hi: number;
  constructor(readonly regions: readonly ElfExecRegion[]) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const r of regions) {
      lo = Math.min(lo, r.addr);
      hi = Math.max(hi, r.addr + r.size);
    }
    this.lo = lo;
    this.hi = hi;
  }
  regionOf(addr: number): ElfExecRegion | undefined {
    for (const r of this.regions) if (addr >= r.addr && addr < r.addr + r.size) return r;
    return undefined;
  }
  /** Index of the region holding `addr` (it must be in one). */
  indexOf(addr: number): number {
    let ri = 0;
    while (!(addr >= this.regions[ri]!.addr && addr < this.regions[ri]!.addr + this.regions[ri]!.size)) ri++;
    return ri;
  }
}

/** What relocations and data words say about the code: GOT slots, held code addresses, data objects. */
interface Held {
  /** GOT slots (read by code), by address: the name each holds. */
  slots: Map<number, string>;
  /** Names whose address is written into data (whoever reads it may call it). */
  dataUses: Set<string>;
  /** Code addresses held by relocations or data words. */
  addrs: Set<number>;
  /** A static program's data objects: a pointer inside one is the object's edge, not a root. */
  objs: DataObjects | undefined;
}

function heldByData(elf: ElfInfo, bytes: Uint8Array, code: CodeSpan): Held {
  // The relocation types whose slot code reads (through the PLT or a GOT load), and IRELATIVE's.
  const { globDat, jumpSlot, irelative } = ARCHES[elf.arch!].relocs;
  const slots = new Map<number, string>();
  const dataUses = new Set<string>();
  const held = new Set<number>();
  const objs = elf.static ? new DataObjects(elf, (a) => code.regionOf(a) !== undefined) : undefined;
  const rel = elf.dynamicRelocations!;
  for (let i = 0; i < rel.length; i++) {
    const type = rel.type[i]!;
    const offset = rel.offset[i]!;
    const addend = rel.addend[i]!; // NaN: a REL entry, its addend in the slot
    const symbol = rel.symbol[i]! >= 0 ? rel.symbols[rel.symbol[i]!]! : undefined;
    if (symbol?.name) {
      if (type === globDat || type === jumpSlot) slots.set(offset, symbol.name);
      else {
        // A pointer written into data: whoever reads it may call it. An own function's runs
        // from here (a slot code reads counts through the code that reads it instead).
        dataUses.add(symbol.name);
        const to = symbol.value + (Number.isNaN(addend) ? 0 : addend);
        if (symbol.shndx !== 0 && code.regionOf(to)) held.add(to);
      }
    } else if (!Number.isNaN(addend) && objs && type !== irelative && objs.word(offset, addend)) {
      // held by the object the relocation writes into (data-refs.ts)
    } else if (!Number.isNaN(addend) && code.regionOf(addend)) held.add(addend);
  }
  // Pointer-sized words of the loaded data that equal a code address: only where the file is
  // loaded at a fixed address (ET_EXEC). A relocatable image (ET_DYN) holds no absolute address
  // without a relocation, and its read-only segments hold symbol tables whose st_value words
  // would root every export.
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = elf.endian === 'little';
  for (const l of elf.type === 'exec' ? elf.loads : []) {
    if (code.regions.some((r) => r.offset >= l.offset && r.offset < l.offset + l.filesz)) continue;
    const end = Math.min(l.offset + l.filesz, bytes.byteLength);
    for (let o = l.offset + ((8 - (l.vaddr % 8)) % 8); o + 8 <= end; o += 8) {
      const v = dv.getUint32(o + 4, le) * 0x100000000 + dv.getUint32(o, le);
      if (v !== 0 && objs?.word(l.vaddr + (o - l.offset), v)) continue; // held by its object
      if (v !== 0 && code.regionOf(v)) held.add(v);
    }
  }
  return { slots, dataUses, addrs: held, objs };
}

/** Function symbols (and a static program's FDE functions) as nodes, capped at their region, sorted. */
function symbolNodes(elf: ElfInfo, code: CodeSpan): { symNodes: Node[]; unsized: Node[] } {
  const symNodes: Node[] = [];
  const exported = new Map<number, Set<string>>();
  for (const s of elf.symbols) {
    if (s.type !== 'func' || s.value === 0) continue;
    if (s.dynamic && s.bind !== 'local') {
      let e = exported.get(s.value);
      if (!e) exported.set(s.value, (e = new Set()));
      e.add(s.name);
    }
  }
  const seenSym = new Map<string, Node>();
  for (const s of elf.symbols) {
    if (s.type !== 'func' || s.value === 0) continue;
    const r = code.regionOf(s.value);
    if (!r) continue;
    const key = `${s.value}/${s.size}`;
    if (seenSym.has(key)) continue;
    // A symbol without a size ends where the next one starts (below).
    const node: Node = {
      start: s.value,
      end: s.size > 0 ? Math.min(s.value + s.size, r.addr + r.size) : -1,
      names: [...(exported.get(s.value) ?? [])],
      unentered: false,
    };
    seenSym.set(key, node);
    symNodes.push(node);
  }
  // A static program's stripped functions, from its unwind tables (libraries: their symbols only).
  if (elf.static) for (const n of frameNodes(elf, symNodes)) symNodes.push(n);
  symNodes.sort((a, b) => a.start - b.start || b.end - a.end);
  const unsized = symNodes.filter((n) => n.end < 0);
  for (let i = 0; i < symNodes.length; i++) {
    const n = symNodes[i]!;
    if (n.end >= 0) continue;
    const r = code.regionOf(n.start)!;
    let next = r.addr + r.size;
    for (let j = i + 1; j < symNodes.length; j++)
      if (symNodes[j]!.start > n.start) {
        next = Math.min(next, symNodes[j]!.start);
        break;
      }
    n.end = next;
  }
  return { symNodes, unsized };
}

/**
 * Each region's code read once (x86: the sweep kept per instruction), adding to `entries` what
 * it calls, references, or jumps to out of a symbol; undefined when a region does not decode.
 */
function sweepRegions(isa: GraphIsa, code: CodeSpan, symNodes: readonly Node[], entries: Set<number>): RegionCode[] | undefined {
  const inSym = (a: number): boolean => {
    let lo = 0;
    let hi = symNodes.length - 1;
    let idx = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (symNodes[mid]!.start <= a) {
        idx = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    for (let i = idx; i >= 0 && i > idx - 16; i--) if (a < symNodes[i]!.end) return true;
    return false;
  };
  const sweeps: RegionCode[] = [];
  for (const r of code.regions) {
    const delta = r.addr - r.offset;
    const cutSet = new Set<number>();
    for (const n of symNodes) if (n.start >= r.addr && n.start < r.addr + r.size) cutSet.add(n.start - delta);
    const cuts = [...cutSet].sort((a, b) => a - b);
    const sweep = isa.region(r, cuts);
    const whole = sweep.forEachRef((kind, t, from) => {
      if (kind === 'call') entries.add(t);
      else if (kind === 'mem') {
        if (code.regionOf(t)) entries.add(t);
      }
      // A function's jump out of its symbol (into its stripped .cold part, or a tail call).
      else if (inSym(from) && !inSym(t)) entries.add(t);
    });
    if (!whole) return undefined;
    sweeps.push(sweep);
  }
  return sweeps;
}

/**
 * The symbols' nodes and the uncovered stretches cut at the entries, sorted. A symbol without
 * a size (_init) ends at the first entry after it too, so the PLT after it is not taken for its code.
 */
function cutNodes(code: CodeSpan, symNodes: readonly Node[], unsized: readonly Node[], entries: ReadonlySet<number>): Node[] {
  const nodes: Node[] = symNodes.slice();
  const sortedEntries = [...entries].sort((a, b) => a - b);
  for (const n of unsized) {
    const k = lowerBound(sortedEntries, n.start + 1);
    if (k < sortedEntries.length && sortedEntries[k]! < n.end) n.end = sortedEntries[k]!;
  }
  for (const r of code.regions) {
    let at = r.addr;
    const gaps: [number, number][] = [];
    for (const n of symNodes) {
      if (!(n.end > r.addr && n.start < r.addr + r.size)) continue;
      if (n.start > at) gaps.push([at, n.start]);
      at = Math.max(at, n.end);
    }
    if (at < r.addr + r.size) gaps.push([at, r.addr + r.size]);
    for (const [lo, hi] of gaps) {
      let s = lo;
      for (let k = lowerBound(sortedEntries, lo + 1); k < sortedEntries.length && sortedEntries[k]! < hi; k++) {
        nodes.push({ start: s, end: sortedEntries[k]!, names: [], unentered: !entries.has(s) });
        s = sortedEntries[k]!;
      }
      nodes.push({ start: s, end: hi, names: [], unentered: !entries.has(s) });
    }
  }
  nodes.sort((a, b) => a.start - b.start || b.end - a.end);
  return nodes;
}

/** What the edge passes share: the nodes' extents, the GOT slots, and the pairs they collect. */
interface Refs {
  code: CodeSpan;
  starts: Float64Array;
  ends: Float64Array;
  slotIds: ReadonlyMap<number, number>;
  slotLo: number;
  slotHi: number;
  objs: DataObjects | undefined;
  edges: Pairs;
  uses: Pairs;
  roots: Set<number>;
}

/**
 * Edges and uses per node from a sweep from its own start, falling through into the next, and
 * the roots among the stretches nothing enters.
 */
function sweptEdges(refs: Refs, nodes: readonly Node[], sweeps: readonly RegionCode[], graph: { covering(addr: number): number[] }): void {
  const { code, starts, ends, slotIds, slotLo, slotHi, objs, edges, uses, roots } = refs;
  // The node whose references `target` takes (one function for all of them: a library has
  // hundreds of thousands of nodes).
  let i = 0;
  const target = (t: number): void => {
    const slot = t >= slotLo && t <= slotHi ? slotIds.get(t) : undefined;
    if (slot !== undefined) uses.add(i, slot);
    else if (t >= code.lo && t < code.hi && code.regionOf(t)) {
      const c = lastStartAtOrBelow(starts, t);
      for (let j = c; j >= 0 && j > c - 16; j--) {
        if (!(t < ends[j]!)) continue;
        if (j !== i) edges.add(i, j);
        else objs?.ref(i, t);
      }
    }
  };
  // A page an address was formed in without its low bits known: all of it is referenced.
  const onPage = (p: number): void => pageRefs(p, i, slotIds, starts, ends, edges, uses);
  for (; i < nodes.length; i++) {
    const n = nodes[i]!;
    const ri = code.indexOf(n.start);
    const r = code.regions[ri]!;
    const delta = r.addr - r.offset;
    const f = sweeps[ri]!.visit(n.start - delta, Math.min(n.end, r.addr + r.size) - delta, target, onPage);
    // Compilers pad between functions only after a jump, a return or a call that does not
    // return: padding itself never runs on into the next function.
    if (f & STRETCH_FALLS && !(f & STRETCH_PADDING)) for (const j of graph.covering(n.end)) if (j !== i) edges.add(i, j);
    // A stretch of uncovered code nothing enters (no call, reference, relocation) may still run
    // (reached by a short jump or a way not modelled): it is a root, unless it is PLT-like.
    if (n.unentered && !(f & STRETCH_STUB)) roots.add(i);
  }
}

/**
 * What the byte-wise rel32 pass needs. Node starts are a bitmap over the code's span (it is at
 * most MAX_CODE of code, so the span is small but for odd layouts, which take the map).
 */
function rel32Scan(bytes: Uint8Array, refs: Refs, nodes: readonly Node[]): Rel32Scan {
  const { code, starts, ends, slotIds, slotLo, slotHi, edges, uses } = refs;
  const startSet = new Map<number, number>();
  for (let i = 0; i < nodes.length; i++) if (!startSet.has(nodes[i]!.start)) startSet.set(nodes[i]!.start, i);
  const span = code.hi - code.lo;
  const startBits = span <= 8 * MAX_CODE ? new Uint8Array((span >> 3) + 1) : undefined;
  if (startBits) for (const a of startSet.keys()) if (a >= code.lo && a < code.hi) startBits[(a - code.lo) >> 3]! |= 1 << ((a - code.lo) & 7);
  return { bytes, codeLo: code.lo, codeHi: code.hi, startBits, startSet, slotLo, slotHi, slotIds, starts, ends, edges, uses };
}

/** A fixed-address program's 32-bit words (at any byte) that land in code: references from the node around them. */
function absoluteRefs(bytes: Uint8Array, refs: Refs, graph: { covering(addr: number): number[] }): void {
  const { code, ends, objs, edges } = refs;
  for (const r of code.regions) {
    const delta = r.addr - r.offset;
    const end = r.offset + r.size;
    for (let o = r.offset; o + 4 <= end; o++) {
      const t = (bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24)) >>> 0;
      if (objs?.mayReach(t)) for (const i of graph.covering(o + delta)) if (o + delta + 4 <= ends[i]!) objs.ref(i, t);
      if (t < code.lo || t >= code.hi || !code.regionOf(t)) continue;
      const to = graph.covering(t);
      for (const i of graph.covering(o + delta)) {
        if (o + delta + 4 > ends[i]!) continue; // the word must lie inside the node
        for (const j of to) if (j !== i) edges.add(i, j);
      }
    }
  }
}

/** The graph as plain data: the pairs made lists per node, a static program's objects after the code. */
function assemble(nodes: readonly Node[], objectStarts: readonly number[], refs: Refs, names: NameIds, dataUses: ReadonlySet<string>): CallGraph {
  const count = nodes.length + objectStarts.length;
  const e = refs.edges.lists(count);
  const u = refs.uses.lists(count);
  const lists: number[][] = [];
  for (const n of nodes) lists.push(n.names.map((name) => names.id(name)));
  for (let k = 0; k < objectStarts.length; k++) lists.push([]);
  const x = csr(lists);
  const starts = new Float64Array(count);
  starts.set(refs.starts);
  starts.set(objectStarts, nodes.length);
  const ends = new Float64Array(count);
  ends.set(refs.ends);
  ends.set(objectStarts, nodes.length);
  return new CallGraph({
    starts,
    ends,
    edgeStart: e.start,
    edges: e.items,
    names: names.list,
    useStart: u.start,
    uses: u.items,
    exportStart: x.start,
    exports: x.items,
    roots: Int32Array.from(refs.roots),
    dataUses: [...dataUses],
  });
}

/** Names as ids, in the order first asked. */
class NameIds {
  readonly list: string[] = [];
  private readonly ids = new Map<string, number>();
  id(n: string): number {
    let k = this.ids.get(n);
    if (k === undefined) this.ids.set(n, (k = this.list.push(n) - 1));
    return k;
  }
}

/** (from, to) pairs of node indices, or of a node and a name id; made lists per node (CSR) once. */
class Pairs {
  private a = new Int32Array(1024);
  private b = new Int32Array(1024);
  private n = 0;

  add(from: number, to: number): void {
    if (this.n === this.a.length) {
      this.a = doubled(this.a);
      this.b = doubled(this.b);
    }
    this.a[this.n] = from;
    this.b[this.n++] = to;
  }

  /** Per node (of `count`), its distinct `to`s in ascending order. */
  lists(count: number): { start: Int32Array; items: Int32Array } {
    const start = new Int32Array(count + 1);
    for (let k = 0; k < this.n; k++) start[this.a[k]! + 1]!++;
    for (let i = 0; i < count; i++) start[i + 1]! += start[i]!;
    const fill = start.slice(0, count);
    const all = new Int32Array(this.n);
    for (let k = 0; k < this.n; k++) all[fill[this.a[k]!]!++] = this.b[k]!;
    // Sort and deduplicate each node's list in place, then close the gaps.
    const out = new Int32Array(count + 1);
    let w = 0;
    for (let i = 0; i < count; i++) {
      const l = all.subarray(start[i]!, start[i + 1]!).sort();
      out[i] = w;
      for (let k = 0; k < l.length; k++) if (k === 0 || l[k] !== l[k - 1]) all[w++] = l[k]!;
    }
    out[count] = w;
    return { start: out, items: all.slice(0, w) };
  }
}

/** Index of the last of `starts` (ascending) at or below `addr`, or -1. */
function lastStartAtOrBelow(starts: Float64Array, addr: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  let idx = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid]! <= addr) {
      idx = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return idx;
}

interface Rel32Scan {
  bytes: Uint8Array;
  codeLo: number;
  codeHi: number;
  startBits: Uint8Array | undefined;
  startSet: ReadonlyMap<number, number>;
  slotLo: number;
  slotHi: number;
  slotIds: ReadonlyMap<number, number>;
  starts: Float64Array;
  ends: Float64Array;
  edges: Pairs;
  uses: Pairs;
}

/**
 * The byte-wise rel32 pass over one region (most of the graph's time: it looks at every byte):
 * a word is put together only at offsets whose top byte lets it land anywhere (topBytes), and
 * the node around the word is followed as the offset grows rather than searched for.
 */
function scanRel32(s: Rel32Scan, r: ElfExecRegion): void {
  const { bytes, codeLo, codeHi, startBits, startSet, slotLo, slotHi, slotIds, starts, ends, edges, uses } = s;
  const delta = r.addr - r.offset;
  const end = r.offset + r.size;
  if (end - r.offset < 4) return;
  // A word can land in code or on a slot only if its top byte is one of a few values: every
  // target lies in [lo, hi) and every word's address in [r.addr, r.addr + r.size), so the
  // int32 lies in a range a few MB wide. Its top byte (the byte at o + 3), looked up in this
  // table, rules out most offsets with one load, before the word is even put together.
  const lo = Math.min(codeLo, slotLo - 4);
  const hi = Math.max(codeHi, slotHi + 1);
  const top = topBytes(lo - (r.addr + r.size), hi - 1 - (r.addr + 4));
  // The last node starting at or below the word's address, moved on as the address grows.
  let at = lastStartAtOrBelow(starts, r.addr);
  for (let o = r.offset; o + 4 <= end; o++) {
    if (top[bytes[o + 3]!] === 0) continue;
    const t = o + delta + 4 + (bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24));
    // Most words land nowhere: two range tests before any lookup.
    const inCode = t >= codeLo && t < codeHi;
    const inGot = t + 4 >= slotLo && t <= slotHi;
    if (!inCode && !inGot) continue;
    const j = inCode && (!startBits || (startBits[(t - codeLo) >> 3]! >> ((t - codeLo) & 7)) & 1) ? startSet.get(t) : undefined;
    // A slot read with an immediate after the displacement (cmpq $0, slot(%rip)): up to 4 bytes on.
    const slot = inGot ? (slotIds.get(t) ?? slotIds.get(t + 1) ?? slotIds.get(t + 2) ?? slotIds.get(t + 4)) : undefined;
    if (j === undefined && slot === undefined) continue;
    const a = o + delta;
    while (at + 1 < starts.length && starts[at + 1]! <= a) at++;
    for (let i = at; i >= 0 && i > at - 16; i--) {
      if (!(a < ends[i]!)) continue;
      if (a + 4 > ends[i]!) continue; // the word must lie inside the node
      if (j !== undefined && j !== i) edges.add(i, j);
      if (slot !== undefined) uses.add(i, slot);
    }
  }
}

/**
 * Which top bytes (byte 3 of a little-endian word) an int32 in [min, max] can have: 1 per
 * byte value. Every value when the range is too wide to say (or empty: then nothing is ruled
 * out either, so a mistake here can only cost time).
 */
export function topBytes(min: number, max: number): Uint8Array {
  const out = new Uint8Array(256);
  const a = Math.max(-128, Math.floor(min / 2 ** 24));
  const b = Math.min(127, Math.floor(max / 2 ** 24));
  if (!(a <= b) || b - a >= 255) return out.fill(1);
  for (let h = a; h <= b; h++) out[h & 0xff] = 1;
  return out;
}

/**
 * Nodes for the functions a static program's FDEs describe where no symbol starts or lies
 * (`elf.frames`; a signal frame starts a byte before its code, so it is left to the stretches).
 * Like a symbol's node, one is a root only when something roots it: its start is where the
 * unwinder, and so the compiler, says a function begins.
 */
function frameNodes(elf: ElfInfo, symNodes: readonly Node[]): Node[] {
  const out: Node[] = [];
  const starts = new Set(symNodes.map((n) => n.start));
  const sized = symNodes.filter((n) => n.end > n.start).sort((a, b) => a.start - b.start);
  let k = 0;
  let coveredTo = -Infinity;
  const f = elf.frames;
  for (let i = 0; i < (f?.length ?? 0); i++) {
    const start = f!.start[i]!;
    if (f!.signal[i] || starts.has(start)) continue;
    while (k < sized.length && sized[k]!.start <= start) coveredTo = Math.max(coveredTo, sized[k++]!.end);
    if (start < coveredTo) continue;
    starts.add(start);
    out.push({ start, end: f!.end[i]!, names: [], unentered: false });
  }
  return out;
}

/**
 * What runs in a static x86-64 program (the C library linked in): its call graph reached from
 * the entry point, DT_INIT/FINI, the init/fini arrays and every code address data or a
 * relocation holds, so a site in a function nothing reaches does not count. Undefined (all of
 * the program counts) when there is no graph, or when fewer than half of the code's bytes lie
 * in a function whose extent a symbol or an FDE gives (a stripped program without unwind
 * tables: what is a function is not known).
 */
export function staticReach(elf: ElfInfo, src: ElfBytes): Reached | undefined {
  if (!elf.static) return undefined;
  let code = 0;
  let known = 0;
  const ext: [number, number][] = [];
  for (const s of elf.symbols) if (s.type === 'func' && s.size > 0) ext.push([s.value, s.value + s.size]);
  const f = elf.frames;
  for (let i = 0; i < (f?.length ?? 0); i++) ext.push([f!.start[i]!, f!.end[i]!]);
  ext.sort((a, b) => a[0] - b[0]);
  for (const r of elf.exec) {
    code += r.size;
    let at = r.addr;
    for (const [lo, hi] of ext) {
      const a = Math.max(lo, at);
      const b = Math.min(hi, r.addr + r.size);
      if (b > a) {
        known += b - a;
        at = b;
      }
    }
  }
  if (code === 0 || known * 2 < code) return undefined;
  return buildCallGraph(elf, src)?.reach(new Set());
}

/**
 * A static program's data objects as nodes after the code's (their starts above every address,
 * so `covering` never finds one): edges from the code that refers to an object (rip-relative
 * references found by the sweep or at any byte, absolute ones in a fixed-address program), from
 * an object to the code and objects its words point at; roots where data-refs.ts says.
 */
function objectNodes(
  objs: DataObjects,
  regions: readonly ElfExecRegion[],
  bytes: Uint8Array,
  graph: { covering(addr: number): number[] },
  ends: Float64Array,
  edges: Pairs,
  roots: Set<number>,
): number[] {
  // rip-relative data references at any byte of code (a stretch the sweep misread keeps its reads).
  for (const r of regions) {
    const delta = r.addr - r.offset;
    for (let o = r.offset; o + 4 <= r.offset + r.size; o++) {
      const t = o + delta + 4 + (bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24));
      if (!objs.mayReach(t)) continue;
      for (const i of graph.covering(o + delta)) if (o + delta + 4 <= ends[i]!) objs.ref(i, t);
    }
  }
  const base = ends.length;
  const starts: number[] = [];
  for (let k = 0; k < objs.size; k++) {
    for (const a of objs.code[k]!) for (const j of graph.covering(a)) edges.add(base + k, j);
    for (const k2 of objs.objects[k]!) edges.add(base + k, base + k2);
    starts.push(OBJECT_NODES + k);
  }
  for (const [from, k] of objs.refs) edges.add(from, base + k);
  for (const k of objs.roots) roots.add(base + k);
  return starts;
}

/** Page size of `CodeRefs.pages`: the span of an AArch64 `adrp`'s low 12 bits. */
const PAGE = 4096;

/**
 * Node i references every address of the page at `p` (CodeRefs.pages): an edge to every node
 * that overlaps it and a use of every GOT slot in it (a slot is a pointer: up to 7 bytes before
 * the page may still reach into it).
 */
function pageRefs(p: number, i: number, slotIds: ReadonlyMap<number, number>, starts: Float64Array, ends: Float64Array, edges: Pairs, uses: Pairs): void {
  for (const [a, id] of slotIds) if (a + 8 > p && a < p + PAGE) uses.add(i, id);
  for (let j = 0; j < starts.length; j++) if (j !== i && starts[j]! < p + PAGE && ends[j]! > p) edges.add(i, j);
}

/** Index of the first element >= v in a sorted array. */
function lowerBound(a: readonly number[], v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** One loaded library: its graph (undefined: all of it counts) and its imports. */
export interface LoadedLibrary {
  graph: CallGraph | undefined;
  imports: readonly string[];
  exports: readonly string[];
}

/** Imports that reach a function by a name only known at run time. */
const BY_NAME = new Set(['dlsym', 'dlvsym']);

/**
 * What each library reaches, given the names the program imports. Symbols bind by name across
 * every loaded object, so the names any reached code uses root every library that exports
 * them; until no library uses a new name. A library without a graph uses all its imports.
 * Returns, per library, its Reached (undefined: all of it counts).
 *
 * Each library is walked once: a name that becomes used is added to every library's walk,
 * which goes on from where it stopped (what is reached only grows with the names used, so
 * this is the least fixed point a walk per round from scratch would reach, without the rounds).
 */
export function reachAcross(programImports: readonly string[], libs: readonly LoadedLibrary[]): (Reached | undefined)[] {
  const used = new Set(programImports);
  for (const l of libs) if (!l.graph) l.imports.forEach((n) => used.add(n));
  // A program that looks functions up by name (dlsym) may call any export: all of them count.
  // (A library's own dlsym, which looks up its plug-ins', is not taken to reach its neighbours.)
  if (programImports.some((n) => BY_NAME.has(n))) for (const l of libs) l.exports.forEach((n) => used.add(n));
  const walks = libs.map((l) => l.graph?.walk());
  // What the roots reach uses names of its own; every name used is fed to every walk.
  let pending: string[] = [...used];
  const onUse = (u: string): void => {
    if (!used.has(u)) {
      used.add(u);
      pending.push(u);
    }
  };
  for (const w of walks) if (w) w.uses.forEach(onUse);
  while (pending.length) {
    const names = pending;
    pending = [];
    let set: Set<string> | undefined;
    const asSet = (): Set<string> => (set ??= new Set(names));
    for (const w of walks) {
      if (!w) continue;
      w.enterAll(names, asSet);
      w.run(onUse);
    }
  }
  return walks.map((w) => w?.reached());
}
