/**
 * Issue 13's figures: `check /usr/bin --sysroot /` on 2 cores, reachability included (goal:
 * under 10 s and under 600 MB), and the call graph of a few large libraries on its own.
 */
import { existsSync } from 'node:fs';
import { buildCallGraph } from '../src/elf/callgraph.ts';
import { readElf } from '../src/elf/index.ts';
import { ElfFile } from '../src/elf/source.ts';
import type { Section } from './section-type.ts';
import { ms, timeFn } from './stats.ts';

const LIBS = ['/lib/x86_64-linux-gnu/libselinux.so.1', '/lib/x86_64-linux-gnu/libcrypto.so.3', '/lib/x86_64-linux-gnu/libstdc++.so.6'];

export const sysrootSection: Section = {
  name: 'sysroot',
  title: 'check /usr/bin --sysroot / (goal: < 10 s, < 600 MB max RSS on 2 cores); call graphs of large libraries',
  run({ cli, spawnSync }) {
    for (const lib of LIBS.filter(existsSync)) {
      const t = timeFn(
        () => {
          const f = ElfFile.open(lib);
          try {
            return buildCallGraph(readElf(f, lib), f);
          } finally {
            f.close();
          }
        },
        1,
        3,
      );
      console.log(`  call graph of ${lib}: ${ms(t)}`);
    }
    if (!existsSync('/usr/bin/time')) return void console.log('  /usr/bin/time missing: skipped the directory run');
    const r = spawnSync(
      '/usr/bin/time',
      ['-v', process.execPath, cli, 'check', '/usr/bin', '--sysroot', '/', '--target', 'enclave-x86_64', '--format', 'json'],
      { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 },
    );
    // "Elapsed (wall clock) time (h:mm:ss or m:ss): 0:58.99": the unit's colons are not the separator.
    const wall = /Elapsed \(wall clock\) time \([^)]*\): (.*)/.exec(r.stderr)?.[1];
    const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1] ?? NaN);
    // On a shared machine the wall time says more about the neighbours than about the check:
    // the CPU time is the figure to compare between runs.
    const user = /User time \(seconds\): ([\d.]+)/.exec(r.stderr)?.[1];
    const sys = /System time \(seconds\): ([\d.]+)/.exec(r.stderr)?.[1];
    console.log(
      `  check /usr/bin --sysroot /: wall ${wall}, CPU ${user} s user + ${sys} s system, max RSS ${Math.round(rss / 1024)} MB (goal < 10 s, < 600 MB)`,
    );
  },
};
