/**
 * --sysroot: the libraries a dynamic program loads (DT_NEEDED, breadth first), each analysed
 * once per run (shared by the run's workers, library-store.ts) and kept only as a compact
 * summary, and their calls counted only where the program's use of them reaches them
 * (src/elf/callgraph.ts): imports by name, sites by address. The C library's own parts are
 * modelled by the knowledge base, never scanned.
 */
import { withProps } from '../util/same-shape.ts';
import { buildCallGraph, CallGraph, type CallGraphData, reachAcross } from '../elf/callgraph.ts';
import { readElf } from '../elf/index.ts';
import { ElfFile } from '../elf/source.ts';
import type { ElfInfo } from '../elf/types.ts';
import { collectObject } from './collect.ts';
import { shared } from './library-store.ts';
import { findInSysroot, LIBC_PARTS } from './libc-detect.ts';
import type { Collected, Ctx, LibraryReport, Reach, Unresolved, ViaBase } from './types.ts';

/**
 * What a program needs of a library: plain data (it crosses worker threads), a small part of
 * its ElfInfo and bytes, which are dropped once it is made.
 */
type Summary = { needed: string[]; imports: string[]; exports: string[]; collected: Collected; graph: CallGraphData | undefined } | { error: string };

/**
 * A summary in use here: its graph as an object (with memos of its own), and what decides
 * whether each of its reaches and unresolved numbers counts for a program (`gates`).
 */
type Library = Exclude<Summary, { error: string }> & { callGraph: CallGraph | undefined; gates: Gates; exportSet: ReadonlySet<string> };

/**
 * What a reach (or unresolved number) of a library counts on, found once per library: an
 * import counts where the reached code uses its name, a site or syscall() where its address
 * may run, anything else always. Per program only the gates are evaluated (a few hundred per
 * library), and then each reach is one array lookup, in the order collected.
 */
interface Gates {
  /** Per gate: a name (uses), or an address (counts). */
  names: (string | undefined)[];
  addrs: number[];
  /** Gate of each reach and of each unresolved number; -1: always counts. */
  ofReach: Int32Array;
  ofUnresolved: Int32Array;
}

function gatesOf(c: Collected): Gates {
  const names: (string | undefined)[] = [];
  const addrs: number[] = [];
  const ids = new Map<string | number, number>();
  const id = (k: string | number, name: string | undefined, addr: number): number => {
    let g = ids.get(k);
    if (g === undefined) {
      g = names.push(name) - 1;
      addrs.push(addr);
      ids.set(k, g);
    }
    return g;
  };
  const gate = (via: ViaBase | Unresolved): number =>
    'symbol' in via && via.kind === 'import' ? id(via.symbol, via.symbol, Number.NaN) : 'address' in via ? id(via.address, undefined, via.address) : -1;
  return { names, addrs, ofReach: Int32Array.from(c.reaches, (r) => gate(r.via)), ofUnresolved: Int32Array.from(c.unresolved, gate) };
}

/** Libraries in use in this process (worker), per path, arch, C library and release. */
const libCache = new Map<string, Library | { error: string }>();

function summarise(path: string, name: string, ctx: Ctx): Summary {
  try {
    const lf = ElfFile.open(path);
    try {
      const lelf: ElfInfo = readElf(lf, path);
      if (lelf.arch !== ctx.arch) return { error: `${lelf.arch ?? `e_machine ${lelf.machine}`} library, not ${ctx.arch}` };
      if (lelf.cannotRun) return { error: `cannot be loaded: ${lelf.cannotRun}` };
      return {
        needed: lelf.needed,
        imports: lelf.imports.map((i) => i.name),
        exports: lelf.exports,
        collected: collectObject(lelf, lf, { ...ctx, startup: new Map() }, name),
        graph: buildCallGraph(lelf, lf)?.data,
      };
    } finally {
      lf.close();
    }
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function library(path: string, name: string, ctx: Ctx): Library | { error: string };
function library(path: string, name: string, ctx: Ctx, ifFree: true): Library | { error: string } | undefined;
function library(path: string, name: string, ctx: Ctx, ifFree?: true): Library | { error: string } | undefined {
  // The DT_NEEDED name is in the reaches (Via.library), so it is part of the key too.
  const key = `${path}\0${name}\0${ctx.arch}\0${ctx.libc}\0${ctx.version}`;
  let lib = libCache.get(key);
  if (!lib) {
    const make = () => summarise(path, name, ctx);
    const s = ifFree ? shared(key, make, ifFree) : shared(key, make);
    if (!s) return undefined;
    lib = 'error' in s ? s : { ...s, callGraph: s.graph && new CallGraph(s.graph), gates: gatesOf(s.collected), exportSet: new Set(s.exports) };
    libCache.set(key, lib);
  }
  return lib;
}

/**
 * Collects the libraries `elf` loads from `sysroot`, appending what the program reaches in
 * them to `reaches`, `unresolved` and `pendingUnknown`; returns the library reports and every
 * name the analysed libraries export.
 */
export function collectLibraries(
  elf: ElfInfo,
  ctx: Ctx,
  sysroot: string,
  reaches: Reach[],
  unresolved: Unresolved[],
  pendingUnknown: { name: string; from?: string; in?: string }[],
): { libraries: LibraryReport[]; exported: { has(name: string): boolean } } {
  const { arch } = ctx;
  const libraries: LibraryReport[] = [];
  /** What the analysed libraries define: an import one of them answers is its code, counted there. */
  const exportSets: ReadonlySet<string>[] = [];
  const exported = { has: (n: string) => exportSets.some((x) => x.has(n)) };
  const queue: { name: string; neededBy: string | null }[] = elf.needed.map((name) => ({ name, neededBy: null }));
  const seen = new Set<string>();
  const loaded: { name: string; lib: Library }[] = [];
  // With workers: first get (or make) the libraries the file names that no other worker is
  // making, so that waiting for one another's comes last (the walk below needs them in order).
  for (const name of elf.needed) {
    const path = LIBC_PARTS.test(name) ? undefined : findInSysroot(sysroot, arch, name);
    if (path) library(path, name, ctx, true);
  }
  while (queue.length) {
    const { name, neededBy } = queue.shift()!;
    if (seen.has(name)) continue;
    seen.add(name);
    if (LIBC_PARTS.test(name)) {
      libraries.push({ name, status: 'libc', neededBy });
      continue;
    }
    const path = findInSysroot(sysroot, arch, name);
    if (!path) {
      libraries.push({ name, status: 'missing', neededBy });
      continue;
    }
    const lib = library(path, name, ctx);
    if ('error' in lib) {
      libraries.push({ name, path, status: 'error', neededBy, error: lib.error });
      continue;
    }
    libraries.push({ name, path, status: 'analysed', neededBy });
    loaded.push({ name, lib });
    exportSets.push(lib.exportSet);
    for (const n of lib.needed) queue.push({ name: n, neededBy: name });
  }
  // A library's calls count only where its code is reached from what the program (or another
  // reached library) uses of it (src/elf/callgraph.ts); imports by name, sites by address.
  const reached = reachAcross(
    elf.imports.map((i) => i.name),
    loaded.map(({ lib }) => ({ graph: lib.callGraph, imports: lib.imports, exports: lib.exports })),
  );
  loaded.forEach(({ name, lib }, i) => {
    const r = reached[i];
    const { reaches: rs, unresolved: us, unknownImports } = lib.collected;
    // A library's own sites are not the C library's start-up (the C library is modelled, not
    // scanned): they keep their own handling, unknown when nothing says how they cope.
    if (!r) {
      for (const x of rs) reaches.push(x);
      for (const u of us) unresolved.push(u);
      for (const n of unknownImports) pendingUnknown.push(withProps(n, { in: name }));
      return;
    }
    const { names, addrs, ofReach, ofUnresolved } = lib.gates;
    const open = Uint8Array.from(names, (n, g) => ((n !== undefined ? r.uses.has(n) : r.counts(addrs[g]!)) ? 1 : 0));
    for (let k = 0; k < rs.length; k++) if (ofReach[k]! < 0 || open[ofReach[k]!]) reaches.push(rs[k]!);
    for (let k = 0; k < us.length; k++) if (ofUnresolved[k]! < 0 || open[ofUnresolved[k]!]) unresolved.push(us[k]!);
    for (const n of unknownImports) if (r.uses.has(n.name)) pendingUnknown.push(withProps(n, { in: name }));
  });
  return { libraries, exported };
}
