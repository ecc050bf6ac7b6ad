import { InputError } from '../../errors.ts';
import { comparePolicies, type CompatReport } from '../../policy/compat.ts';
import { resolveFirmwarePair } from '../../policy/settings.ts';
import { showFirmware } from '../../policy/firmware.ts';
import { parseArgs, requireFlag } from '../args.ts';
import { bold, green, json, red, table, type Command, type Io } from '../io.ts';
import { settings } from './common.ts';

export const compatCommand: Command = {
  name: 'compat',
  help: `Usage: sysgate compat --target T --from V1 --to V2 [--arch A] [--json]

Syscalls allowed on V2 but not V1 and the other way round, the change of default action
(SIGSYS before CodeSafe 13.7, ENOSYS from 13.7), and a plain summary of what it means for
an app built on one and run on the other.

JSON (compat --json): {target, arch, from, to, defaultAction: {from, to, changed}, added,
  removed, history (what other sources say, where they disagree: [{name, note}]), summary}

Examples:
  sysgate compat --target codesafe5 --from 13.5 --to 13.7
  sysgate compat --target codesafe5 --from 13.7 --to 13.4 --arch ppc --json
`,
  async run(argv, io) {
    const flags = parseArgs(
      {
        '--target': String,
        '--from': String,
        '--to': String,
        '--arch': String,
        '--config': String,
        '--json': Boolean,
        '--help': Boolean,
        '-t': '--target',
        '-a': '--arch',
        '-c': '--config',
        '-h': '--help',
      },
      argv,
      'compat',
    );
    if (flags['--help']) return (io.out(this.help), 0);
    const { target, arch } = await settings(flags, 'compat', io);
    if (!target.firmwares.length) throw new InputError(`target ${target.id} has no firmware versions to compare`);
    // Loaded here, not at start-up: the libc knowledge base stays out of the light bundle.
    const { glibcRecovery } = await import('../../policy/libc-fixes.ts');
    const [from, to] = resolveFirmwarePair(target, requireFlag(flags['--from'], '--from', 'compat'), requireFlag(flags['--to'], '--to', 'compat'), arch);
    const report = comparePolicies(from, to, glibcRecovery);
    io.out(flags['--json'] ? json(report) : compatText(report, io));
    return 0;
  },
};

export function compatText(r: CompatReport, io: Io): string {
  let out = `${bold(io, `${r.target} on ${r.arch}: firmware ${showFirmware(r.from)} -> ${showFirmware(r.to)}`)}\n`;
  out += `default action: ${r.defaultAction.from}${r.defaultAction.changed ? ` -> ${r.defaultAction.to}` : ' (unchanged)'}\n`;
  const list = (title: string, l: CompatReport['added'], paint: (s: string) => string) => {
    if (!l.length) return `${title}: none\n`;
    return `${title} (${l.length}):\n${table(l.map((c) => [paint(c.name), String(c.number), c.since ? `since ${c.since}` : '']))}`;
  };
  out += list('newly allowed', r.added, (s) => green(io, `+ ${s}`));
  out += list('no longer allowed', r.removed, (s) => red(io, `- ${s}`));
  out += `\nWhat it means:\n${r.summary.map((s) => `  ${s}`).join('\n')}\n`;
  return out;
}
