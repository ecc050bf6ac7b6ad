/**
 * The libc knowledge base used by `sysgate check`: which syscalls a C library function makes on
 * each arch (with its ENOSYS fallback chain), and what the library does by itself before main.
 *
 * The facts live in JSON (`glibc.json`, `musl.json` next to this file), validated by
 * `schemas/libc.schema.json` in the tests (ajv stays out of the CLI's start-up). Each entry
 * names the libc source file it was read from; entries seen in a real run say so in `verified`.
 *
 * Lookups take a symbol as an ELF import names it (`getentropy`, `getentropy@GLIBC_2.25`,
 * `__clock_gettime64@@GLIBC_2.34`), an arch, and optionally the libc version the binary runs
 * with (default: the file's `defaultVersion`, 2.36 for glibc, 1.2.3 for musl). Answers are
 * already narrowed to the arch: steps for other arches are dropped.
 *
 * Chain semantics: `chain[0]` is tried first; each later step runs only when the previous one
 * failed with ENOSYS (or with any error, when `fallbackOn` is 'any-error'). A seccomp policy
 * that denies an earlier step must therefore return ENOSYS, never EPERM or a signal, or the
 * fallback is never reached. Steps outside the chain (`also`, `conditional`) say how their
 * failure is handled in their own `onEnosys`. Entries marked `pure` make no syscall at all.
 */
import type { ArchName } from '../syscalls/arches.ts';
import glibcData from './glibc.json' with { type: 'json' };
import muslData from './musl.json' with { type: 'json' };

export type Libc = 'glibc' | 'musl';
export const LIBCS: readonly Libc[] = ['glibc', 'musl'];

export interface SyscallStep {
  syscall: string;
  /** Only on these arches. In lookup answers this is already applied and left out. */
  arches?: ArchName[];
  /**
   * Only from this release on (inclusive) / before this release (exclusive): one step of a
   * long entry that changed, without copying the whole entry (glibc 2.39's fstat). In lookup
   * answers this is already applied and left out.
   */
  minVersion?: string;
  beforeVersion?: string;
  /** Which failure of the previous step leads here. Default 'ENOSYS'. */
  fallbackOn?: 'ENOSYS' | 'any-error';
  /** For conditional steps: the arguments or state that make the library use this syscall. */
  when?: string;
  /**
   * For `also` and `conditional` steps (outside the chain): what the function does when this
   * call fails with ENOSYS (with any error when `anyError`). Absent: not recorded (judged
   * 'unknown'). 'ignored': it carries on; 'error': the caller gets an error; 'abort': the
   * process dies; 'fallback': it uses `fallback` (or another mechanism, see `note`) instead.
   */
  onEnosys?: StepOnEnosys;
  /** With onEnosys 'fallback': the syscall used instead (e.g. clock_gettime for malloc's key). */
  fallback?: string;
  /** The onEnosys handling holds for any error, not only ENOSYS. */
  anyError?: boolean;
  note?: string;
}

/** How a function handles the failure of one of its `also` or `conditional` steps. */
export type StepOnEnosys = 'ignored' | 'error' | 'abort' | 'fallback';

export interface ConditionalStep extends SyscallStep {
  when: string;
}

export interface VdsoEntry {
  /** vDSO symbol tried before any syscall, e.g. `__vdso_clock_gettime64`. */
  symbol: string;
  arches: ArchName[];
  note?: string;
}

/**
 * What the library does when the whole chain fails with ENOSYS. 'depends-on-build': the
 * release tag and its stable branch differ (glibc 2.36 and 2.39 arc4random), and nothing in the
 * binary says which build it runs with, so `check` cannot promise the fallback.
 */
export type OnEnosys = 'error' | 'fallback-file' | 'fallback' | 'abort' | 'depends-on-build';

/** One knowledge-base entry as stored in the JSON files. */
export interface FunctionEntry {
  symbols: string[];
  /** Entry applies only on these arches. */
  arches?: ArchName[];
  /** First libc version with this behaviour (inclusive). */
  minVersion?: string;
  /** First libc version without it (exclusive). */
  beforeVersion?: string;
  vdso?: VdsoEntry[];
  chain: SyscallStep[];
  also?: SyscallStep[];
  conditional?: ConditionalStep[];
  /** Other knowledge-base symbols whose syscalls this function makes too. */
  uses?: string[];
  /** Each symbol is first the syscall of the same name: the answer's chain is [symbol, ...chain]. */
  sameName?: boolean;
  /** The generic syscall(2) wrapper: the number comes from the caller. */
  numberFromCaller?: boolean;
  /** No syscall at all (string, memory, ctype, math ...): known, and nothing to allow. */
  pure?: boolean;
  onEnosys: OnEnosys;
  onEnosysDetail?: string;
  /**
   * The call is advice: it changes no data the program reads back, so callers carry on when
   * it fails (`check` judges its error 'degrades', not 'depends'). Says why, with its source,
   * e.g. posix_fadvise: "POSIX advice; coreutils' fdadvise ignores the result".
   */
  advisory?: string;
  /** Syscalls of the ENOSYS fallback path (e.g. arc4random's /dev/urandom read). */
  onEnosysCalls?: SyscallStep[];
  source: string;
  verified?: string;
  note?: string;
}

/** A lookup answer: one entry narrowed to one symbol and one arch. */
export interface FunctionInfo {
  libc: Libc;
  /** The symbol asked for, without its @VERSION suffix. */
  symbol: string;
  arch: ArchName;
  /** The version the answer is for. */
  version: string;
  minVersion?: string;
  beforeVersion?: string;
  /** vDSO symbols tried before any syscall on this arch (no syscall when they answer). */
  vdso: string[];
  /** Fallback chain: chain[0] first, the next only on ENOSYS (see fallbackOn). */
  chain: SyscallStep[];
  /** Other syscalls the function may always make. */
  also: SyscallStep[];
  /** Syscalls made only for some arguments (e.g. a timeout past 2038). */
  conditional: ConditionalStep[];
  uses: string[];
  numberFromCaller: boolean;
  /** The function makes no syscall at all. */
  pure: boolean;
  onEnosys: OnEnosys;
  onEnosysDetail?: string;
  /** Callers carry on when it fails (see FunctionEntry.advisory). */
  advisory?: string;
  onEnosysCalls: SyscallStep[];
  source: string;
  verified?: string;
  note?: string;
}

export type StartupOnEnosys = 'ignored' | 'fatal' | 'fallback';

/** One start-up entry as stored in the JSON files. */
export interface StartupEntry {
  syscall: string;
  arches?: ArchName[];
  minVersion?: string;
  beforeVersion?: string;
  linkage: 'static' | 'dynamic' | 'both';
  when: string;
  onEnosys: StartupOnEnosys;
  /** The syscall tried next when this one fails with ENOSYS. */
  fallback?: string;
  source: string;
  note?: string;
}

/** A syscall the C library makes before (or, for malloc's key, around) main. */
export interface StartupCall {
  syscall: string;
  when: string;
  onEnosys: StartupOnEnosys;
  fallback?: string;
  linkage: 'static' | 'dynamic' | 'both';
  source: string;
  note?: string;
}

/** The whole file, as described by schemas/libc.schema.json. */
export interface LibcKnowledgeBase {
  $schema?: string;
  libc: Libc;
  defaultVersion: string;
  coverage: { from: string; through: string };
  sources: string[];
  notes?: string[];
  functions: FunctionEntry[];
  startup: StartupEntry[];
}

const KB: Readonly<Record<Libc, LibcKnowledgeBase>> = {
  glibc: glibcData as LibcKnowledgeBase,
  musl: muslData as LibcKnowledgeBase,
};

/** The raw data of one libc (for tests, `sysgate check --explain` and documentation). */
export function knowledgeBase(libc: Libc): LibcKnowledgeBase {
  return KB[libc];
}

/** Compare dotted versions numerically: '2.9' < '2.36'. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

function inRange(version: string, min?: string, before?: string): boolean {
  if (min !== undefined && compareVersions(version, min) < 0) return false;
  if (before !== undefined && compareVersions(version, before) >= 0) return false;
  return true;
}

function onArch<T extends { arches?: ArchName[] }>(arch: ArchName, items: readonly T[] | undefined): T[] {
  return (items ?? []).filter((s) => !s.arches || s.arches.includes(arch));
}

/** The steps that hold on `arch` at `version` (a step's own bounds, inside its entry's). */
function stepsAt<T extends SyscallStep>(arch: ArchName, version: string, items: readonly T[] | undefined): T[] {
  return onArch(arch, items).filter((s) => inRange(version, s.minVersion, s.beforeVersion));
}

/** Drop `arches` and version bounds from a step that has been narrowed to one arch and release. */
function narrow<T extends SyscallStep>(step: T): T {
  const { arches: _arches, minVersion: _min, beforeVersion: _before, ...rest } = step;
  return rest as T;
}

/** `getentropy@GLIBC_2.25`, `foo@@GLIBC_2.34` -> the bare name. */
export function bareSymbol(symbol: string): string {
  const at = symbol.indexOf('@');
  return at < 0 ? symbol : symbol.slice(0, at);
}

/** Whether `version` lies in the range the knowledge base was checked against. */
export function isCovered(libc: Libc, version: string): boolean {
  const { from, through } = KB[libc].coverage;
  return compareVersions(version, from) >= 0 && compareVersions(version, through) <= 0;
}

/**
 * Each name's entries, in the knowledge base's order (so the first that fits is the one a scan
 * of all entries would find): made on first use, per C library. A directory check asks for
 * thousands of names, and each scan of every entry cost a few hundred `includes`.
 */
const byName: Partial<Record<Libc, Map<string, FunctionEntry[]>>> = {};

function entriesNamed(libc: Libc, name: string): readonly FunctionEntry[] {
  let m = byName[libc];
  if (!m) {
    m = new Map();
    for (const e of KB[libc].functions) {
      for (const n of new Set(e.symbols)) {
        const l = m.get(n);
        if (l) l.push(e);
        else m.set(n, [e]);
      }
    }
    byName[libc] = m;
  }
  return m.get(name) ?? [];
}

/** The stored entry for a symbol on an arch at a version, if any. */
export function findEntry(libc: Libc, symbol: string, arch: ArchName, version?: string): FunctionEntry | undefined {
  const v = version ?? KB[libc].defaultVersion;
  return entriesNamed(libc, bareSymbol(symbol)).find((e) => (!e.arches || e.arches.includes(arch)) && inRange(v, e.minVersion, e.beforeVersion));
}

/**
 * What `symbol` does on `arch` with this libc (at `version`, default the file's defaultVersion).
 * undefined when the knowledge base has no entry for it: the caller should then treat the
 * symbol as unknown (not as "no syscalls").
 */
export function lookupFunction(libc: Libc, symbol: string, arch: ArchName, version?: string): FunctionInfo | undefined {
  const e = findEntry(libc, symbol, arch, version);
  if (!e) return undefined;
  const name = bareSymbol(symbol);
  const v = version ?? KB[libc].defaultVersion;
  const rest = stepsAt(arch, v, e.chain).map(narrow);
  const chain = e.sameName ? [{ syscall: name }, ...rest] : rest;
  const info: FunctionInfo = {
    libc,
    symbol: name,
    arch,
    version: v,
    vdso: onArch(arch, e.vdso).map((d) => d.symbol),
    chain,
    also: stepsAt(arch, v, e.also).map(narrow),
    conditional: stepsAt(arch, v, e.conditional).map(narrow),
    uses: e.uses ?? [],
    numberFromCaller: e.numberFromCaller ?? false,
    pure: e.pure ?? false,
    onEnosys: e.onEnosys,
    onEnosysCalls: stepsAt(arch, v, e.onEnosysCalls).map(narrow),
    source: e.source,
  };
  if (e.minVersion !== undefined) info.minVersion = e.minVersion;
  if (e.beforeVersion !== undefined) info.beforeVersion = e.beforeVersion;
  if (e.onEnosysDetail !== undefined) info.onEnosysDetail = e.onEnosysDetail;
  if (e.advisory !== undefined) info.advisory = e.advisory;
  if (e.verified !== undefined) info.verified = e.verified;
  if (e.note !== undefined) info.note = e.note;
  return info;
}

/**
 * Every syscall a function may make on `arch`: its chain, `also`, conditional and ENOSYS
 * fallback steps, and those of the functions it `uses` (recursively). Unknown `uses` names
 * are reported in `unknown`.
 */
export function allSyscallsOf(libc: Libc, symbol: string, arch: ArchName, version?: string): { syscalls: Set<string>; unknown: string[] } | undefined {
  const first = lookupFunction(libc, symbol, arch, version);
  if (!first) return undefined;
  const syscalls = new Set<string>();
  const unknown: string[] = [];
  const seen = new Set<string>();
  const visit = (info: FunctionInfo): void => {
    if (seen.has(info.symbol)) return;
    seen.add(info.symbol);
    for (const s of [...info.chain, ...info.also, ...info.conditional, ...info.onEnosysCalls]) syscalls.add(s.syscall);
    for (const u of info.uses) {
      const next = lookupFunction(libc, u, arch, version);
      if (next) visit(next);
      else unknown.push(u);
    }
  };
  visit(first);
  return { syscalls, unknown };
}

/**
 * What the library does by itself before main (and malloc's first-use key), on `arch`, for a
 * static (`dynamic: false`) or dynamically linked binary.
 */
export function startupCalls(libc: Libc, arch: ArchName, opts: { version?: string; dynamic: boolean }): StartupCall[] {
  const kb = KB[libc];
  const v = opts.version ?? kb.defaultVersion;
  const linkage = opts.dynamic ? 'dynamic' : 'static';
  return onArch(arch, kb.startup)
    .filter((e) => (e.linkage === 'both' || e.linkage === linkage) && inRange(v, e.minVersion, e.beforeVersion))
    .map((e) => {
      const call: StartupCall = { syscall: e.syscall, when: e.when, onEnosys: e.onEnosys, linkage: e.linkage, source: e.source };
      if (e.fallback !== undefined) call.fallback = e.fallback;
      if (e.note !== undefined) call.note = e.note;
      return call;
    });
}

/** All symbols the knowledge base knows for a libc (any arch, any version). */
export function knownSymbols(libc: Libc): string[] {
  return [...new Set(KB[libc].functions.flatMap((e) => e.symbols))].sort();
}

/** What the library does by itself when one syscall fails with ENOSYS (explain's and compat's fixes). */
export interface EnosysRecovery {
  /** Syscalls the library tries next (the following step of a chain, or a step's `fallback`). */
  fallbacks: string[];
  /** Some function or start-up step carries on without the call (`onEnosys: ignored`). */
  carriesOn: boolean;
}

/**
 * How `libc` recovers on `arch` at `version` when `syscall` fails with ENOSYS, over every entry
 * that makes it. undefined when no entry recovers (the call is only ever an error, or unknown).
 */
export function enosysRecovery(libc: Libc, syscall: string, arch: ArchName, version?: string): EnosysRecovery | undefined {
  const kb = KB[libc];
  const v = version ?? kb.defaultVersion;
  const fallbacks = new Set<string>();
  let carriesOn = false;
  for (const e of kb.functions) {
    if ((e.arches && !e.arches.includes(arch)) || !inRange(v, e.minVersion, e.beforeVersion)) continue;
    const chain = stepsAt(arch, v, e.chain);
    chain.forEach((s, i) => {
      const next = chain[i + 1];
      if (s.syscall === syscall && next && next.syscall !== syscall) fallbacks.add(next.syscall);
    });
    for (const s of [...stepsAt(arch, v, e.also), ...stepsAt(arch, v, e.conditional)]) {
      if (s.syscall !== syscall) continue;
      if (s.onEnosys === 'ignored') carriesOn = true;
      if (s.onEnosys === 'fallback' && s.fallback) fallbacks.add(s.fallback);
    }
  }
  for (const s of onArch(arch, kb.startup)) {
    if (s.syscall !== syscall || !inRange(v, s.minVersion, s.beforeVersion)) continue;
    if (s.onEnosys === 'ignored') carriesOn = true;
    if (s.onEnosys === 'fallback' && s.fallback) fallbacks.add(s.fallback);
  }
  return fallbacks.size || carriesOn ? { fallbacks: [...fallbacks].sort(), carriesOn } : undefined;
}
