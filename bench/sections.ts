/** The benchmark's sections; each issue's speed goals get one. */
import type { spawnSync } from 'node:child_process';
import { bpfSection } from './bpf.ts';
import { elfSection } from './elf.ts';
import { median, ms, percentile, timeCommand } from './stats.ts';

export interface BenchContext {
  runs: number;
  root: string;
  cli: string;
  spawnSync: typeof spawnSync;
}

export interface Section {
  name: string;
  title: string;
  run(ctx: BenchContext): Promise<void> | void;
}

const coldStart: Section = {
  name: 'cold-start',
  title: 'CLI cold start (goal: median under 80 ms)',
  run({ runs, cli }) {
    const node = timeCommand(process.execPath, ['-e', '0'], runs);
    console.log(`  node -e 0 (floor)                               median ${ms(median(node))}  p90 ${ms(percentile(node, 90))}`);
    for (const args of [['--version'], ['syscalls', '--target', 'codesafe5', '--firmware', '13.7', '--json'], ['explain', '--target', 'codesafe5', 'getrandom']]) {
      const t = timeCommand(process.execPath, [cli, ...args], runs);
      const m = median(t);
      console.log(`  sysgate ${args.join(' ').padEnd(40)} median ${ms(m)}  p90 ${ms(percentile(t, 90))}  ${m < 80 ? 'OK' : 'OVER GOAL'}`);
    }
  },
};

export const SECTIONS: Section[] = [coldStart, bpfSection, elfSection];
