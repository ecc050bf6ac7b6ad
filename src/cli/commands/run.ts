import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InputError } from '../../errors.ts';
import { runProgram } from '../../run/index.ts';
import { exitStatus, type RunReport } from '../../run/types.ts';
import { parseArgs } from '../args.ts';
import { bold, errIo, json, red, type Command, type Io } from '../io.ts';
import { settings } from './common.ts';

const HELP = `Usage: sysgate run --target T [--firmware V] [--arch A] [--sysroot DIR] [--json] [--report FILE] -- PROGRAM [ARGS...]

Runs PROGRAM under the exact policy target T gives at firmware V for the program's arch (read
from its ELF), the same filter \`sysgate generate --format bpf\` writes, and reports every call
the policy denied: name, count, where from (object, offset, function), what the device does
with it (ENOSYS, kill, ...), and how the program ended.

  x86_64   natively in this machine's kernel: the filter is loaded with a supervisor that is
           notified of each denied call and answers exactly as the device would (ENOSYS, or
           the process is killed: "killed (SIGSYS on the device)")
  arm, aarch64   in a real kernel of that arch under qemu-system
  ppc64    under qemu-user, observed, not enforced (no kernel of that arch to boot)

The program's stdin, stdout and stderr pass through; \`run\` exits with the program's status
(128+N when it died of signal N; 159 = 128+SIGSYS when the device would have killed it).
After the program ends a short report goes to stderr.

  --arch A         must agree with the program's ELF (the arch always comes from the ELF)
  --sysroot DIR    the program's libraries for foreign-arch runs
  --json           the report as JSON on stderr instead of text
  --report FILE    also write the JSON report to FILE

JSON (run --json): {program, target, firmware, arch, mode (enforced|observed), runner: {kind
  (host|qemu-system|qemu-user), detail}, exit: {code, signal}, killed?: {name, nr, ip},
  denied: [{name, nr, count, action, where: [{ip, object?, offset?, function?}] (at most 8
  distinct ips)}], notes}

The supervisor (C) is compiled once with $CC (default cc) into $SYSGATE_CACHE_DIR (default
~/.cache/sysgate). Needs Linux >= 5.5 (seccomp user notification).

Examples:
  sysgate run --target codesafe5 --firmware 13.7 -- ./myapp --selftest
  sysgate run --target enclave-x86_64 --json -- /usr/bin/sha256sum /etc/hostname
  sysgate run -t codesafe5 -f 13.5 --report run.json -- ./myapp
`;

function textReport(r: RunReport, io: Io): string {
  const lines: string[] = [];
  const fw = r.firmware ? ` ${r.firmware}` : '';
  lines.push(`${bold(io, 'sysgate run')}: ${r.program} under ${r.target}${fw} (${r.arch}), ${r.mode} (${r.runner.kind}: ${r.runner.detail})`);
  const how = r.killed
    ? red(io, `killed (SIGSYS on the device) by ${r.killed.name}`)
    : r.exit.code !== null
      ? `exit code ${r.exit.code}`
      : `killed by ${r.exit.signal}`;
  lines.push(`  ended: ${how}`);
  if (r.denied.length === 0) lines.push('  denied: none');
  else {
    const calls = r.denied.reduce((n, d) => n + d.count, 0);
    lines.push(`  denied: ${calls} call${calls === 1 ? '' : 's'} of ${r.denied.length} kind${r.denied.length === 1 ? '' : 's'}`);
    for (const d of r.denied) {
      const at = d.where.map((w) => (w.function ? `${w.function} ` : '') + (w.object ? `(${w.object}+${w.offset})` : w.ip)).join(', ');
      lines.push(`    ${d.name} (nr ${d.nr}) x${d.count}: ${d.action}${at ? ` at ${at}` : ''}`);
    }
  }
  for (const n of r.notes) lines.push(`  note: ${n}`);
  return `${lines.join('\n')}\n`;
}

export const runCommand: Command = {
  name: 'run',
  help: HELP,
  async run(argvIn, io) {
    const dd = argvIn.indexOf('--');
    const own = dd < 0 ? argvIn : argvIn.slice(0, dd);
    const rest = dd < 0 ? [] : argvIn.slice(dd + 1);
    const flags = parseArgs(
      {
        '--target': String,
        '--firmware': String,
        '--arch': String,
        '--sysroot': String,
        '--report': String,
        '--config': String,
        '--json': Boolean,
        '--help': Boolean,
        '-t': '--target',
        '-f': '--firmware',
        '-a': '--arch',
        '-c': '--config',
        '-h': '--help',
      },
      own,
      'run',
    );
    if (flags['--help']) return (io.out(HELP), 0);
    if (flags._.length) throw new InputError(`put the program after -- (sysgate run --target T -- ${flags._[0]} ...)`);
    const [program, ...args] = rest;
    if (program === undefined) throw new InputError("name a program to run after -- (see 'sysgate run --help')");
    const { target, firmware } = await settings({ ...flags, '--arch': undefined }, 'run', io);
    const report = await runProgram({
      target,
      ...(firmware !== undefined ? { firmware } : {}),
      ...(flags['--arch'] !== undefined ? { arch: flags['--arch'] } : {}),
      ...(flags['--sysroot'] !== undefined ? { sysroot: resolve(io.cwd, flags['--sysroot']) } : {}),
      program,
      args,
      cwd: io.cwd,
      env: io.env,
    });
    if (flags['--report']) writeFileSync(resolve(io.cwd, flags['--report']), json(report));
    io.err(flags['--json'] ? json(report) : textReport(report, errIo(io)));
    return exitStatus(report);
  },
};
