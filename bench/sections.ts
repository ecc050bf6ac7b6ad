/** The benchmark's sections; each issue's speed goals get one. */
import { bpfSection } from './bpf.ts';
import { ccSection } from './cc.ts';
import { elfSection } from './elf.ts';
import { realitySection } from './reality/section.ts';
import { runVmSection } from './run-vm.ts';
import type { Section } from './section-type.ts';
import { median, ms, percentile, timeCommand } from './stats.ts';

const coldStart: Section = {
  name: 'cold-start',
  title: 'CLI cold start (goal: median under 80 ms)',
  run({ runs, cli }) {
    // Round-robin over the commands, so that a busy neighbour slows them all alike.
    const cases: [string, string[]][] = [
      ['node -e 0 (the floor: Node itself)', ['-e', '0']],
      ['sysgate --version', [cli, '--version']],
      ['sysgate syscalls --target codesafe5 --json', [cli, 'syscalls', '--target', 'codesafe5', '--firmware', '13.7', '--json']],
      ['sysgate explain --target codesafe5 getrandom', [cli, 'explain', '--target', 'codesafe5', 'getrandom']],
    ];
    const times = cases.map(() => [] as number[]);
    for (const [, args] of cases) timeCommand(process.execPath, args, 1); // warm the file cache
    for (let i = 0; i < runs; i++) cases.forEach(([, args], j) => times[j]!.push(...timeCommand(process.execPath, args, 1, undefined, false)));
    const floor = median(times[0]!);
    cases.forEach(([label], j) => {
      const m = median(times[j]!);
      const verdict = j === 0 ? '' : `${m < 80 ? 'OK' : 'OVER GOAL'} (+${ms(m - floor)} over Node)`;
      console.log(`  ${label.padEnd(46)} median ${ms(m)}  p90 ${ms(percentile(times[j]!, 90))}  ${verdict}`);
    });
  },
};

export const SECTIONS: Section[] = [coldStart, bpfSection, elfSection, ccSection, runVmSection, realitySection];
