/**
 * Types of `sysgate check`: what a binary calls (Via), what the target does with each call
 * (Verdict), and the per-file report every output format is rendered from. Plain data,
 * JSON-friendly (no bigint, no Map), so reports cross worker threads unchanged.
 */
import type { ShimManifest } from '../shim/manifest.ts';
import type { Libc, OnEnosys, StepOnEnosys } from '../libc/index.ts';
import type { LibraryOnError } from '../libc/libraries.ts';
import type { ArchName } from '../syscalls/arches.ts';
import type { SiteKind } from '../elf/types.ts';
import type { ByteSpan } from './span.ts';

/**
 * What the program experiences when it makes the call on the target at this firmware, worst
 * last (issue 13):
 * - `allowed`: the policy allows it (possibly only for some arguments: see `condition`);
 * - `falls-back`: denied with ENOSYS (or an error the code treats alike), and the C library or a
 *   linked library then tries something the caller can live with (an older syscall,
 *   /dev/urandom): fine when the fallback is allowed;
 * - `degrades`: an advisory call fails and its callers carry on without it (rseq, stdio's fstat
 *   for the buffer size, posix_fadvise, sched_getaffinity with sysconf's count after it);
 * - `depends`: the error reaches the application and nothing known says whether it copes (a raw
 *   syscall site outside every function the knowledge base models, an import it does not model);
 * - `breaks`: the error reaches code known to fail on it (no fallback: the feature breaks);
 * - `dies`: the process dies; `how` says how (see DeathHow).
 */
export type Verdict = 'allowed' | 'falls-back' | 'degrades' | 'depends' | 'breaks' | 'dies';

/**
 * How a process that `dies` dies, worst first:
 * - `killed`: the filter kills the process (or thread) outright (CodeSafe < 13.7, the enclave);
 * - `sigsys`: the call raises SIGSYS, which no library handles (a trapping user target);
 * - `aborts`: denied with an errno where the code cannot go on (loader, TLS set-up, an abort on
 *   failure in the C library or a linked library such as OpenSSL 3's seeding in Node).
 */
export type DeathHow = 'killed' | 'sigsys' | 'aborts';

/** A verdict with, for `dies`, how: what one way of reaching a call (or the call) comes to. */
export interface Judgement {
  verdict: Verdict;
  how?: DeathHow;
}

/** Worst first; a syscall reached several ways gets the worst verdict of its ways. */
export const VERDICT_ORDER: readonly Verdict[] = ['dies', 'breaks', 'depends', 'degrades', 'falls-back', 'allowed'];
export const DEATH_ORDER: readonly DeathHow[] = ['killed', 'sigsys', 'aborts'];

/** A total order on judgements, worst (0) first: `dies` split by how. */
export function judgementRank(j: Judgement): number {
  if (j.verdict === 'dies') return DEATH_ORDER.indexOf(j.how ?? 'killed');
  return DEATH_ORDER.length + VERDICT_ORDER.indexOf(j.verdict) - 1;
}

/** `fatal` findings make `sysgate check` exit 1; `warning`s too under --strict. */
export type Severity = 'fatal' | 'warning' | 'ok';

export function severityOf(v: Verdict): Severity {
  switch (v) {
    case 'dies':
    case 'breaks':
      return 'fatal';
    case 'depends':
      return 'warning';
    default:
      return 'ok';
  }
}

/** Which object of the process the call comes from, and what the target does to this way of reaching it. */
export interface Origin {
  /** `null` for the checked file itself, else the library's DT_NEEDED name (--sysroot). */
  library: string | null;
  verdict: Verdict;
  /** With verdict `dies`: how. */
  how?: DeathHow;
  /** What the C library does on failure here, when the knowledge base says. */
  detail?: string;
}

/** How the binary reaches a syscall. */
export type Via =
  | (Origin & {
      kind: 'import';
      /** The imported function, e.g. `getentropy`. */
      symbol: string;
      version?: string;
      weak: boolean;
      /** Which list of the knowledge-base entry the syscall is in. */
      role: 'chain' | 'also' | 'conditional' | 'on-enosys';
      /** Position in the fallback chain (role 'chain'): 0 is tried first. */
      step?: number;
      /** The syscall tried next when this one fails with ENOSYS. */
      next?: string;
      when?: string;
      source: string;
      /** The import's Elf_Sym entry in the file (or library) that imports it. */
      span?: ByteSpan;
    })
  | (Origin & {
      kind: 'startup';
      /** What the C library does, e.g. "__tls_init_tp: ...". */
      when: string;
      onEnosys: 'ignored' | 'fatal' | 'fallback';
      next?: string;
      source: string;
    })
  | (Origin & {
      /**
       * A library the process links (DT_NEEDED, by SONAME) whose own behaviour on this call's
       * failure is recorded (src/libc/libraries.json): OpenSSL 3's seeding, Python's urandom.
       */
      kind: 'library';
      /** The library is linked into the file (recognised by the API it exports), not loaded by SONAME. */
      linkedIn?: true;
      /** What the library does with the call, e.g. "seeds its DRBG (RAND_bytes, TLS, keys)". */
      when: string;
      source: string;
    })
  | (Origin & {
      kind: 'site';
      /** Address of the trap (or of the `bl __libc_do_syscall`). */
      address: number;
      siteKind: SiteKind;
      function?: string;
      /** When the enclosing function is a knowledge-base function: its fallback step. */
      step?: number;
      next?: string;
      /** The instruction's bytes in the file (or library). */
      span?: ByteSpan;
    })
  | (Origin & {
      kind: 'syscall()';
      /** Address of the call to the C library's syscall() with a constant number. */
      address: number;
      function?: string;
      /** The call instruction's bytes in the file (or library). */
      span?: ByteSpan;
    });

/** One syscall the binary reaches, with the target's verdict. */
export interface Finding {
  name: string;
  /** Number on the file's arch. */
  nr: number;
  verdict: Verdict;
  /** With verdict `dies`: how (of the worst way of reaching it). */
  how?: DeathHow;
  severity: Severity;
  /** The seccomp action the policy takes, e.g. `allow`, `errno:ENOSYS`, `trap`, `kill-process`. */
  action: string;
  /** What the program experiences, one sentence. */
  outcome: string;
  /** Argument or device-enforced condition on an allowed call. */
  condition?: string;
  /** Why the target denies it (the target's `deny` list). */
  reason?: string;
  /** The known way around it. */
  fix?: string;
  /** The ways of reaching the call, worst first; a bounded few of them (check/via-bound.ts). */
  via: Via[];
  /**
   * How many more distinct ways reach the call than `via` lists (absent: none). Each was judged
   * (the verdict is the worst of all of them); listing them made a directory check's report
   * grow with every malloc-using import (issue 13).
   */
  viasOmitted?: number;
}

/** A syscall instruction (or call to syscall()) whose number could not be recovered. */
export interface Unresolved {
  library: string | null;
  address: number;
  kind: SiteKind | 'syscall()';
  function?: string;
  reason: string;
  /** The instruction's bytes in the file (or library). */
  span?: ByteSpan;
}

export interface LibraryReport {
  /** DT_NEEDED name. */
  name: string;
  /** Path inside the sysroot, when found. */
  path?: string;
  /** analysed: imports and sites counted; libc: modelled by the knowledge base; missing: not found. */
  status: 'analysed' | 'libc' | 'missing' | 'error';
  /** Which object needs it (null: the checked file). */
  neededBy: string | null;
  error?: string;
}

export interface LibcInfo {
  name: 'glibc' | 'musl' | 'unknown';
  /** The version the knowledge base is asked about. */
  version?: string;
  /** Where the version comes from. */
  versionFrom?: 'sysroot' | 'references' | 'default' | 'option';
  /** Highest GLIBC_x.y the file references, if any. */
  referenced?: string;
  /**
   * Whether the libc the file runs with lies in the releases the knowledge base was checked
   * against: false for an older or newer --libc-version or sysroot libc, and for an executable
   * built against a glibc older than the coverage (then `version` is only the assumed default).
   */
  covered?: boolean;
  /** One line for the user when `covered` is false: what is outside the coverage and what to do. */
  notice?: string;
}

export interface CheckReport {
  file: string;
  arch: ArchName;
  target: string;
  firmware: string | null;
  /** The policy's default action for calls it does not list. */
  defaultAction: string;
  static: boolean;
  /** ELF type: exec, dyn (PIE or shared library), ... */
  type: string;
  /** A shared library (no start-up of its own is counted). */
  library: boolean;
  libc: LibcInfo;
  syscalls: Finding[];
  unresolved: Unresolved[];
  /**
   * Imports the knowledge base does not model, as `name` or `name (library)`: each is a
   * `depends` finding (a warning; --strict fails on it), since what it asks the kernel for is
   * not known. Never dropped: an unknown name is a finding (fail closed).
   */
  unknownImports: string[];
  libraries: LibraryReport[];
  /**
   * What the reader noticed about the file itself: section headers that disagree with the
   * program headers (the segments were used), or that were ignored. Absent when none.
   */
  warnings?: string[];
  /** Counts by severity over `syscalls`, and whether any finding is fatal. */
  /** Set when the target's numbers belong to another ABI of the same kernel table (32-bit ppc under a ppc64 list). */
  abiNote?: string;
  /** A sysgate shim linked into the file: the policy it was made for and what each wrapper answers. */
  shim?: ShimManifest;
  /**
   * fatal: dies and breaks findings; warnings: depends findings, each unmodelled import
   * included (it is one); unmodelled: those imports alone.
   */
  summary: { syscalls: number; denied: number; fatal: number; warnings: number; unresolved: number; unmodelled: number };
  fatal: boolean;
}

/** A file that could not be checked (not an ELF given by name, unsupported arch, malformed). */
export interface CheckError {
  file: string;
  error: string;
}

export type CheckResult = CheckReport | CheckError;

/** What --strict fails on besides fatal findings: depends findings (warnings) and unresolved numbers. */
export function incomplete(r: { summary: { warnings: number; unresolved: number } }): boolean {
  return r.summary.warnings > 0 || r.summary.unresolved > 0;
}

export function isCheckError(r: CheckResult): r is CheckError {
  return 'error' in r;
}

export interface CheckOptions {
  /** Firmware as typed (13.7); default: the newest the target knows. */
  firmware?: string;
  /** Follow DT_NEEDED into this directory (lib, usr/lib, lib/<triplet>, usr/lib/<triplet>). */
  sysroot?: string;
  /** The C library version to assume, overriding what the file says. */
  libcVersion?: string;
}

// ---------------------------------------------------------------------------------------------
// Inside the analysis (src/check/collect.ts, judge.ts, libraries.ts, analyze.ts): not reported.

/** How the code around a call reacts to its failure (before the policy is known). */
export type Handling =
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

export type ViaBase = Via extends infer V ? (V extends unknown ? Omit<V, 'verdict' | 'detail'> : never) : never;

/** One way of reaching one call, before the policy is known. */
export interface Reach {
  name: string;
  nr: number;
  via: ViaBase;
  handling: Handling;
}

export interface Collected {
  /** The manifest of a sysgate shim linked into the file. */
  shim?: ShimManifest;
  reaches: Reach[];
  unresolved: Unresolved[];
  /** Imports the knowledge base lacks, with the library their symbol version belongs to. */
  unknownImports: { name: string; from?: string }[];
}

/** What collecting an object needs to know about the program it belongs to. */
export interface Ctx {
  arch: ArchName;
  libc: Libc | undefined;
  version: string;
  startup: Map<string, Handling>;
}
