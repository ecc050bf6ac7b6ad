import { InputError } from '../../errors.ts';
import { describeOutcome, formatAction, isAllow } from '../../policy/action.ts';
import { describeClause, describeConditions, describeProvenance } from '../../policy/describe.ts';
import { explainSyscall, type Explanation } from '../../policy/explain.ts';
import { parseArgs } from '../args.ts';
import { bold, green, json, red, type Command, type Io } from '../io.ts';
import { policyFromFlags, TARGET_FLAGS } from './common.ts';

export const explainCommand: Command = {
  name: 'explain',
  help: `Usage: sysgate explain --target T [--firmware V] [--arch A] [--json] NAME...

For each syscall NAME: whether the target allows it at that firmware on that arch, what
the calling program sees if not (ENOSYS, SIGSYS, killed), the firmware that first allows
it, the target's reason, its twins on other arches, and the known fix.

JSON (explain --json): [{name, target, firmware, firmwareShown, arch, number, allowed,
  effectiveAction, effective, defaultAction, rule?, since, category?, note?, limit?, reason?,
  fix?, replacedBy, abi? (what the target's names mean on this arch), history? (what older
  sources say, where they disagree), twins: [{name, number, allowed}]}], one per NAME

Examples:
  sysgate explain --target codesafe5 --firmware 13.5 getrandom clock_gettime64
  sysgate explain --target enclave-x86_64 ptrace
`,
  async run(argv, io) {
    const flags = parseArgs(TARGET_FLAGS, argv, 'explain');
    if (flags['--help']) return (io.out(this.help), 0);
    if (!flags._.length) throw new InputError("name at least one syscall (see 'sysgate explain --help')");
    const { policy } = await policyFromFlags(flags, 'explain', io);
    // Loaded here, not at start-up: the libc knowledge base stays out of the light bundle.
    const { libcFix } = await import('../../policy/libc-fixes.ts');
    const list = flags._.map((n) => explainSyscall(policy, n, libcFix));
    io.out(flags['--json'] ? json(list) : list.map((e) => explainText(e, io)).join('\n'));
    return 0;
  },
};

function explainText(e: Explanation, io: Io): string {
  const where = `${e.target} ${e.firmware ? `firmware ${e.firmwareShown} ` : ''}on ${e.arch}`;
  const nr = e.number === null ? 'not on this arch' : `nr ${e.number}`;
  const notHere = e.number === null && !e.replacedBy.length;
  const verdict = e.allowed ? green(io, 'ALLOWED') : red(io, 'DENIED');
  const lines = [notHere ? `${bold(io, e.name)}: not a syscall on ${e.arch} (${where})` : `${bold(io, e.name)} (${nr}): ${verdict} by ${where}`];
  if (e.rule) {
    const p = describeProvenance(e.rule.provenance);
    if (p) lines.push(`  via: ${p}`);
    const clauses = e.rule.clauses;
    if (clauses.length > 1) {
      // Several entries for one call: each with its own action (evaluate.ts decides overlaps).
      for (const c of clauses) lines.push(`  ${describeClause(c)}`);
      lines.push(`  where several hold, the most severe applies; where none holds: ${formatAction(e.defaultAction)}`);
    } else {
      const c = clauses[0]!;
      if (c.conditions.length) lines.push(`  only if: ${describeConditions([c.conditions])}; otherwise ${formatAction(e.defaultAction)}`);
      if (!isAllow(c.action)) lines.push(`  action: ${formatAction(c.action)}`);
    }
  }
  if (e.replacedBy.length) lines.push(`  ${e.arch} has no ${e.name}: the target's entry allows ${e.replacedBy.join(', ')} instead`);
  if (notHere) lines.push(`  a program built for ${e.arch} cannot make this call; see the related calls below`);
  else lines.push(`  the call ${describeOutcome(e.effectiveAction)}`);
  if (e.since) lines.push(`  allowed since firmware ${e.since}`);
  if (e.category) lines.push(`  category: ${e.category}`);
  if (e.note) lines.push(`  note: ${e.note}`);
  if (e.limit) lines.push(`  limit: ${e.limit}`);
  if (e.reason) lines.push(`  reason: ${e.reason}`);
  if (e.twins.length)
    lines.push(
      `  related: ${e.twins.map((t) => `${t.name} (${t.allowed ? 'allowed' : 'denied'}${t.number === null ? ', not on this arch' : ''})`).join(', ')}`,
    );
  if (e.fix && !e.allowed) lines.push(`  fix: ${e.fix}`);
  if (e.abi) lines.push(`  abi: ${e.abi}`);
  for (const h of e.history ?? []) lines.push(`  history: ${h}`);
  return `${lines.join('\n')}\n`;
}
