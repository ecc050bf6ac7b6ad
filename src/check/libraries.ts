/**
 * --sysroot: the libraries a dynamic program loads (DT_NEEDED, breadth first), each collected
 * once per process (worker), and their calls counted only where the program's use of them
 * reaches them (src/elf/callgraph.ts): imports by name, sites by address. The C library's own
 * parts are modelled by the knowledge base, never scanned.
 */
import { buildCallGraph, reachAcross, type CallGraph } from '../elf/callgraph.ts';
import { readElf } from '../elf/index.ts';
import { ElfFile } from '../elf/source.ts';
import type { ElfInfo } from '../elf/types.ts';
import { collectObject } from './collect.ts';
import { findInSysroot, LIBC_PARTS } from './libc-detect.ts';
import type { Collected, Ctx, LibraryReport, Reach, Unresolved, ViaBase } from './types.ts';

/** What each sysroot library reaches, per path, arch, C library and release. */
const libCache = new Map<string, { elf: ElfInfo; collected: Collected; graph: CallGraph | undefined } | { error: string }>();

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
): { libraries: LibraryReport[]; exported: Set<string> } {
  const { arch, libc, version } = ctx;
  const libraries: LibraryReport[] = [];
  /** What the analysed libraries define: an import one of them answers is its code, counted there. */
  const exported = new Set<string>();
  const queue: { name: string; neededBy: string | null }[] = elf.needed.map((name) => ({ name, neededBy: null }));
  const seen = new Set<string>();
  const loaded: { name: string; lib: { elf: ElfInfo; collected: Collected; graph: CallGraph | undefined } }[] = [];
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
    const key = `${path}\0${arch}\0${libc}\0${version}`;
    let lib = libCache.get(key);
    if (!lib) {
      try {
        const lf = ElfFile.open(path);
        try {
          const lelf = readElf(lf, path);
          lib =
            lelf.arch !== arch
              ? { error: `${lelf.arch ?? `e_machine ${lelf.machine}`} library, not ${arch}` }
              : lelf.cannotRun
                ? { error: `cannot be loaded: ${lelf.cannotRun}` }
                : { elf: lelf, collected: collectObject(lelf, lf, { ...ctx, startup: new Map() }, name), graph: buildCallGraph(lelf, lf) };
        } finally {
          lf.close();
        }
      } catch (e) {
        lib = { error: (e as Error).message };
      }
      libCache.set(key, lib);
    }
    if ('error' in lib) {
      libraries.push({ name, path, status: 'error', neededBy, error: lib.error });
      continue;
    }
    libraries.push({ name, path, status: 'analysed', neededBy });
    loaded.push({ name, lib });
    for (const x of lib.elf.exports) exported.add(x);
    for (const n of lib.elf.needed) queue.push({ name: n, neededBy: name });
  }
  // A library's calls count only where its code is reached from what the program (or another
  // reached library) uses of it (src/elf/callgraph.ts); imports by name, sites by address.
  const reached = reachAcross(
    elf.imports.map((i) => i.name),
    loaded.map(({ lib }) => ({ graph: lib.graph, imports: lib.elf.imports.map((i) => i.name), exports: lib.elf.exports })),
  );
  loaded.forEach(({ name, lib }, i) => {
    const r = reached[i];
    const counts = (via: ViaBase | Unresolved): boolean =>
      !r || ('symbol' in via && via.kind === 'import' ? r.uses.has(via.symbol) : 'address' in via ? r.counts(via.address) : true);
    // A library's own sites are not the C library's start-up (the C library is modelled, not
    // scanned): they keep their own handling, unknown when nothing says how they cope.
    for (const x of lib.collected.reaches) if (counts(x.via)) reaches.push(x);
    for (const u of lib.collected.unresolved) if (counts(u)) unresolved.push(u);
    for (const n of lib.collected.unknownImports) if (!r || r.uses.has(n.name)) pendingUnknown.push({ ...n, in: name });
  });
  return { libraries, exported };
}
