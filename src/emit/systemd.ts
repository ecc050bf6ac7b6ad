/** `systemd`: a drop-in for a unit ([Service] SystemCallFilter=, ...). */
import { errnoName } from '../policy/errno.ts';
import { showFirmware } from '../policy/firmware.ts';
import { rulesByName } from './by-name.ts';
import type { Emitter } from './types.ts';
import { generatedBy } from '../version.ts';

/** Lines of `key=values` no longer than ~100 columns; systemd merges repeated assignments. */
function wrap(key: string, words: string[]): string[] {
  const out: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + w.length + 1 > 100) {
      out.push(`${key}=${line}`);
      line = '';
    }
    line = line ? `${line} ${w}` : w;
  }
  if (line) out.push(`${key}=${line}`);
  return out;
}

export const systemdEmitter: Emitter = {
  format: 'systemd',
  summary: 'systemd drop-in: SystemCallFilter=, SystemCallErrorNumber=, SystemCallArchitectures=',
  emit({ policies, baseName, version, target }) {
    const p0 = policies[0]!;
    // systemd cannot compare arguments: only calls whose action does not depend on them are
    // listed; the rest are left out (fail closed). Clauses come most severe first, ending at
    // the first unconditional one: a single unconditional clause means the arguments never matter.
    const rules = rulesByName(policies).map((r) => ({
      name: r.name,
      fixed: r.clauses.length === 1 && !r.clauses[0]!.conditions.length ? r.clauses[0]!.action : undefined,
    }));
    const allow = rules.filter((r) => r.fixed?.kind === 'allow').map((r) => r.name);
    const conditioned = rules.filter((r) => !r.fixed).map((r) => r.name);
    const other = rules.flatMap((r) => (r.fixed && r.fixed.kind !== 'allow' ? [{ name: r.name, action: r.fixed }] : []));
    const lines = [
      `# ${generatedBy(version)}: ${target.id}${p0.firmware ? ` firmware ${showFirmware(p0.firmware)}` : ''} on ${policies.map((p) => p.arch.name).join(' + ')}. Do not edit.`,
      '# Install as /etc/systemd/system/<unit>.service.d/sysgate.conf, then: systemctl daemon-reload',
    ];
    const d = p0.defaultAction;
    if (d.kind === 'trap') lines.push('# The target raises SIGSYS (seccomp TRAP) for denied calls; systemd cannot trap, so they kill the process instead.');
    if (d.kind === 'kill-thread') lines.push('# The target kills the calling thread; systemd kills the whole process.');
    if (conditioned.length) {
      lines.push(`# Left out because systemd cannot compare arguments (they get the default action: fail closed): ${conditioned.join(' ')}`);
    }
    lines.push('', '[Service]', 'NoNewPrivileges=yes');
    lines.push(`SystemCallArchitectures=${policies.map((p) => p.arch.systemdArch).join(' ')}`);
    lines.push(`SystemCallErrorNumber=${d.kind === 'errno' ? (errnoName(d.errno) ?? String(d.errno)) : 'kill'}`);
    lines.push(...wrap('SystemCallFilter', allow));
    // In allow-list mode a later "~name:errno" takes the name out of the list with that errno.
    for (const r of other) {
      lines.push(`SystemCallFilter=~${r.name}:${r.action.kind === 'errno' ? (errnoName(r.action.errno) ?? r.action.errno) : 'kill'}`);
    }
    return [{ name: `${baseName}.systemd.conf`, content: `${lines.join('\n')}\n` }];
  },
};
