/**
 * Types of the policy layer: target definitions as loaded from JSON (TargetDef) and the
 * resolved, per-arch Policy that every backend and the ELF check read.
 */
import type { Diagnostic } from '../errors.ts';
import type { ArchInfo, ArchName } from '../syscalls/arches.ts';

/** What the kernel does with a syscall (seccomp return action). */
export type Action =
  | { kind: 'allow' }
  | { kind: 'log' }
  | { kind: 'trap' }
  | { kind: 'kill-process' }
  | { kind: 'kill-thread' }
  | { kind: 'errno'; errno: number }
  | { kind: 'trace'; data: number }
  | { kind: 'user-notif' };

export type CompareOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'masked-eq';

/** One comparison on a syscall argument (unsigned, like the kernel and libseccomp). */
export interface ArgCondition {
  index: number;
  op: CompareOp;
  value: bigint;
  /** For masked-eq: (arg & mask) == value. */
  mask?: bigint;
  /** 32: only the low 32 bits count (the kernel reads the argument as an int). */
  width: 32 | 64;
}

/** A rule as a target file states it, after validation. */
export interface SyscallEntry {
  name: string;
  /** Firmware version (semver) that first allowed it; undefined for unversioned targets. */
  since?: string;
  /** Firmware version that stopped allowing it. */
  until?: string;
  category?: string;
  note?: string;
  /** All must hold for the action to apply; otherwise the default action. */
  args: ArgCondition[];
  /** A condition BPF cannot express; documented, enforced only on the device. */
  limit?: string;
  action: Action;
  /** Vendor-documented numbers, used only as a consistency check. */
  documented: Partial<Record<ArchName, number>>;
  /** Where this entry came from: the target file, or the group it was expanded from. */
  origin: { file: string; pointer: string; group?: string };
}

export interface FirmwareRangeAction {
  /** semver range, e.g. "<13.7.0". */
  range: string;
  action: Action;
  note?: string;
}

export type FamilyExpansion = 'none' | 'absent' | 'all' | 'operations';

export interface TargetDef {
  id: string;
  title: string;
  description: string;
  file: string;
  arches: ArchName[];
  defaultArch: ArchName;
  /** Known firmware versions, sorted; empty for unversioned targets. */
  firmwares: string[];
  defaultActions: FirmwareRangeAction[];
  foreignArchAction: Action;
  expandFamilies: FamilyExpansion;
  /** The arch whose ABI the names come from (literal there under `operations`). */
  abi?: ArchName;
  /** Add each arch's essentials (set_tls, arch_prctl, ...). */
  essentials: boolean;
  entries: SyscallEntry[];
  /** Names the target explicitly says the device denies, with the reason. */
  denied: DeniedName[];
  /** Where other sources (older vendor pages) disagree about a name: information, never policy. */
  history: { name: string; note: string }[];
  /** Chain of ids/paths this target extends, nearest first. */
  extendsChain: string[];
  /**
   * Things the loader accepted but the user should know (entries for one call that overlap
   * with different actions); the CLI prints them to stderr. Absent: none.
   */
  notes?: Diagnostic[];
}

/** A name the target says the device denies: why, and what to do instead. */
export interface DeniedName {
  name: string;
  reason: string;
  fix?: string;
}

export type Provenance =
  | { kind: 'target' }
  | { kind: 'group'; group: string }
  | { kind: 'family'; of: string; family: string }
  | { kind: 'essential'; why: string }
  /** Added for a container runtime's own start-up calls (src/policy/runtimes.ts). */
  | { kind: 'runtime'; runtime: string; engine: string; version: string; seen: number; runs: number };

/** Where a clause came from: the target file and the entry's JSON pointer (and group). */
export interface ClauseOrigin {
  file: string;
  pointer: string;
  group?: string;
}

/** One entry's say about a call: its action when all its conditions hold. */
export interface Clause {
  action: Action;
  /** AND-list; empty = unconditional (matches every call). */
  conditions: ArgCondition[];
  /** Absent for clauses the resolver adds itself (arch essentials). */
  origin?: ClauseOrigin;
}

/**
 * One syscall number's rule in a resolved policy. Meaning (src/policy/evaluate.ts): among the
 * clauses whose conditions hold, the most severe action wins; none holds -> default action.
 */
export interface Rule {
  name: string;
  nr: number;
  /** In the order the target lists them; never empty. */
  clauses: Clause[];
  since?: string;
  category?: string;
  note?: string;
  limit?: string;
  provenance: Provenance;
}

/** A name the target lists that has no number on this arch. */
export interface AbsentName {
  name: string;
  since?: string;
  replacedBy: string[];
}

/**
 * What the target says about a name it lists, whatever the firmware: its first entry's facts.
 * Carried on the Policy for readers that describe a call (explain), so they need no TargetDef.
 */
export interface ListedName {
  name: string;
  /** Firmware that first allowed it (its first entry's since), even where this Policy's firmware does not. */
  since?: string;
  category?: string;
  note?: string;
  limit?: string;
}

/** A target resolved for one firmware and one arch: what a filter enforces. */
export interface Policy {
  target: { id: string; title: string; file: string };
  firmware: string | null;
  arch: ArchInfo;
  defaultAction: Action;
  defaultActionNote?: string;
  foreignArchAction: Action;
  /** Sorted by nr, one per number. */
  rules: Rule[];
  absent: AbsentName[];
  /** The target's deny list (reasons and fixes), carried so readers need no TargetDef. */
  denied: readonly DeniedName[];
  /** Every name the target lists, once, with its first entry's facts (ListedName), in the target's order. */
  listed: readonly ListedName[];
  /** Where other sources (older vendor pages) disagree about a name (TargetDef.history): information, never policy. */
  history: readonly { name: string; note: string }[];
  /** Highest syscall number the arch's table knows (past it: default action). */
  tableMax: number;
  /**
   * Whose names the target lists, and what that means on this arch: `own` (the ABI itself),
   * `same-table` (another arch of the same kernel table: the numbers apply as they are) or
   * `translated` (the names' operations, under this arch's names).
   */
  abi?: { name: ArchName; here: 'own' | 'same-table' | 'translated' };
}
