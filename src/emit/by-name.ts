/**
 * Name-based formats (OCI, systemd, libseccomp) see syscalls by name, not number: merge the
 * per-arch rules into one rule per name. Two arches must agree on a name's rule.
 */
import { InputError } from '../errors.ts';
import { formatAction, sameAction } from '../policy/action.ts';
import { describeConditions } from '../policy/describe.ts';
import { clausesBySeverity } from '../policy/evaluate.ts';
import { disjointRows, satisfiable, type Cmp64 } from '../policy/argset.ts';
import type { Action, ArgCondition, Clause, Policy } from '../policy/types.ts';

export interface NamedRule {
  name: string;
  /** The clauses that can decide, most severe first (clausesBySeverity). */
  clauses: Clause[];
}

const clausesKey = (cs: Clause[]): string => cs.map((c) => `${formatAction(c.action)} ${describeConditions([c.conditions])}`).join('; ');

export function rulesByName(policies: readonly Policy[]): NamedRule[] {
  const byName = new Map<string, NamedRule>();
  for (const p of policies) {
    for (const r of p.rules) {
      const prev = byName.get(r.name);
      if (!prev) {
        byName.set(r.name, { name: r.name, clauses: clausesBySeverity(r) });
      } else if (clausesKey(prev.clauses) !== clausesKey(clausesBySeverity(r))) {
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

/** One rule row for a libseccomp-based engine: an action and at most one comparison per argument. */
export interface EngineRow {
  action: Action;
  args: Cmp64[];
}

/**
 * The rows that make libseccomp (and runc/crun, which call it) do what evaluate.ts says. Its
 * own handling of rules with different actions for one call is not ours (2.5.4: an
 * unconditional rule silently replaces conditional ones of another action; otherwise the
 * order comes from its tree, not from severity; two comparisons on one argument in a rule are
 * refused, and runc then ORs them). So: clauses of one action whose comparisons it can take as
 * they are go out unchanged; anything else becomes disjoint rows (argset.ts), at most 32 per
 * call (libseccomp 2.5.4 takes seconds to build 34 such rows for one call, and grows fast); more is an InputError.
 */
export function engineRows(r: NamedRule, format: string, defaultAction?: Action): EngineRow[] {
  const cs = r.clauses;
  const oneAction = cs.every((c) => sameAction(c.action, cs[0]!.action));
  const plain = (c: Clause): boolean =>
    new Set(c.conditions.map((x) => x.index)).size === c.conditions.length &&
    c.conditions.every((x) => x.width === 64 || x.op === 'eq' || x.op === 'masked-eq');
  // Every clause does what the default does: nothing to say (and libseccomp refuses a rule
  // with the default action, EACCES).
  if (oneAction && defaultAction && sameAction(cs[0]!.action, defaultAction)) return [];
  if (oneAction && cs.every(plain)) {
    if (cs.some((c) => c.conditions.length === 0)) return [{ action: cs[0]!.action, args: [] }];
    // A clause that can never hold (masked == with bits outside the mask) goes: libseccomp
    // would mask the datum and match where evaluate.ts never does.
    return cs
      .filter((c) => satisfiable(c.conditions))
      .map((c) => ({
        action: c.action,
        args: c.conditions.map((x) => ({ index: x.index, ...as64(x, format) })),
      }));
  }
  const rows = disjointRows(cs, sameAction, `'${r.name}' in the ${format} format`);
  // libseccomp 2.5.4 builds wrong code for range comparisons (lt/le/gt/ge, and ne, which it
  // tests as a range) on one argument across rules of different actions for one call: seen
  // allowing futex(14, 0) from rows that allow only a0 >= 15 (its tree merged a0 >= 10 of a
  // TRACE row into the ALLOW row's tail). Refuse instead of emitting what it would build open.
  const ranged = rows.find((row) => row.args.some((a) => a.op !== 'eq' && a.op !== 'masked-eq'));
  if (ranged && !cs.every((c) => sameAction(c.action, cs[0]!.action))) {
    throw new InputError(
      `'${r.name}' in the ${format} format: its entries have different actions and need a range comparison (<, <=, >, >=, !=) to be told apart; libseccomp (which runc and crun use) builds such rules wrongly, so this format cannot express them: use the bpf or c format, or give these entries == / masked == conditions only`,
    );
  }
  const seen = new Set<string>();
  return rows.filter((row) => {
    // Rows never overlap across actions, so a row with the default action can go: those
    // arguments then match nothing and get the default. libseccomp refuses such rules (EACCES).
    if (defaultAction && sameAction(row.action, defaultAction)) return false;
    const k = `${formatAction(row.action)} ${row.args.map((a) => `${a.index}${a.op}${a.value}/${a.mask ?? ''}`).join(',')}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
}
