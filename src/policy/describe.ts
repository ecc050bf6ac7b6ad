/** Human descriptions of policies: provenance, conditions, headings. */
import type { ArgCondition, Clause, Policy, Provenance, Rule } from './types.ts';
import { formatAction } from './action.ts';
import { showFirmware } from './firmware.ts';

export function describeProvenance(p: Provenance): string {
  switch (p.kind) {
    case 'target': return '';
    case 'group': return `group ${p.group}`;
    case 'family': return `for ${p.of} (family ${p.family})`;
    case 'essential': return 'arch essential';
  }
}

const OPS: Record<ArgCondition['op'], string> = { eq: '==', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=', 'masked-eq': '==' };

export function describeCondition(c: ArgCondition): string {
  const arg = c.width === 32 ? `(u32)arg${c.index}` : `arg${c.index}`;
  const hex = (v: bigint) => (v > 9n ? `0x${v.toString(16)}` : v.toString());
  if (c.op === 'masked-eq') return `${arg} & ${hex(c.mask ?? 0n)} == ${hex(c.value)}`;
  return `${arg} ${OPS[c.op]} ${hex(c.value)}`;
}

export function describeConditions(lists: ArgCondition[][]): string {
  return lists.map((l) => l.map(describeCondition).join(' && ')).join(' || ');
}

/** One clause of a rule with several: "if COND: ACTION" ("always: ACTION" without conditions). */
export function describeClause(c: Clause): string {
  return `${c.conditions.length ? `if ${describeConditions([c.conditions])}` : 'always'}: ${formatAction(c.action)}`;
}

/** A rule with several clauses, in one line: each clause, and the rule that picks between them. */
export function describeClauses(r: Rule): string {
  return `${r.clauses.map(describeClause).join('; ')} (where several hold, the most severe applies)`;
}

export function policyHeading(p: Policy): string {
  const fw = p.firmware ? ` firmware ${showFirmware(p.firmware)}` : '';
  return `${p.target.id}${fw} on ${p.arch.name}: default ${formatAction(p.defaultAction)}`;
}
