/**
 * What a policy means for one call, computed from the Policy itself (not from a compiled
 * program): the reference the BPF compiler, the emulator, the kernel and libseccomp's build of
 * the same policy are checked against. The lookup of a call in a Policy (default action,
 * foreign numbers) is src/policy/call.ts.
 *
 * A rule (one per syscall number) holds clauses, one per target entry for that call, each with
 * its own action and AND-list of argument conditions (an empty list matches every call).
 * For a call:
 *   - among the clauses whose conditions all hold, the MOST SEVERE action wins;
 *   - when no clause holds (or the number has no rule), the policy's default action applies.
 * Severity is seccomp's own precedence, the order in which the kernel picks the result of
 * stacked filters: kill-process > kill-thread > trap > errno > user-notif > trace > log > allow.
 * Two errno (or two trace) actions are ordered by their full 32-bit return value read as a
 * signed number, as the kernel orders actions: the smaller errno number wins (EPERM (1)
 * beats ENOSYS (38)), the smaller trace data wins. Overlapping entries therefore never open
 * a call wider than the strictest of them: the fail-closed choice.
 */
import type { Action, ArgCondition, Clause, Rule } from './types.ts';

const MASK64 = 0xffffffffffffffffn;

export function conditionHolds(c: ArgCondition, args: readonly bigint[]): boolean {
  let v = (args[c.index] ?? 0n) & MASK64;
  if (c.width === 32) v &= 0xffffffffn;
  switch (c.op) {
    case 'eq':
      return v === c.value;
    case 'ne':
      return v !== c.value;
    case 'lt':
      return v < c.value;
    case 'le':
      return v <= c.value;
    case 'gt':
      return v > c.value;
    case 'ge':
      return v >= c.value;
    case 'masked-eq':
      return (v & (c.mask ?? 0n)) === c.value;
  }
}

export function clauseHolds(c: Clause, args: readonly bigint[]): boolean {
  return c.conditions.every((x) => conditionHolds(x, args));
}

/**
 * An action's precedence: the seccomp return value as a signed 32-bit number; smaller is more
 * severe (kill-process 0x80000000 is negative, allow 0x7fff0000 the largest).
 */
export function actionPrecedence(a: Action): number {
  switch (a.kind) {
    case 'kill-process':
      return 0x80000000 | 0;
    case 'kill-thread':
      return 0;
    case 'trap':
      return 0x00030000;
    case 'errno':
      return 0x00050000 + a.errno;
    case 'user-notif':
      return 0x7fc00000;
    case 'trace':
      return 0x7ff00000 + a.data;
    case 'log':
      return 0x7ffc0000;
    case 'allow':
      return 0x7fff0000;
  }
}

/** The more severe of two actions (the first on a tie: they are then the same action). */
export function moreSevere(a: Action, b: Action): Action {
  return actionPrecedence(b) < actionPrecedence(a) ? b : a;
}

/**
 * The clauses in the order a first-match evaluation must test them: most severe first, target
 * order among equals, and nothing after the first unconditional clause (it always matches, so
 * less severe clauses behind it can never win).
 */
export function clausesBySeverity(rule: Rule): Clause[] {
  const sorted = rule.clauses
    .map((c, i) => [c, i] as const)
    .sort((x, y) => actionPrecedence(x[0].action) - actionPrecedence(y[0].action) || x[1] - y[1])
    .map(([c]) => c);
  const stop = sorted.findIndex((c) => c.conditions.length === 0);
  return stop < 0 ? sorted : sorted.slice(0, stop + 1);
}

/** The action a rule gives a call with these arguments, or undefined: no clause holds. */
export function ruleAction(rule: Rule, args: readonly bigint[]): Action | undefined {
  let best: Action | undefined;
  for (const c of rule.clauses) {
    if (clauseHolds(c, args)) best = best ? moreSevere(best, c.action) : c.action;
  }
  return best;
}

/**
 * What happens to this call whatever its arguments, when the rule alone decides that (an
 * unconditional clause at least as severe as every other clause); undefined when the
 * arguments matter.
 */
export function unconditionalAction(rule: Rule): Action | undefined {
  const live = clausesBySeverity(rule);
  const last = live[live.length - 1]!;
  if (last.conditions.length) return undefined;
  const p = actionPrecedence(last.action);
  return live.every((c) => actionPrecedence(c.action) === p) ? last.action : undefined;
}

/**
 * The most permissive action some arguments can get from the rule's clauses (the default
 * action applies besides, to arguments no clause matches): what `check`, `explain` and
 * `compat` report for a call whose arguments they cannot know.
 */
export function bestCaseAction(rule: Rule): Action {
  const live = clausesBySeverity(rule);
  return live.reduce((a, c) => (actionPrecedence(c.action) > actionPrecedence(a) ? c.action : a), live[0]!.action);
}

/** Whether the call's arguments can change what the rule does. */
export function dependsOnArguments(rule: Rule): boolean {
  return unconditionalAction(rule) === undefined;
}
