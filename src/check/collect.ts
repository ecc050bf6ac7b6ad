/**
 * What one object (the file, or a --sysroot library) reaches, before the policy is known:
 * 1. imports, through the libc knowledge base (fallback chains, also, conditional, uses);
 * 2. syscall sites, named by enclosing function; a site inside a function the knowledge base
 *    models takes that function's chain;
 * 3. calls to syscall() (and other functions passing their argument to the number register)
 *    with a constant number;
 * 4. a linked sysgate shim's ENOSYS wrappers, from its manifest.
 */
import { withProps } from '../util/same-shape.ts';
import { staticReach } from '../elf/callgraph.ts';
import { findSyscallSites } from '../elf/index.ts';
import type { ElfBytes } from '../elf/source.ts';
import { siteLength } from '../elf/sites/index.ts';
import { ScanContext } from '../elf/sites/common.ts';
import type { ElfInfo, SyscallSite } from '../elf/types.ts';
import type { WrapperCall } from '../elf/calls/call.ts';
import { lookupFunction, type FunctionInfo, type Libc, type SyscallStep } from '../libc/index.ts';
import { parseShimManifest, SHIM_MANIFEST_SYMBOL, type ShimManifest } from '../shim/manifest.ts';
import { ARCHES, type ArchName } from '../syscalls/arches.ts';
import { syscallName, syscallNumber } from '../syscalls/table.ts';
import { callLength, codeSpan, importSpan } from './span.ts';
import type { Collected, Ctx, Handling, Reach, ViaBase } from './types.ts';
import { findSyscallCalls } from '../elf/calls/index.ts';

// Caches (per process or worker): knowledge-base answers.
const lookups = new Map<string, FunctionInfo | null>();
/** What one import reaches, per C library, arch, version and import, as the file's own (library null; a library's reaches are copies naming it). Null: not modelled. */
const importReaches = new Map<string, Reach[] | null>();

function lookup(libc: Libc, symbol: string, arch: ArchName, version: string): FunctionInfo | undefined {
  const key = `${libc}/${arch}/${version}/${symbol}`;
  let r = lookups.get(key);
  if (r === undefined) {
    r = lookupFunction(libc, symbol, arch, version) ?? null;
    lookups.set(key, r);
  }
  return r ?? undefined;
}

export function nrOf(arch: ArchName, name: string): number | null {
  return syscallNumber(arch, name);
}

function addFunction(
  ctx: Ctx,
  out: Collected,
  library: string | null,
  info: FunctionInfo,
  imp: { symbol: string; version?: string; weak: boolean },
  seen: Set<string>,
): void {
  if (seen.has(info.symbol)) return;
  seen.add(info.symbol);
  const version = imp.version ? { version: imp.version } : {};
  // A literal, not `{ ...base, role }`: see src/util/same-shape.ts.
  const importVia = (role: Extract<ViaBase, { kind: 'import' }>['role'], more?: { step?: number; next?: string; when?: string }): ViaBase => ({
    kind: 'import',
    library,
    symbol: imp.symbol,
    weak: imp.weak,
    source: info.source,
    ...version,
    role,
    ...more,
  });
  const push = (name: string, via: ViaBase, handling: Handling) => {
    const nr = nrOf(ctx.arch, name);
    if (nr === null) return;
    out.reaches.push({ name, nr, via, handling });
  };
  info.chain.forEach((s, i) => {
    const next = info.chain[i + 1];
    const handling: Handling = {
      k: 'chain',
      onEnosys: info.onEnosys,
      ...(next ? { next: next.syscall, ...(next.fallbackOn === 'any-error' ? { anyError: true } : {}) } : {}),
      ...(info.onEnosysDetail ? { detail: info.onEnosysDetail } : {}),
      ...(info.advisory ? { advisory: info.advisory } : {}),
    };
    push(s.syscall, importVia('chain', next ? { step: i, next: next.syscall } : { step: i }), handling);
  });
  for (const s of info.also) push(s.syscall, importVia('also', s.note ? { when: s.note } : undefined), stepHandling(s, s.note));
  for (const s of info.conditional) push(s.syscall, importVia('conditional', { when: s.when }), stepHandling(s, `only ${s.when}`));
  for (const s of info.onEnosysCalls)
    push(s.syscall, importVia('on-enosys'), { k: 'direct', detail: 'part of the fallback path: if it fails too, the function fails' });
  for (const u of info.uses) {
    const next = ctx.libc && lookup(ctx.libc, u, ctx.arch, ctx.version);
    if (next) addFunction(ctx, out, library, next, imp, seen);
  }
}

/** How the failure of an `also` or conditional step is handled: recorded in the step, else unknown. */
function stepHandling(s: SyscallStep, detail: string | undefined): Handling {
  if (!s.onEnosys) return { k: 'unknown', ...(detail ? { detail } : {}) };
  return {
    k: 'step',
    onEnosys: s.onEnosys,
    ...(s.fallback ? { next: s.fallback } : {}),
    ...(s.anyError ? { anyError: true } : {}),
    ...(detail ? { detail } : {}),
  };
}

/** Knowledge-base entry for an enclosing function name in static code (exact, then without leading underscores). */
function functionInfo(ctx: Ctx, fn: string | undefined): FunctionInfo | undefined {
  if (!fn || !ctx.libc) return undefined;
  return (
    lookup(ctx.libc, fn, ctx.arch, ctx.version) ?? (fn.startsWith('__') ? lookup(ctx.libc, fn.replace(/^__(libc_)?/, ''), ctx.arch, ctx.version) : undefined)
  );
}

/**
 * Whether an import the knowledge base lacks is a finding: every function, and every untyped
 * (STT_NOTYPE) symbol the program cannot run without: an unknown name is never dropped. Only
 * weak untyped references (__gmon_start__, _ITM_*: null when absent) are not calls.
 */
function callable(imp: { type: string; weak: boolean }): boolean {
  return imp.type === 'func' || (imp.type === 'other' && !imp.weak);
}

export function collectObject(elf: ElfInfo, src: ElfBytes, ctx: Ctx, library: string | null): Collected {
  const bytes = src.bytes;
  const out: Collected = { reaches: [], unresolved: [], unknownImports: [] };
  // Each step is a function of its own, so that V8 re-optimises only the step that meets a
  // new shape (issue 13: re-compiles of this function whole were about 0.7 s per run).
  // 1. Imports.
  const importsSyscall = collectImports(elf, ctx, library, out);
  // 2. Sites (the scan context's function index, built only when a site or call needs it, is shared with 3).
  const scan = new ScanContext(elf, bytes);
  // A static program holds the whole C library: a site or a syscall() call counts only where
  // its call graph reaches it from the entry point, the init/fini arrays and every code
  // address data holds (src/elf/callgraph.ts; undefined: all of it counts).
  const reach = library === null ? staticReach(elf, src) : undefined;
  const reached = (addr: number): boolean => !reach || reach.counts(addr);
  const sites = findSyscallSites(elf, bytes, scan).filter((s) => reached(s.address));
  const hasWrapperSym = elf.symbols.some((s) => s.name === 'syscall' && s.type === 'func');
  // Functions that pass their first argument to the number register (syscall(), musl's
  // __syscall_cp_c, ...): their callers say the number (3. below).
  const wrapperOf = new Map<number, number>(); // site address -> the wrapper function's start
  for (const s of sites) {
    if (s.number !== null || s.kind !== 'syscall_wrapper') continue;
    const f = scan.funcs.at(s.address, scan.key(elf.exec.find((r) => s.address >= r.addr && s.address < r.addr + r.size) ?? elf.exec[0]!));
    if (f) wrapperOf.set(s.address, f.start);
  }
  const calledWrappers = new Set<number>();
  const calls = findSyscallCalls(elf, bytes, scan, [...new Set(wrapperOf.values())], calledWrappers).filter((c) => reached(c.address));
  siteReaches(elf, ctx, library, out, sites, hasWrapperSym || importsSyscall, wrapperOf, calledWrappers);
  // 3. syscall() with a constant.
  callReaches(elf, ctx, library, out, calls);
  // 4. A linked sysgate shim defines the libc symbols it wraps, so a call it answers with ENOSYS
  //    (signalfd at 13.7) is no import any more: its manifest says which, and the calls to those
  //    wrappers say whether the program uses them.
  if (library === null) shimReaches(elf, src, ctx, scan, out);
  return out;
}

/** The reaches of the file's imports, through the knowledge base; whether it imports syscall(). */
function collectImports(elf: ElfInfo, ctx: Ctx, library: string | null, out: Collected): boolean {
  let importsSyscall = false;
  for (const imp of elf.imports) {
    if (imp.type !== 'func' && imp.type !== 'other') continue;
    if (imp.name === 'syscall') importsSyscall = true;
    if (!ctx.libc) {
      if (callable(imp)) out.unknownImports.push({ name: imp.name, ...(imp.library ? { from: imp.library } : {}) });
      continue;
    }
    // What an import reaches depends only on the import and the C library: computed once per
    // process (the Reach objects are shared and never mutated; judging copies their vias).
    // Keyed without the object: a library is analysed once per run, so a key naming it was
    // never met again, and kept its reaches to the end (104,000 entries, a tenth of a
    // directory check's heap). Joined: one flat string, not a tree of cons strings.
    const key = [ctx.libc, ctx.arch, ctx.version, imp.name, imp.version ?? '', imp.weak ? 1 : 0].join('\0');
    let got = importReaches.get(key);
    if (got === undefined) {
      const info = lookup(ctx.libc, imp.name, ctx.arch, ctx.version);
      if (info) {
        const one: Collected = { reaches: [], unresolved: [], unknownImports: [] };
        addFunction(ctx, one, null, info, { symbol: imp.name, ...(imp.version ? { version: imp.version } : {}), weak: imp.weak }, new Set());
        got = one.reaches;
      } else got = null;
      importReaches.set(key, got);
    }
    if (!got) {
      if (callable(imp)) out.unknownImports.push({ name: imp.name, ...(imp.library ? { from: imp.library } : {}) });
      continue;
    }
    // The cached reaches are shared by every file importing the symbol: the span, which is
    // this file's own, and the library the reach is in go on a copy (the keys stay in order:
    // `library` is overwritten where it is).
    const span = importSpan(elf, imp.symbolOffset);
    const own = library === null ? (span ? { span } : undefined) : span ? { library, span } : { library };
    for (const r of got) out.reaches.push(own ? { name: r.name, nr: r.nr, via: withProps(r.via, own), handling: r.handling } : r);
  }
  return importsSyscall;
}

/** Syscall sites with a number, and the unresolved ones. `syscallKnown`: the file has or imports syscall(), resolved at its callers. */
function siteReaches(
  elf: ElfInfo,
  ctx: Ctx,
  library: string | null,
  out: Collected,
  sites: readonly SyscallSite[],
  syscallKnown: boolean,
  wrapperOf: ReadonlyMap<number, number>,
  calledWrappers: ReadonlySet<number>,
): void {
  for (const s of sites) {
    const span = codeSpan(elf, s.address, siteLength(s.kind, s.isa));
    const at = span ? { span } : {};
    if (s.number === null) {
      if (s.kind === 'syscall_wrapper' && (syscallKnown || s.function === 'syscall')) continue; // resolved at its callers
      // Another wrapper is resolved at its callers when some were found; otherwise it stays unresolved.
      if (s.kind === 'syscall_wrapper' && calledWrappers.has(wrapperOf.get(s.address) ?? -1)) continue;
      out.unresolved.push({
        library,
        address: s.address,
        kind: s.kind,
        ...(s.function ? { function: s.function } : {}),
        reason: s.reason ?? 'number not recovered',
        ...at,
      });
      continue;
    }
    const int80Abi = ARCHES[ctx.arch].int80Abi;
    if (s.kind === 'int80' && int80Abi !== undefined) {
      out.unresolved.push({
        library,
        address: s.address,
        kind: s.kind,
        ...(s.function ? { function: s.function } : {}),
        reason: `int $0x80 enters the ${int80Abi} ABI (${int80Abi} syscall ${s.number}): a foreign arch for an ${ctx.arch} filter`,
        ...at,
      });
      continue;
    }
    const name = syscallName(ctx.arch, s.number);
    if (!name) {
      out.unresolved.push({
        library,
        address: s.address,
        kind: s.kind,
        ...(s.function ? { function: s.function } : {}),
        reason: `${s.number} is not a ${ctx.arch} syscall number`,
        ...at,
      });
      continue;
    }
    const via: ViaBase = { kind: 'site', library, address: s.address, siteKind: s.kind, ...(s.function ? { function: s.function } : {}), ...at };
    const info = functionInfo(ctx, s.function);
    const i = info ? info.chain.findIndex((c) => c.syscall === name) : -1;
    if (info && i >= 0) {
      const next = info.chain[i + 1];
      if (via.kind === 'site') {
        via.step = i;
        if (next) via.next = next.syscall;
      }
      out.reaches.push({
        name,
        nr: s.number,
        via,
        handling: {
          k: 'chain',
          onEnosys: info.onEnosys,
          ...(next ? { next: next.syscall } : {}),
          ...(info.onEnosysDetail ? { detail: info.onEnosysDetail } : {}),
          ...(info.advisory ? { advisory: info.advisory } : {}),
        },
      });
    } else {
      const step = info ? [...info.also, ...info.conditional].find((c) => c.syscall === name && c.onEnosys) : undefined;
      // A site takes the start-up knowledge of its call only inside a named function (the C
      // library's own start-up code). A site no symbol names (a stripped static binary) may be
      // any path to the call: it never inherits how another path copes (malloc's getrandom
      // falls back; getentropy's does not), so it stays unknown.
      const st = s.function ? ctx.startup.get(name) : undefined;
      out.reaches.push({ name, nr: s.number, via, handling: st ?? (step ? stepHandling(step, step.note ?? step.when) : { k: 'unknown' }) });
    }
  }
}

/** syscall() calls with a constant number, and the unresolved ones. */
function callReaches(elf: ElfInfo, ctx: Ctx, library: string | null, out: Collected, calls: readonly WrapperCall[]): void {
  for (const c of calls) {
    const span = codeSpan(elf, c.address, callLength(elf));
    const at = span ? { span } : {};
    if (c.number === null) {
      out.unresolved.push({
        library,
        address: c.address,
        kind: 'syscall()',
        ...(c.function ? { function: c.function } : {}),
        reason: c.reason ?? 'number not recovered',
        ...at,
      });
      continue;
    }
    const name = syscallName(ctx.arch, c.number);
    if (!name) {
      out.unresolved.push({
        library,
        address: c.address,
        kind: 'syscall()',
        ...(c.function ? { function: c.function } : {}),
        reason: `${c.number} is not a ${ctx.arch} syscall number`,
        ...at,
      });
      continue;
    }
    out.reaches.push({
      name,
      nr: c.number,
      via: { kind: 'syscall()', library, address: c.address, ...(c.function ? { function: c.function } : {}), ...at },
      handling: { k: 'direct' },
    });
  }
}

/** The calls a linked shim answers with ENOSYS, where the program calls their wrappers. */
function shimReaches(elf: ElfInfo, src: ElfBytes, ctx: Ctx, scan: ScanContext, out: Collected): void {
  const m = readShimManifest(elf, src);
  if (m) {
    out.shim = m;
    const wrappers = new Map<number, ShimManifest['wrappers'][number]>();
    for (const w of m.wrappers) {
      if (w.status !== 'enosys') continue;
      const sym = elf.symbols.find((x) => x.name === w.symbol && x.type === 'func' && x.value !== 0);
      if (sym) wrappers.set(sym.value, w);
    }
    const called = new Set<number>();
    if (wrappers.size) findSyscallCalls(elf, src.bytes, scan, [...wrappers.keys()], called);
    for (const [addr, w] of wrappers) {
      const nr = called.has(addr) ? nrOf(ctx.arch, w.denied) : null;
      if (nr === null) continue;
      out.reaches.push({
        name: w.denied,
        nr,
        via: {
          kind: 'import',
          library: null,
          symbol: w.symbol,
          weak: false,
          role: 'chain',
          step: 0,
          source: `the sysgate shim linked in (${m.target} ${m.firmware ?? ''} ${m.arch}) answers it without entering the kernel`,
        },
        handling: { k: 'chain', onEnosys: 'error', detail: `${w.symbol}() returns -1 with ENOSYS from the sysgate shim` },
      });
    }
  }
}

/** The shim manifest the file exports, read where the loader maps it; undefined without one. */
function readShimManifest(elf: ElfInfo, src: ElfBytes): ShimManifest | undefined {
  const sym = elf.symbols.find((s) => s.name === SHIM_MANIFEST_SYMBOL && s.type === 'object' && s.size > 0 && s.size <= 65536);
  if (!sym) return undefined;
  const seg = elf.loads.find((l) => sym.value >= l.vaddr && sym.value + sym.size <= l.vaddr + l.filesz);
  if (!seg) return undefined;
  const off = seg.offset + (sym.value - seg.vaddr);
  if (off + sym.size > src.bytes.byteLength) return undefined;
  src.ensure(off, sym.size);
  const raw = src.bytes.subarray(off, off + sym.size);
  const end = raw.indexOf(0);
  return parseShimManifest(Buffer.from(raw.subarray(0, end < 0 ? raw.length : end)).toString('latin1'));
}
