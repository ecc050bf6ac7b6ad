/**
 * sysgate's Node API. The CLI is a thin layer over these functions.
 *
 *   import { loadTarget, resolvePolicy, generate } from 'sysgate';
 *   const target = await loadTarget('codesafe5');
 *   const policy = resolvePolicy(target, { firmware: '13.7', arch: 'arm' });
 *   const [filter] = generate(target, { firmware: '13.7', arches: ['arm'], formats: ['bpf', 'c'] });
 */
export { loadTarget, shippedTargetIds, type LoadOptions } from './policy/load.ts';
export { resolvePolicy, resolvePolicies, resolveArch, resolveFirmware, type ResolveOptions } from './policy/resolve.ts';
export { evaluatePolicy, evaluatePolicies, callOutcome, type CallOutcome } from './policy/call.ts';
export { resolveSettings, resolvePolicySet, type ResolvedSettings, type SettingsRequest, type PolicySet } from './policy/settings.ts';
import type { Explanation } from './policy/explain.ts';
export type { Explanation };
import { explainSyscall as explainWith } from './policy/explain.ts';
import { glibcRecovery, libcFix } from './policy/libc-fixes.ts';
import type { Policy, TargetDef } from './policy/types.ts';

/** Why `name` is allowed or denied by `policy` (from resolvePolicy), and what to do about it. */
export function explainSyscall(policy: Policy, name: string): Explanation {
  return explainWith(policy, name, libcFix);
}
export type { CompatReport, CompatChange } from './policy/compat.ts';
import { comparePolicies as compareWith, type CompatReport } from './policy/compat.ts';
import { resolveFirmwarePair } from './policy/settings.ts';

/** What changes for an app between two firmware versions of a target (on one arch). */
export function compareFirmwares(target: TargetDef, from: string, to: string, arch?: string): CompatReport {
  return comparePolicies(...resolveFirmwarePair(target, from, to, arch));
}

/** The same for two Policies already resolved (one target and arch, two firmwares). */
export function comparePolicies(a: Policy, b: Policy): CompatReport {
  return compareWith(a, b, glibcRecovery);
}
export { parseAction, formatAction, describeOutcome } from './policy/action.ts';
export { parseFirmware } from './policy/firmware.ts';
export { generate, DEFAULT_FORMATS, type GenerateOptions, type GeneratedFilter } from './generate.ts';
export { EMITTERS, type EmittedFile } from './emit/index.ts';
export { writeFilesAtomic } from './util/atomic-write.ts';
export {
  compileFilter,
  encodeFilter,
  decodeFilter,
  runFilter,
  disassemble,
  auditFilter,
  formatAudit,
  type CompiledFilter,
  type FilterStats,
  type AuditReport,
  type Insn,
} from './bpf/index.ts';
export { readElf, findSyscallSites } from './elf/index.ts';
export { checkElf, checkPaths, toSarif, toJson, type CheckReport, type Finding, type Verdict, type DeathHow } from './check/index.ts';
export type { ElfInfo, ElfImport, ElfDynamicRelocations, ElfFrames, SyscallSite } from './elf/types.ts';
export { ARCHES, ARCH_NAMES, lookupArch, type ArchInfo, type ArchName } from './syscalls/arches.ts';
export { syscallNumber, syscallName, syscallsOn } from './syscalls/table.ts';
export { runProgram, exitStatus, type RunOptions, type RunReport, type RunDenied, type RunWhere, type RunIo } from './run/index.ts';
export { InputError, DiagnosticsError, type Diagnostic } from './errors.ts';
export type {
  Action,
  ArgCondition,
  Policy,
  Rule,
  Provenance,
  TargetDef,
  SyscallEntry,
  AbsentName,
} from './policy/types.ts';
export { VERSION } from './version.ts';
