/** Why a syscall is allowed or denied by a policy, and what to do about it. */
import { InputError } from '../errors.ts';
import { familiesOf, replacementsOf } from '../syscalls/families.ts';
import { allSyscallNames, isKnownSyscall, syscallNumber } from '../syscalls/table.ts';
import { didYouMean, excerpt } from '../util/suggest.ts';
import { formatAction, isAllow } from './action.ts';
import { abiNote } from './describe.ts';
import { allowsSome, callOutcome, deniedName, ruleNamed } from './call.ts';
import { showFirmware } from './firmware.ts';
import { KNOWN_FIXES, type LibcFix } from './fixes.ts';
import type { Action, Policy, Rule } from './types.ts';

export interface Explanation {
  name: string;
  target: string;
  firmware: string | null;
  firmwareShown: string | null;
  arch: string;
  number: number | null;
  allowed: boolean;
  /** What happens to an unconditional call. */
  effectiveAction: Action;
  effective: string;
  defaultAction: Action;
  rule?: Rule;
  /** Firmware that first allows it (any arch), if the target allows it at all. */
  since: string | null;
  category?: string;
  note?: string;
  limit?: string;
  reason?: string;
  fix?: string;
  replacedBy: string[];
  /** What the target's names mean on this arch (targets with an `abi`). */
  abi?: string;
  /** What other sources (older vendor pages) say about this call, where they disagree. */
  history?: string[];
  twins: { name: string; number: number | null; allowed: boolean }[];
}

/** `libcFix`: ./libc-fixes.ts (passed in so that the light bundle loads the libc knowledge base lazily). */
export function explainSyscall(policy: Policy, name: string, libcFix: LibcFix): Explanation {
  if (!isKnownSyscall(name)) throw new InputError(`'${excerpt(name)}' is not a syscall on any arch${didYouMean(name, allSyscallNames())}`);
  const arch = policy.arch.name;
  const number = syscallNumber(arch, name);
  const rule = ruleNamed(policy, name);
  const entry = policy.listed.find((e) => e.name === name);
  const denied = deniedName(policy, name);
  const absent = policy.absent.find((a) => a.name === name);
  // A name the arch lacks is allowed when the rules for what replaces it are.
  const standIn = !rule && absent ? absent.replacedBy.map((n) => ruleNamed(policy, n)).find(allowsSome) : undefined;
  // With argument conditions: what the most favourable arguments get (the CLI lists the clauses).
  const decisive = rule ?? standIn;
  const effectiveAction: Action = decisive ? callOutcome(policy, decisive.nr).action : policy.defaultAction;
  const allowed = isAllow(effectiveAction);
  const twinNames = [...new Set(familiesOf(name).flatMap((f) => f.members))].filter((n) => n !== name).sort();
  const fix = denied?.fix ?? KNOWN_FIXES[name] ?? libcFix(name, arch, effectiveAction) ?? replacementFix(name, policy);
  return {
    name,
    target: policy.target.id,
    firmware: policy.firmware,
    firmwareShown: policy.firmware ? showFirmware(policy.firmware) : null,
    arch,
    number,
    allowed,
    effectiveAction,
    effective: formatAction(effectiveAction),
    defaultAction: policy.defaultAction,
    ...(rule ? { rule } : {}),
    since: entry?.since ? showFirmware(entry.since) : null,
    ...(entry?.category ? { category: entry.category } : {}),
    ...(entry?.note ? { note: entry.note } : {}),
    ...(entry?.limit ? { limit: entry.limit } : {}),
    ...(denied ? { reason: denied.reason } : {}),
    ...(fix ? { fix } : {}),
    replacedBy: absent?.replacedBy ?? [],
    ...(abiNote(policy) ? { abi: abiNote(policy)! } : {}),
    ...(policy.history.some((h) => h.name === name) ? { history: policy.history.filter((h) => h.name === name).map((h) => h.note) } : {}),
    twins: twinNames.map((t) => ({ name: t, number: syscallNumber(arch, t), allowed: allowsSome(ruleNamed(policy, t)) })),
  };
}

/** A legacy or twin call the policy allows does the same job. */
function replacementFix(name: string, policy: Policy): string | undefined {
  const alt = replacementsOf(name).find((r) => allowsSome(ruleNamed(policy, r.name)));
  return alt ? `use ${alt.name} (${alt.family.why})` : undefined;
}
