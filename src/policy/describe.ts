/** Human descriptions of policies: provenance, conditions, headings. */
import type { ArgCondition, Clause, Policy, Provenance, Rule } from './types.ts';
import { formatAction } from './action.ts';
import { showFirmware } from './firmware.ts';

export function describeProvenance(p: Provenance): string {
  switch (p.kind) {
    case 'target':
      return '';
    case 'group':
      return `group ${p.group}`;
    case 'family':
      return `for ${p.of} (family ${p.family})`;
    case 'essential':
      return 'arch essential';
    case 'runtime':
      return `runtime: ${p.engine} ${p.version.replace(/^\S+ version /, '')} needs it after loading the filter${p.runtime !== p.engine ? ` (${p.runtime} runs ${p.engine})` : ''}`;
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

/** What the target's names mean on the policy's arch, in one sentence; undefined without an `abi`. */
export function abiNote(p: Policy): string | undefined {
  if (!p.abi) return undefined;
  const abi = p.abi.name;
  switch (p.abi.here) {
    case 'own':
      return `${abi} is the ABI of the target's own table: the calls are allowed as listed, at its numbers`;
    case 'same-table':
      return (
        `${p.arch.name} shares ${abi}'s kernel syscall table, so the target's numbers apply as they are: ` +
        `calls only a 32-bit libc makes (mmap2, fcntl64, stat64, *_time64) are not on the list; build for ${abi}`
      );
    case 'translated':
      return `the target lists operations of the ${abi} ABI; on ${p.arch.name} each is allowed under the names a libc uses for it here (see "for ..." in the notes)`;
  }
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
