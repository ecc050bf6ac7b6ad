/**
 * npm run bench: the speed figures the issues ask for, measured on this machine.
 * Not a test: it prints numbers (and the goals next to them) and never fails on them.
 *   npm run bench [-- --only cold-start,bpf,elf] [-- --runs N]
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../test/helpers/paths.ts';
import { SECTIONS } from './sections.ts';

const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1]!.split(',') : undefined;
const runs = args.includes('--runs') ? Number(args[args.indexOf('--runs') + 1]) : 30;

console.log(`sysgate bench on ${process.platform}/${process.arch}, node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
for (const s of SECTIONS) {
  if (only && !only.includes(s.name)) continue;
  console.log(`\n== ${s.name}: ${s.title}`);
  await s.run({ runs, root: ROOT, cli: join(ROOT, 'dist/cli.js'), spawnSync });
}
