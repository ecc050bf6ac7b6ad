import { loadTarget, shippedTargetIds } from '../../policy/load.ts';
import { formatAction } from '../../policy/action.ts';
import { showFirmware } from '../../policy/firmware.ts';
import { parseArgs } from '../args.ts';
import { bold, json, type Command } from '../io.ts';

export const targetsCommand: Command = {
  name: 'targets',
  help: `Usage: sysgate targets [--json]

Lists the targets sysgate ships: id, title, arches, firmware versions and default actions.
Your own targets are JSON files (schema: schemas/target.schema.json) given by path to
--target; they may "extend" a shipped one.

JSON (targets --json): [{id, title, arches, defaultArch, firmwares, defaultActions,
  foreignArchAction, syscalls (the number of entries), abi? (the arch whose syscall ABI the
  names come from), names? (operations: translated on other arches | literal)}]

Examples:
  sysgate targets
  sysgate targets --json | jq '.[].id'
`,
  async run(argv, io) {
    const flags = parseArgs({ '--json': Boolean, '--help': Boolean, '-h': '--help' }, argv, 'targets');
    if (flags['--help']) return (io.out(this.help), 0);
    const targets = await Promise.all(shippedTargetIds().map((id) => loadTarget(id)));
    const list = targets.map((t) => ({
      id: t.id,
      title: t.title,
      arches: t.arches,
      defaultArch: t.defaultArch,
      firmwares: t.firmwares,
      defaultActions: t.defaultActions.map((d) => ({ range: d.range, action: formatAction(d.action) })),
      foreignArchAction: formatAction(t.foreignArchAction),
      syscalls: t.entries.length,
      ...(t.abi ? { abi: t.abi, names: t.expandFamilies === 'operations' ? 'operations' : 'literal' } : {}),
    }));
    if (flags['--json']) return (io.out(json(list)), 0);
    for (const t of list) {
      io.out(`${bold(io, t.id)}  ${t.title}\n`);
      io.out(`  arches: ${t.arches.join(', ')} (default ${t.defaultArch})\n`);
      if (t.abi)
        io.out(`  names and numbers: the ${t.abi} syscall ABI${t.names === 'operations' ? `; on other arches, the same operations under their names` : ''}\n`);
      if (t.firmwares.length) io.out(`  firmware: ${t.firmwares.map(showFirmware).join(', ')}\n`);
      io.out(`  default action: ${t.defaultActions.map((d) => (d.range === '*' ? d.action : `${d.range}: ${d.action}`)).join('; ')}\n`);
      io.out(`  ${t.syscalls} syscalls listed\n\n`);
    }
    return 0;
  },
};
