import { compareFirmwares } from '../../policy/compat.ts';
import { loadTarget } from '../../policy/load.ts';
import { resolvePolicy } from '../../policy/resolve.ts';
import { parseArgs } from '../args.ts';
import { bold, type Command } from '../io.ts';
import { compatText } from './compat.ts';
import { policyJson } from './syscalls.ts';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'the main job on the bundled example (what `npm start` runs)',
  help: `Usage: sysgate demo

Runs sysgate's main job on the bundled example: the CodeSafe 5 policy at firmware 13.7 on
ARM, and what changes for an app between firmware 13.5 and 13.7.
`,
  async run(argv, io) {
    const flags = parseArgs({ '--help': Boolean, '-h': '--help' }, argv, 'demo');
    if (flags['--help']) return io.out(this.help), 0;
    const target = await loadTarget('codesafe5');
    const policy = resolvePolicy(target, { firmware: '13.7', arch: 'arm' });
    const summary = policyJson(policy);
    io.out(`${bold(io, '1. The CodeSafe 5 allow list at firmware 13.7 on ARM')}\n`);
    io.out(`   ${summary.counts.listed} syscalls listed by the vendor; ${summary.counts.rules} syscall numbers allowed on arm ` +
      `(${summary.counts.family} stand in for names ARM lacks, ${summary.counts.essential} arch essential: set_tls)\n`);
    io.out(`   not on ARM: ${policy.absent.map((a) => `${a.name}${a.replacedBy.length ? ` -> ${a.replacedBy.join('/')}` : ''}`).join(', ')}\n`);
    io.out(`   anything else: ${summary.defaultAction}; another arch: ${summary.foreignArchAction}\n`);
    io.out(`   (full list: sysgate syscalls --target codesafe5 --firmware 13.7 --arch arm)\n\n`);
    io.out(`${bold(io, '2. What changes between firmware 13.5 and 13.7')}\n`);
    io.out(compatText(compareFirmwares(target, '13.5', '13.7', 'arm'), io));
    return 0;
  },
};
