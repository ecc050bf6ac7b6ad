import { formatAction, isAllow } from '../../policy/action.ts';
import { abiNote, describeClauses, describeConditions, describeProvenance, policyHeading } from '../../policy/describe.ts';
import { showFirmware } from '../../policy/firmware.ts';
import type { Policy, Rule } from '../../policy/types.ts';
import { parseArgs } from '../args.ts';
import { bold, dim, json, table, type Command, type Io } from '../io.ts';
import { policyFromFlags, TARGET_FLAGS } from './common.ts';
import { FOREIGN_ARCH_NOTE, runtimeProfile, withRuntime, type RuntimeAddition, type RuntimeProfile } from '../../policy/runtimes.ts';

interface RuntimeView {
  profile: RuntimeProfile;
  addition: RuntimeAddition;
}

export const syscallsCommand: Command = {
  name: 'syscalls',
  help: `Usage: sysgate syscalls --target T [--firmware V] [--arch A] [--runtime R] [--json]

Lists what the target allows at firmware V (default: the newest it knows) on arch A
(default: the target's default arch): each syscall with its number on that arch, the
firmware that first allowed it and where it comes from (the target, a group, a family
member standing in for a name the arch lacks, or an arch essential). Names the target
lists that the arch does not have are shown with what replaced them.

Options:
  -t, --target T     shipped target id (see 'sysgate targets') or path to a target .json
  -f, --firmware V   firmware version: 13.7, v13.7, 13.7.2
  -a, --arch A       arm, aarch64, x86_64, i386, ppc, ppc64
      --runtime R    as generated for container runtime R (runc, crun, docker, podman):
                     the calls R needs after loading the filter, marked 'runtime'
      --json         one JSON object, below

JSON (syscalls --json): {target, title, firmware, arch, defaultAction, foreignArchAction,
  abi?: {name, here (own|same-table|translated), note}, runtime? (with --runtime),
  allowed: [{name, number, since, provenance, action?, conditions?, clauses? (several
  entries for one call), limit?, replacedBy?}], absent: [{name, since, replacedBy}],
  counts: {listed, rules, family, essential, absent, runtime?}}

Examples:
  sysgate syscalls --target codesafe5 --firmware 13.5 --arch arm
  sysgate syscalls --target codesafe5 --arch ppc --json
  sysgate syscalls --target ./my-target.json
  sysgate syscalls --target enclave-x86_64 --runtime runc
`,
  async run(argv, io) {
    const flags = parseArgs({ ...TARGET_FLAGS, '--runtime': String }, argv, 'syscalls');
    if (flags['--help']) return (io.out(this.help), 0);
    let { policy } = await policyFromFlags(flags, 'syscalls', io);
    let rt: RuntimeView | undefined;
    if (flags['--runtime'] !== undefined) {
      const profile = runtimeProfile(flags['--runtime']);
      const done = withRuntime(policy, profile);
      policy = done.policy;
      rt = { profile, addition: done.addition };
    }
    io.out(
      flags['--json'] ? json({ ...policyJson(policy), ...(rt ? { runtime: runtimeJson(rt) } : {}) }) : policyText(policy, io) + (rt ? runtimeText(rt) : ''),
    );
    return 0;
  },
};

function runtimeJson({ profile, addition }: RuntimeView) {
  return {
    name: profile.name,
    engine: profile.engine.runtime,
    version: profile.engine.version,
    debianPackage: profile.engine.debianPackage,
    ...(profile.via ? { via: profile.via } : {}),
    added: addition.added,
    alreadyAllowed: addition.alreadyAllowed,
    measured: profile.engine.command,
    runs: profile.engine.runs,
    foreignArch: FOREIGN_ARCH_NOTE,
  };
}

function runtimeText({ profile, addition }: RuntimeView): string {
  const m = profile.engine;
  return (
    `${profile.via ? `${profile.via}\n` : ''}${m.version} (Debian ${m.debianPackage}) calls after loading the filter: ${m.calls.map((c) => c.name).join(', ')}` +
    ` (${m.runs} measured runs); added ${addition.added.length ? addition.added.join(', ') : 'nothing'}, the rest the target allows.\n` +
    `These stay allowed for the container's program too. Note: ${FOREIGN_ARCH_NOTE}.\n`
  );
}

/** A rule's action and conditions; a rule made of several entries lists each entry's clause. */
function ruleJson(r: Rule): { action?: string; conditions?: string; clauses?: { action: string; conditions: string | null }[] } {
  if (r.clauses.length > 1) {
    return { clauses: r.clauses.map((c) => ({ action: formatAction(c.action), conditions: c.conditions.length ? describeConditions([c.conditions]) : null })) };
  }
  const c = r.clauses[0]!;
  return {
    ...(isAllow(c.action) ? {} : { action: formatAction(c.action) }),
    ...(c.conditions.length ? { conditions: describeConditions([c.conditions]) } : {}),
  };
}

function ruleNotes(r: Rule): string[] {
  if (r.clauses.length > 1) return [describeClauses(r)];
  const c = r.clauses[0]!;
  return [isAllow(c.action) ? '' : formatAction(c.action), c.conditions.length ? `only if ${describeConditions([c.conditions])}` : ''];
}

export function policyJson(p: Policy) {
  const allowed = [
    ...p.rules.map((r) => ({
      name: r.name,
      number: r.nr as number | null,
      since: r.since ?? null,
      provenance: r.provenance,
      ...ruleJson(r),
      ...(r.limit ? { limit: r.limit } : {}),
    })),
    ...p.absent.map((a) => ({
      name: a.name,
      number: null,
      since: a.since ?? null,
      provenance: { kind: 'target' as const },
      replacedBy: a.replacedBy,
    })),
  ];
  const count = (k: string) => p.rules.filter((r) => r.provenance.kind === k).length;
  return {
    target: p.target.id,
    title: p.target.title,
    firmware: p.firmware,
    arch: p.arch.name,
    defaultAction: formatAction(p.defaultAction),
    foreignArchAction: formatAction(p.foreignArchAction),
    ...(p.abi ? { abi: { ...p.abi, note: abiNote(p) } } : {}),
    allowed,
    absent: p.absent.map((a) => ({ name: a.name, since: a.since ?? null, replacedBy: a.replacedBy })),
    counts: {
      listed: count('target') + count('group') + p.absent.length,
      rules: p.rules.length,
      family: count('family'),
      essential: count('essential'),
      runtime: count('runtime'),
      absent: p.absent.length,
    },
  };
}

function policyText(p: Policy, io: Io): string {
  const rows = [[dim(io, 'NR'), dim(io, 'NAME'), dim(io, 'SINCE'), dim(io, 'NOTES')]];
  for (const r of p.rules) {
    const notes = [describeProvenance(r.provenance), ...ruleNotes(r), r.limit ? 'limit enforced on the device only' : ''].filter(Boolean).join('; ');
    rows.push([String(r.nr), r.name, r.since ? showFirmware(r.since) : '-', notes]);
  }
  const abi = abiNote(p);
  let out = `${bold(io, policyHeading(p))}\n${abi ? `${abi}\n` : ''}${table(rows)}`;
  if (p.absent.length) {
    out += `\nNot on ${p.arch.name}:\n`;
    out += table(p.absent.map((a) => [a.name, a.replacedBy.length ? `-> ${a.replacedBy.join(', ')}` : 'no replacement']));
  }
  const listed = p.rules.filter((r) => r.provenance.kind === 'target' || r.provenance.kind === 'group').length + p.absent.length;
  const fam = p.rules.filter((r) => r.provenance.kind === 'family').length;
  const ess = p.rules.filter((r) => r.provenance.kind === 'essential').length;
  out +=
    `\n${listed} listed by the target, ${p.rules.length} syscall numbers allowed on ${p.arch.name}` +
    ` (${fam} from families, ${ess} arch essentials); anything else: ${formatAction(p.defaultAction)}\n`;
  return out;
}
