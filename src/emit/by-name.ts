/**
 * Name-based formats (OCI, systemd, libseccomp) see syscalls by name, not number: merge the
 * per-arch rules into one rule per name. Two arches must agree on a name's rule.
 */
import { InputError } from '../errors.ts';
import { formatAction } from '../policy/action.ts';
import { describeConditions } from '../policy/describe.ts';
import type { Action, ArgCondition, Policy } from '../policy/types.ts';

export interface NamedRule {
  name: string;
  action: Action;
  conditions: ArgCondition[][];
}

export function rulesByName(policies: readonly Policy[]): NamedRule[] {
  const byName = new Map<string, NamedRule>();
  for (const p of policies) {
    for (const r of p.rules) {
      const prev = byName.get(r.name);
      if (!prev) {
        byName.set(r.name, { name: r.name, action: r.action, conditions: r.conditions });
      } else if (formatAction(prev.action) !== formatAction(r.action) || describeConditions(prev.conditions) !== describeConditions(r.conditions)) {
        throw new InputError(`'${r.name}' has different rules on different arches; generate one arch at a time for this format`);
      }
    }
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * A condition as a 64-bit comparison (what OCI and libseccomp compare). A width-32 condition
 * converts exactly when its mask keeps only low bits; otherwise it cannot be expressed.
 */
export function as64(c: ArgCondition, format: string): { op: ArgCondition['op']; value: bigint; mask?: bigint } {
  if (c.width === 64) return { op: c.op, value: c.value, ...(c.mask !== undefined ? { mask: c.mask } : {}) };
  if (c.op === 'masked-eq') return { op: 'masked-eq', value: c.value, mask: (c.mask ?? 0n) & 0xffffffffn };
  if (c.op === 'eq') return { op: 'masked-eq', value: c.value, mask: 0xffffffffn };
  throw new InputError(`a 32-bit '${c.op}' condition on argument ${c.index} cannot be expressed exactly in the ${format} format`);
}
