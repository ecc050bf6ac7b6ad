/**
 * `checkElf`: which syscalls a binary reaches and what the target does with each.
 *
 * What the binary calls, collected per object (the file, then each --sysroot library):
 * - imports, mapped through the libc knowledge base (fallback chains, also, conditional);
 * - the C library's own start-up (and the loader's, for dynamic binaries);
 * - syscall sites (static code, libraries), named by enclosing function; a site inside a
 *   function the knowledge base models inherits that function's fallback chain;
 * - calls to syscall() with a constant number;
 * - the calls of linked libraries whose behaviour on failure is recorded by SONAME
 *   (src/libc/libraries.json: OpenSSL 3, CPython, GnuTLS, Node).
 * Then each way of reaching a call is judged against the resolved policy by what the program
 * experiences (dies, breaks, depends, degrades, falls-back, allowed): the worst way decides the
 * call's verdict. Pure apart from reading --sysroot libraries.
 */
import { parseShimManifest, SHIM_MANIFEST_SYMBOL, type ShimManifest } from '../shim/manifest.ts';
import { abiNote } from '../policy/describe.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findSyscallSites, readElf } from '../elf/index.ts';
import { buildCallGraph, reachAcross, type CallGraph } from '../elf/callgraph.ts';
import { type ElfBytes, ElfFile, inMemory } from '../elf/source.ts';
import { siteLength } from '../elf/sites/index.ts';
import { ScanContext } from '../elf/sites/common.ts';
import type { ElfInfo } from '../elf/types.ts';
import { InputError } from '../errors.ts';
import { describeOutcome, formatAction, isAllow } from '../policy/action.ts';
import { errnoName } from '../policy/errno.ts';
import { callOutcome, deniedName } from '../policy/call.ts';
import { KNOWN_FIXES } from '../policy/fixes.ts';
import { asPolicySet, policyFor, type PolicySet } from '../policy/settings.ts';
import type { Action, TargetDef } from '../policy/types.ts';
import { libcFix } from '../policy/libc-fixes.ts';
import { ARCHES, type ArchName } from '../syscalls/arches.ts';
import { syscallName, syscallNumber } from '../syscalls/table.ts';
import {
  compareVersions,
  isCovered,
  knowledgeBase,
  lookupFunction,
  startupCalls,
  type FunctionInfo,
  type Libc,
  type OnEnosys,
  type StepOnEnosys,
  type SyscallStep,
} from '../libc/index.ts';
import { librariesLinked, type LibraryOnError } from '../libc/libraries.ts';
import {
  judgementRank,
  severityOf,
  type CheckOptions,
  type Judgement,
  type CheckReport,
  type Finding,
  type LibcInfo,
  type LibraryReport,
  type Unresolved,
  type Via,
} from './types.ts';
import { glibcBannerRelease, newestGlibcVersion } from '../libc/version.ts';
import { findSyscallCalls } from './wrapper-calls.ts';
import { callLength, codeSpan, importSpan } from './span.ts';

/** How the code around a call reacts to its failure (before the policy is known). */
type Handling =
  /** A step of a fallback chain: `next` runs on ENOSYS (or any error); after the last, `onEnosys`. */
  | { k: 'chain'; next?: string; anyError?: boolean; onEnosys: OnEnosys; detail?: string; advisory?: string }
  | { k: 'startup'; onEnosys: 'ignored' | 'fatal' | 'fallback'; next?: string; detail?: string }
  /** The caller sees the error (syscall() with a constant, the fallback path of a fallback). */
  | { k: 'direct'; detail?: string }
  /** An `also` or conditional step whose failure handling the knowledge base records. */
  | { k: 'step'; onEnosys: StepOnEnosys; next?: string; anyError?: boolean; detail?: string }
  /** Nothing recorded says. */
  | { k: 'unknown'; detail?: string }
  /** A linked library's recorded behaviour (libraries.json): `onError` for `errors`, else unknown. */
  | { k: 'library'; onError: LibraryOnError; errors: 'any' | string[]; next?: string; detail?: string };

type ViaBase = Via extends infer V ? (V extends unknown ? Omit<V, 'verdict' | 'detail'> : never) : never;

interface Reach {
  name: string;
  nr: number;
  via: ViaBase;
  handling: Handling;
}

interface Collected {
  /** The manifest of a sysgate shim linked into the file. */
  shim?: ShimManifest;
  reaches: Reach[];
  unresolved: Unresolved[];
  /** Imports the knowledge base lacks, with the library their symbol version belongs to. */
  unknownImports: { name: string; from?: string }[];
}

/** Sonames of the C library's own parts: modelled by the knowledge base, never scanned. */
const LIBC_PARTS =
  /^(libc\.so(\.\d+)?|libc\.musl-.*|ld-linux.*|ld64\.so.*|ld\.so.*|ld-musl-.*|libpthread\.so.*|libdl\.so.*|librt\.so.*|libm\.so.*|libutil\.so.*|libresolv\.so.*|libanl\.so.*|libBrokenLocale\.so.*|libmvec\.so.*)$/;

// ---------------------------------------------------------------------------------------------
// Caches (per process or worker): knowledge-base answers, and what each sysroot library reaches.

const lookups = new Map<string, FunctionInfo | null>();
const libCache = new Map<string, { elf: ElfInfo; collected: Collected; graph: CallGraph | undefined } | { error: string }>();
/** What one import reaches, per C library, arch, version, object and import (null: not modelled). */
const importReaches = new Map<string, Reach[] | null>();
/** By UTF-16 code unit (bytes, for the ASCII names here): never a collator, whose order follows LANG. */
const collate = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function lookup(libc: Libc, symbol: string, arch: ArchName, version: string): FunctionInfo | undefined {
  const key = `${libc}/${arch}/${version}/${symbol}`;
  let r = lookups.get(key);
  if (r === undefined) {
    r = lookupFunction(libc, symbol, arch, version) ?? null;
    lookups.set(key, r);
  }
  return r ?? undefined;
}

// ---------------------------------------------------------------------------------------------
// The C library and its version

function maxGlibcRef(elf: ElfInfo): string | undefined {
  let best: string | undefined;
  for (const n of elf.versionNeeds) {
    for (const v of n.versions) {
      const m = /^GLIBC_(\d+\.\d+(?:\.\d+)?)$/.exec(v);
      if (m && (best === undefined || compareVersions(m[1]!, best) > 0)) best = m[1]!;
    }
  }
  return best;
}

const GLIBC_MARK = Buffer.from('GLIBC_TUNABLES');

function detectLibc(elf: ElfInfo, src: ElfBytes): Libc | undefined {
  if (elf.interp?.includes('ld-musl') || elf.needed.some((n) => n === 'libc.so' || n.startsWith('libc.musl-'))) return 'musl';
  if (elf.needed.some((n) => n === 'libc.so.6') || elf.versionNeeds.some((n) => n.versions.some((v) => v.startsWith('GLIBC_')))) return 'glibc';
  if (!elf.static) return undefined;
  const names = new Set(elf.symbols.map((s) => s.name));
  if (names.has('__libc_setup_tls') || names.has('_dl_relocate_static_pie') || names.has('__libc_start_call_main')) return 'glibc';
  if (names.has('__init_libc') || names.has('__libc_start_init')) return 'musl';
  // The last resort looks at every byte: read them all (a stripped static binary, small).
  src.ensure(0, src.bytes.byteLength);
  const bytes = src.bytes;
  if (Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(GLIBC_MARK) >= 0) return 'glibc';
  return undefined;
}

function findInSysroot(sysroot: string, arch: ArchName, name: string): string | undefined {
  for (const t of ARCHES[arch].triplets) {
    for (const d of [`lib/${t}`, `usr/lib/${t}`]) {
      const p = join(sysroot, d, name);
      if (existsSync(p)) return p;
    }
  }
  for (const d of ['lib', 'usr/lib', ARCHES[arch].multilibDir]) {
    const p = join(sysroot, d, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** The release of the sysroot's libc.so.6: its banner, else its newest GLIBC_ definition. */
function sysrootGlibc(sysroot: string, arch: ArchName): { version: string; path: string } | undefined {
  const p = findInSysroot(sysroot, arch, 'libc.so.6');
  if (!p) return undefined;
  try {
    // The banner is in .rodata: the whole (small) library is read, through the lazy reader's checks.
    const f = ElfFile.open(p);
    let bytes: Uint8Array;
    try {
      f.ensureAll();
      bytes = f.bytes;
    } finally {
      f.close();
    }
    const v = glibcBannerRelease(bytes) ?? newestGlibcVersion(readElf(bytes, p).versionDefs);
    return v ? { version: v, path: p } : undefined;
  } catch {
    return undefined; // fall through to the file's own references
  }
}

/** The release to ask the knowledge base about, where it comes from, and whether it is covered. */
function libcVersion(elf: ElfInfo, libc: Libc | undefined, opts: CheckOptions, isLibrary: boolean): LibcInfo {
  if (!libc) return { name: 'unknown' };
  const info: LibcInfo = { name: libc };
  const referenced = libc === 'glibc' ? maxGlibcRef(elf) : undefined;
  if (referenced) info.referenced = referenced;
  const kb = knowledgeBase(libc);
  const range = `${kb.coverage.from}-${kb.coverage.through}`;
  const known = (version: string, versionFrom: 'sysroot' | 'option' | 'references', what: string): LibcInfo => {
    const covered = isCovered(libc, version);
    const side = compareVersions(version, kb.coverage.from) < 0 ? 'older' : 'newer';
    return {
      ...info,
      version,
      versionFrom,
      covered,
      ...(covered ? {} : { notice: `${libc} ${version} (${what}) is ${side} than the knowledge base covers (${range}): findings for it may be wrong` }),
    };
  };
  if (opts.libcVersion) return known(opts.libcVersion, 'option', '--libc-version');
  if (opts.sysroot && libc === 'glibc' && elf.arch) {
    const found = sysrootGlibc(opts.sysroot, elf.arch);
    if (found) return known(found.version, 'sysroot', found.path);
  }
  const def = kb.defaultVersion;
  // A version reference is a lower bound: a binary built against 2.36 may reference only 2.34.
  if (referenced && compareVersions(referenced, def) > 0) return known(referenced, 'references', `its newest reference GLIBC_${referenced}`);
  // Every executable linked against glibc >= 2.34 references __libc_start_main@GLIBC_2.34 (a
  // library need not): an older newest reference means it was built against an older glibc.
  if (libc === 'glibc' && !isLibrary && !elf.static && referenced && compareVersions(referenced, kb.coverage.from) < 0) {
    return {
      ...info,
      version: def,
      versionFrom: 'default',
      covered: false,
      notice: `built against glibc older than ${kb.coverage.from} (newest reference GLIBC_${referenced}), which the knowledge base does not cover; ${def} is assumed: give --sysroot or --libc-version for the glibc it runs with`,
    };
  }
  return { ...info, version: def, versionFrom: 'default', covered: true };
}

// ---------------------------------------------------------------------------------------------
// Collecting what an object reaches

interface Ctx {
  arch: ArchName;
  libc: Libc | undefined;
  version: string;
  startup: Map<string, Handling>;
}

function nrOf(arch: ArchName, name: string): number | null {
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
  const base = { kind: 'import' as const, library, symbol: imp.symbol, weak: imp.weak, source: info.source, ...(imp.version ? { version: imp.version } : {}) };
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
    push(s.syscall, { ...base, role: 'chain', step: i, ...(next ? { next: next.syscall } : {}) }, handling);
  });
  for (const s of info.also) push(s.syscall, { ...base, role: 'also', ...(s.note ? { when: s.note } : {}) }, stepHandling(s, s.note));
  for (const s of info.conditional) push(s.syscall, { ...base, role: 'conditional', when: s.when }, stepHandling(s, `only ${s.when}`));
  for (const s of info.onEnosysCalls)
    push(s.syscall, { ...base, role: 'on-enosys' }, { k: 'direct', detail: 'part of the fallback path: if it fails too, the function fails' });
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

function collectObject(elf: ElfInfo, src: ElfBytes, ctx: Ctx, library: string | null): Collected {
  const bytes = src.bytes;
  const out: Collected = { reaches: [], unresolved: [], unknownImports: [] };
  // 1. Imports.
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
    const key = `${ctx.libc}/${ctx.arch}/${ctx.version}\0${library ?? ''}\0${imp.name}\0${imp.version ?? ''}\0${imp.weak ? 1 : 0}`;
    let got = importReaches.get(key);
    if (got === undefined) {
      const info = lookup(ctx.libc, imp.name, ctx.arch, ctx.version);
      if (info) {
        const one: Collected = { reaches: [], unresolved: [], unknownImports: [] };
        addFunction(ctx, one, library, info, { symbol: imp.name, ...(imp.version ? { version: imp.version } : {}), weak: imp.weak }, new Set());
        got = one.reaches;
      } else got = null;
      importReaches.set(key, got);
    }
    if (!got) {
      if (callable(imp)) out.unknownImports.push({ name: imp.name, ...(imp.library ? { from: imp.library } : {}) });
      continue;
    }
    // The cached reaches are shared by every file importing the symbol: the span, which is
    // this file's own, goes on a copy.
    const span = importSpan(elf, imp.symbolOffset);
    for (const r of got) out.reaches.push(span ? { ...r, via: { ...r.via, span } as ViaBase } : r);
  }
  // 2. Sites (the scan context's function index, built only when a site or call needs it, is shared with 3).
  const scan = new ScanContext(elf, bytes);
  const sites = findSyscallSites(elf, bytes, scan);
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
  const calls = findSyscallCalls(elf, bytes, scan, [...new Set(wrapperOf.values())], calledWrappers);
  for (const s of sites) {
    const span = codeSpan(elf, s.address, siteLength(s.kind, s.isa));
    const at = span ? { span } : {};
    if (s.number === null) {
      if (s.kind === 'syscall_wrapper' && (hasWrapperSym || importsSyscall || s.function === 'syscall')) continue; // resolved at its callers
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
  // 3. syscall() with a constant.
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
  // 4. A linked sysgate shim defines the libc symbols it wraps, so a call it answers with ENOSYS
  //    (signalfd at 13.7) is no import any more: its manifest says which, and the calls to those
  //    wrappers say whether the program uses them.
  if (library === null) {
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
      if (wrappers.size) findSyscallCalls(elf, bytes, scan, [...wrappers.keys()], called);
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
  return out;
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

// ---------------------------------------------------------------------------------------------
// Judging

const ENOSYS = 38;

/**
 * What the program experiences when the policy answers a call with `action` and the code
 * around it handles failure as `h`. An error that leaves the C library (a wrapper's return,
 * syscall(), a fallback that is not taken for this errno) reaches the application, and what
 * the application does with it is not known: `depends`, never a PASS under --strict.
 * `breaks` needs a record that the code it reaches fails on it (a linked library's).
 */
function judge(action: Action, h: Handling): Judgement {
  if (isAllow(action)) return { verdict: 'allowed' };
  switch (action.kind) {
    case 'kill-process':
    case 'kill-thread':
      return { verdict: 'dies', how: 'killed' };
    case 'trap':
      return { verdict: 'dies', how: 'sigsys' };
    case 'errno':
      break;
    default:
      return { verdict: 'depends' };
  }
  const enosys = action.errno === ENOSYS;
  const aborts: Judgement = { verdict: 'dies', how: 'aborts' };
  switch (h.k) {
    case 'chain':
      if (h.next && (enosys || h.anyError)) return { verdict: 'falls-back' };
      if (!h.next) {
        if (h.onEnosys === 'abort') return aborts;
        if ((h.onEnosys === 'fallback' || h.onEnosys === 'fallback-file') && enosys) return { verdict: 'falls-back' };
        // The fallback works in one build of this release and hangs or aborts in another.
        if (h.onEnosys === 'depends-on-build' && enosys) return { verdict: 'depends' };
      }
      // The function returns the error: callers of an advisory call carry on without it.
      return { verdict: h.advisory ? 'degrades' : 'depends' };
    case 'startup':
      if (h.onEnosys === 'ignored') return { verdict: 'degrades' };
      if (h.onEnosys === 'fallback' && enosys) return { verdict: 'falls-back' };
      return aborts;
    case 'direct':
      return { verdict: 'depends' };
    case 'unknown':
      return { verdict: 'depends' };
    case 'step': {
      const applies = enosys || h.anyError === true;
      switch (h.onEnosys) {
        case 'ignored':
          return { verdict: applies ? 'degrades' : 'depends' };
        case 'fallback':
          return { verdict: applies ? 'falls-back' : 'depends' };
        case 'error':
          return { verdict: 'depends' };
        case 'abort':
          return aborts;
      }
      break;
    }
    case 'library': {
      if (h.errors !== 'any' && !h.errors.includes(errnoName(action.errno) ?? '')) return { verdict: 'depends' };
      switch (h.onError) {
        case 'falls-back':
          return { verdict: 'falls-back' };
        case 'degrades':
          return { verdict: 'degrades' };
        case 'breaks':
          return { verdict: 'breaks' };
        case 'aborts':
          return aborts;
      }
      break;
    }
  }
  return { verdict: 'depends' };
}

function worst(js: Judgement[]): Judgement {
  let best: Judgement = { verdict: 'allowed' };
  for (const j of js) if (judgementRank(j) < judgementRank(best)) best = j;
  return best;
}

/** Who gets the error: the import's function, syscall(), the library, or the code around a site. */
function whoGets(via: Via | undefined): string {
  switch (via?.kind) {
    case 'import':
      return `${via.symbol}() returns the error to the program`;
    case 'syscall()':
      return 'syscall() returns the error to the program';
    case 'library':
      return `${via.library} gets the error`;
    case 'site':
      return via.function ? `${via.function}() gets the error` : 'the code around the call gets the error';
    default:
      return 'the code around the call gets the error';
  }
}

function outcomeText(j: Judgement, action: Action, via: Via | undefined, h: Handling | undefined): string {
  const err = action.kind === 'errno' ? (errnoName(action.errno) ?? `errno ${action.errno}`) : '';
  const next = h && 'next' in h && h.next ? h.next : undefined;
  const detail = h?.detail ? ` (${h.detail})` : '';
  switch (j.verdict) {
    case 'allowed':
      return 'allowed';
    case 'dies':
      switch (j.how) {
        case 'sigsys':
          return 'raises SIGSYS: the process dies (libraries do not fall back on a signal)';
        case 'aborts':
          return `fails with ${err}; ${via?.kind === 'library' ? via.library : 'the C library'} cannot go on: the process dies${detail}`;
        default:
          return `${describeOutcome(action)}`;
      }
    case 'falls-back':
      if (next) return `fails with ${err}; ${via?.kind === 'library' ? via.library : 'the C library'} falls back to ${next}`;
      return `fails with ${err}; ${h?.detail ?? 'the C library falls back'}`;
    case 'degrades':
      if (h?.k === 'chain' && h.advisory) return `fails with ${err}; ${whoGets(via)}, and callers carry on without it (${h.advisory})`;
      return `fails with ${err}; ${via?.kind === 'library' ? via.library : 'the C library'} carries on without it${detail}`;
    case 'breaks':
      return `fails with ${err}; ${whoGets(via)}, and it fails on it${detail}`;
    case 'depends':
      return action.kind === 'errno' ? `fails with ${err}; ${whoGets(via)}: whether it copes is not known${detail}` : describeOutcome(action);
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * Checks one ELF against a target. Throws InputError for files that cannot be checked
 * (malformed, an arch the target lacks); returns the report otherwise.
 */
export function checkElf(input: Uint8Array | ElfBytes, file: string, target: TargetDef | PolicySet, opts: CheckOptions = {}): CheckReport {
  return checkElfWith(input, file, asPolicySet(target, opts.firmware), opts);
}

/** checkElf on resolved policies: `opts.firmware` is the set's business, not read here. */
function checkElfWith(input: Uint8Array | ElfBytes, file: string, set: PolicySet, opts: CheckOptions): CheckReport {
  const src = input instanceof Uint8Array ? inMemory(input) : input;
  const elf = readElf(src, file);
  // A file the kernel refuses to execute makes no syscalls: never a PASS.
  if (elf.cannotRun) throw new InputError(`${file}: cannot run: ${elf.cannotRun}`);
  if (!elf.arch) throw new InputError(`${file}: e_machine ${elf.machine} (${elf.class}-bit) is not an arch sysgate knows`);
  const arch = elf.arch;
  const policy = policyFor(set, arch);
  if (!policy) throw new InputError(`${file}: ${arch} binary, but target ${set.target.id} is defined for ${set.target.arches.join(', ')} only`);
  const libc = detectLibc(elf, src);
  const isLibrary = elf.type === 'dyn' && !elf.pie && !elf.interp;
  const libcInfo = libcVersion(elf, libc, opts, isLibrary);
  const version = libcInfo.version ?? '0';
  const startup = libc && !isLibrary ? startupCalls(libc, arch, { version, dynamic: !elf.static }) : [];
  const startupMap = new Map<string, Handling>();
  for (const s of startup) {
    if (!startupMap.has(s.syscall)) startupMap.set(s.syscall, { k: 'startup', onEnosys: s.onEnosys, ...(s.fallback ? { next: s.fallback } : {}) });
  }
  const ctx: Ctx = { arch, libc, version, startup: startupMap };

  const reaches: Reach[] = [];
  const unresolved: Unresolved[] = [];
  const unknownImports = new Set<string>();
  for (const s of startup) {
    const nr = nrOf(arch, s.syscall);
    if (nr === null) continue;
    reaches.push({
      name: s.syscall,
      nr,
      via: { kind: 'startup', library: null, when: s.when, onEnosys: s.onEnosys, source: s.source, ...(s.fallback ? { next: s.fallback } : {}) },
      handling: { k: 'startup', onEnosys: s.onEnosys, ...(s.fallback ? { next: s.fallback } : {}), ...(s.note ? { detail: s.note } : {}) },
    });
  }
  const own = collectObject(elf, src, ctx, null);
  reaches.push(...own.reaches);
  unresolved.push(...own.unresolved);
  const pendingUnknown: { name: string; from?: string; in?: string }[] = [...own.unknownImports];

  // Libraries from the sysroot, breadth first.
  const libraries: LibraryReport[] = [];
  /** What the analysed libraries define: an import one of them answers is its code, counted there. */
  const exported = new Set<string>();
  if (opts.sysroot && !elf.static) {
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
      const path = findInSysroot(opts.sysroot, arch, name);
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
  }

  // An import versioned to a library --sysroot analysed, or unversioned and defined by one, is
  // that library's code, whose own imports and sites were counted: not a finding of its own.
  // Any other stays one (a symbol versioned to the C library is the knowledge base's to model).
  const analysed = new Set(libraries.filter((l) => l.status === 'analysed').map((l) => l.name));
  const covered = (n: { name: string; from?: string }): boolean => (n.from ? analysed.has(n.from) : exported.has(n.name));
  for (const n of pendingUnknown) if (!covered(n)) unknownImports.add(n.in ? `${n.name} (${n.in})` : n.name);

  // Libraries the process links whose behaviour on a call's failure is recorded: their way
  // of reaching the call is judged by the record (the library's own import of it, analysed
  // under --sysroot, says only that the error reaches the library).
  const linked = librariesLinked([...elf.needed, ...libraries.map((l) => l.name)]);
  const recorded = new Map(linked.map((l) => [l.soname, new Set(l.calls.flatMap((c) => c.syscalls))]));
  const kept = reaches.filter((r) => !(r.via.library !== null && recorded.get(r.via.library)?.has(r.name)));
  for (const l of linked) {
    for (const c of l.calls) {
      for (const name of c.syscalls) {
        const nr = nrOf(arch, name);
        if (nr === null) continue;
        kept.push({
          name,
          nr,
          via: { kind: 'library', library: l.soname, when: c.when, source: c.source },
          handling: { k: 'library', onError: c.onError, errors: c.errors, ...(c.fallback ? { next: c.fallback } : {}), detail: c.detail },
        });
      }
    }
  }

  // Judge every way of reaching every call.
  const byName = new Map<string, { nr: number; vias: Via[]; handlings: Handling[] }>();
  for (const r of kept) {
    const { action } = callOutcome(policy, r.nr);
    const j = judge(action, r.handling);
    const via = {
      ...r.via,
      verdict: j.verdict,
      ...(j.how ? { how: j.how } : {}),
      ...(r.handling.detail && j.verdict !== 'allowed' ? { detail: r.handling.detail } : {}),
    } as Via;
    let e = byName.get(r.name);
    if (!e) byName.set(r.name, (e = { nr: r.nr, vias: [], handlings: [] }));
    e.vias.push(via);
    e.handlings.push(r.handling);
  }
  const syscalls: Finding[] = [];
  for (const [name, e] of byName) {
    const { action, rule, conditional } = callOutcome(policy, e.nr);
    const j = worst(e.vias);
    const verdict = j.verdict;
    const wi = e.vias.findIndex((v) => judgementRank(v) === judgementRank(j));
    const denied = deniedName(policy, name);
    const importFix = e.vias.map((v) => (v.kind === 'import' ? KNOWN_FIXES[v.symbol] : undefined)).find(Boolean);
    const fix = verdict === 'allowed' ? undefined : (denied?.fix ?? KNOWN_FIXES[name] ?? libcFix(name, policy.arch.name, action) ?? importFix);
    const f: Finding = {
      name,
      nr: e.nr,
      verdict,
      ...(j.how ? { how: j.how } : {}),
      severity: severityOf(verdict),
      action: formatAction(action),
      outcome: outcomeText(j, action, e.vias[wi], e.handlings[wi]),
      ...(rule && isAllow(action) && (conditional || rule.limit) ? { condition: rule.limit ?? 'allowed only for some argument values' } : {}),
      ...(denied && verdict !== 'allowed' ? { reason: denied.reason } : {}),
      ...(fix ? { fix } : {}),
      via: e.vias.sort((a, b) => judgementRank(a) - judgementRank(b)),
    };
    syscalls.push(f);
  }
  syscalls.sort((a, b) => judgementRank(a) - judgementRank(b) || collate(a.name, b.name));
  const fatal = syscalls.filter((f) => f.severity === 'fatal').length;
  return {
    file,
    arch,
    target: policy.target.id,
    firmware: policy.firmware,
    defaultAction: formatAction(policy.defaultAction),
    static: elf.static,
    type: elf.type,
    library: isLibrary,
    libc: libcInfo,
    ...(own.shim ? { shim: own.shim } : {}),
    // A 32-bit program meeting a 64-bit ABI's numbers as they are: say why it fails and what to build.
    ...(policy.abi?.here === 'same-table' ? { abiNote: abiNote(policy)! } : {}),
    syscalls,
    unresolved,
    unknownImports: [...unknownImports].sort(),
    libraries,
    ...(elf.warnings.length ? { warnings: elf.warnings } : {}),
    summary: {
      syscalls: syscalls.length,
      denied: syscalls.filter((f) => f.verdict !== 'allowed').length,
      fatal,
      // Each import the knowledge base does not model is a `depends` finding of its own.
      warnings: syscalls.filter((f) => f.severity === 'warning').length + unknownImports.size,
      unresolved: unresolved.length,
      unmodelled: unknownImports.size,
    },
    fatal: fatal > 0,
  };
}
