/**
 * Types of `sysgate check`: what a binary calls (Via), what the target does with each call
 * (Verdict), and the per-file report every output format is rendered from. Plain data,
 * JSON-friendly (no bigint, no Map), so reports cross worker threads unchanged.
 */
import type { ShimManifest } from '../shim/manifest.ts';
import type { ArchName } from '../syscalls/arches.ts';
import type { SiteKind } from '../elf/types.ts';
import type { ByteSpan } from './span.ts';

/**
 * What happens when the binary makes the call on the target at this firmware:
 * - `allowed`: the policy allows it (possibly only for some arguments: see `condition`);
 * - `fallback`: denied with ENOSYS, and the C library then tries something the caller can
 *   live with (an older syscall, /dev/urandom): fine when the fallback is allowed;
 * - `ignored`: denied with ENOSYS, and the C library carries on without it;
 * - `unknown`: denied with an errno, and nothing recorded says how the code handles it
 *   (a raw syscall site outside any function the libc knowledge base models);
 * - `broken`: denied with an errno, and the caller gets the error: no fallback (the feature breaks);
 * - `aborts`: denied with an errno where the C library cannot go on (loader, TLS set-up, an
 *   abort on failure): the process dies;
 * - `sigsys`: the call raises SIGSYS: the process dies (CodeSafe firmware < 13.7);
 * - `killed`: the filter kills the process (or thread) outright (enclave).
 */
export type Verdict = 'allowed' | 'fallback' | 'ignored' | 'unknown' | 'broken' | 'aborts' | 'sigsys' | 'killed';

/** Worst first; a syscall reached several ways gets the worst verdict of its ways. */
export const VERDICT_ORDER: readonly Verdict[] = ['killed', 'sigsys', 'aborts', 'broken', 'unknown', 'fallback', 'ignored', 'allowed'];

/** `fatal` findings make `sysgate check` exit 1. */
export type Severity = 'fatal' | 'warning' | 'ok';

export function severityOf(v: Verdict): Severity {
  switch (v) {
    case 'killed': case 'sigsys': case 'aborts': case 'broken': return 'fatal';
    case 'unknown': return 'warning';
    default: return 'ok';
  }
}

/** Which object of the process the call comes from, and what the target does to this way of reaching it. */
export interface Origin {
  /** `null` for the checked file itself, else the library's DT_NEEDED name (--sysroot). */
  library: string | null;
  verdict: Verdict;
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
  via: Via[];
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
  /** Function imports the knowledge base does not model (their syscalls are not counted). */
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
  summary: { syscalls: number; denied: number; fatal: number; warnings: number; unresolved: number };
  fatal: boolean;
}

/** A file that could not be checked (not an ELF given by name, unsupported arch, malformed). */
export interface CheckError {
  file: string;
  error: string;
}

export type CheckResult = CheckReport | CheckError;

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
