/**
 * What a resolved policy does with one call: the only module that looks a call up in a Policy.
 * evaluate.ts says what a rule's clauses mean; this module finds the rule for a call and turns
 * it into the answers its readers need, so that the exact evaluation (emulator, run), the
 * unknown-arguments view (check, explain, compat) and the shim's "always allowed" all start
 * from the same lookup and the same default action.
 */
import { X32_SYSCALL_BIT } from '../syscalls/arches.ts';
import { syscallNumber } from '../syscalls/table.ts';
import { isAllow } from './action.ts';
import { bestCaseAction, dependsOnArguments, ruleAction, unconditionalAction } from './evaluate.ts';
import type { Action, DeniedName, Policy, Rule } from './types.ts';

const index = new WeakMap<Policy, Map<number, Rule>>();

/** The rule for a syscall number (u32, on the policy's arch), if the policy has one. */
export function ruleAt(p: Policy, nr: number): Rule | undefined {
  let m = index.get(p);
  if (!m) index.set(p, (m = new Map(p.rules.map((r) => [r.nr, r]))));
  return m.get(nr >>> 0);
}

/**
 * The rule resolved for this name itself: not one that another name of the same number (a
 * stand-in, an alias) put there.
 */
export function ruleNamed(p: Policy, name: string): Rule | undefined {
  const nr = syscallNumber(p.arch.name, name);
  if (nr === null) return undefined;
  const rule = ruleAt(p, nr);
  return rule?.name === name ? rule : undefined;
}

/** The action for a call with these arguments (`nr` as the kernel sees it: u32), on the policy's own arch. */
export function evaluatePolicy(p: Policy, nr: number, args: readonly bigint[] = []): Action {
  const n = nr >>> 0;
  if (p.arch.x32 && n !== 0xffffffff && (n & X32_SYSCALL_BIT) !== 0) return p.foreignArchAction;
  const rule = ruleAt(p, n);
  return (rule && ruleAction(rule, args)) ?? p.defaultAction;
}

/** The action for a call from an arch given by its AUDIT_ARCH value, across several policies. */
export function evaluatePolicies(policies: readonly Policy[], auditArch: number, nr: number, args: readonly bigint[] = []): Action {
  const p = policies.find((x) => x.arch.auditArch === auditArch >>> 0);
  return p ? evaluatePolicy(p, nr, args) : policies[0]!.foreignArchAction;
}

/** What the policy does with a call whose arguments are not known. */
export interface CallOutcome {
  /** The most permissive action some arguments get (the default action without a rule). */
  action: Action;
  rule?: Rule;
  /** The action whatever the arguments; undefined when they matter. */
  always?: Action;
  /** The arguments change the action. */
  conditional: boolean;
}

const outcomes = new WeakMap<Policy, Map<number, CallOutcome>>();

export function callOutcome(p: Policy, nr: number): CallOutcome {
  let m = outcomes.get(p);
  if (!m) outcomes.set(p, (m = new Map()));
  let o = m.get(nr);
  if (!o) {
    const rule = ruleAt(p, nr);
    o = rule
      ? {
          action: bestCaseAction(rule),
          rule,
          ...(unconditionalAction(rule) ? { always: unconditionalAction(rule)! } : {}),
          conditional: dependsOnArguments(rule),
        }
      : { action: p.defaultAction, always: p.defaultAction, conditional: false };
    m.set(nr, o);
  }
  return o;
}

/** Whether some arguments of the rule's call are allowed. */
export function allowsSome(rule: Rule | undefined): boolean {
  return !!rule && isAllow(bestCaseAction(rule));
}

/** Why the target denies a name, and what to do instead, as the target states it. */
export function deniedName(p: Policy, name: string): DeniedName | undefined {
  return p.denied.find((d) => d.name === name);
}
