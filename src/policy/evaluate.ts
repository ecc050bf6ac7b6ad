/**
 * What a policy means for one call, computed from the Policy itself (not from a compiled
 * program): the reference the BPF compiler, the emulator and the kernel are checked against.
 */
import { X32_SYSCALL_BIT } from '../syscalls/arches.ts';
import type { Action, ArgCondition, Policy, Rule } from './types.ts';

const index = new WeakMap<Policy, Map<number, Rule>>();

function ruleFor(p: Policy, nr: number): Rule | undefined {
  let m = index.get(p);
  if (!m) index.set(p, (m = new Map(p.rules.map((r) => [r.nr, r]))));
  return m.get(nr);
}

const MASK64 = 0xffffffffffffffffn;

export function conditionHolds(c: ArgCondition, args: readonly bigint[]): boolean {
  let v = (args[c.index] ?? 0n) & MASK64;
  if (c.width === 32) v &= 0xffffffffn;
  switch (c.op) {
    case 'eq': return v === c.value;
    case 'ne': return v !== c.value;
    case 'lt': return v < c.value;
    case 'le': return v <= c.value;
    case 'gt': return v > c.value;
    case 'ge': return v >= c.value;
    case 'masked-eq': return (v & (c.mask ?? 0n)) === c.value;
  }
}

/** The action for a call (`nr` as the kernel sees it: u32), on the policy's own arch. */
export function evaluatePolicy(p: Policy, nr: number, args: readonly bigint[] = []): Action {
  const n = nr >>> 0;
  if (p.arch.name === 'x86_64' && n !== 0xffffffff && (n & X32_SYSCALL_BIT) !== 0) return p.foreignArchAction;
  const rule = ruleFor(p, n);
  if (!rule) return p.defaultAction;
  if (!rule.conditions.length) return rule.action;
  return rule.conditions.some((list) => list.every((c) => conditionHolds(c, args))) ? rule.action : p.defaultAction;
}

/** The action for a call from an arch given by its AUDIT_ARCH value, across several policies. */
export function evaluatePolicies(policies: readonly Policy[], auditArch: number, nr: number, args: readonly bigint[] = []): Action {
  const p = policies.find((x) => x.arch.auditArch === auditArch >>> 0);
  return p ? evaluatePolicy(p, nr, args) : policies[0]!.foreignArchAction;
}
