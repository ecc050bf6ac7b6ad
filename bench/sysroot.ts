/**
 * Issue 13's figures: `check /usr/bin --sysroot /` on 2 cores, reachability included (goal:
 * under 10 s and under 600 MB), and the call graph of a few large libraries on its own.
 */
import { existsSync } from 'node:fs';
import { buildCallGraph } from '../src/elf/callgraph.ts';
import { readElf } from '../src/elf/index.ts';
import { ElfFile } from '../src/elf/source.ts';
import type { Section } from './section-type.ts';
import { median, ms, timeFn } from './stats.ts';

const LIBS = ['/lib/x86_64-linux-gnu/libselinux.so.1', '/lib/x86_64-linux-gnu/libcrypto.so.3', '/lib/x86_64-linux-gnu/libstdc++.so.6'];

export const sysrootSection: Section = {
  name: 'sysroot',
  title: 'check /usr/bin --sysroot / (goal: < 10 s, < 600 MB max RSS on 2 cores); call graphs of large libraries',
  run({ cli, runs, spawnSync }) {
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
    // Several runs: one run on a shared machine says more about the neighbours than the check.
    const n = Math.min(runs, 5);
    const rows: { wall: number; cpu: number; rss: number }[] = [];
    for (let k = 0; k < n; k++) {
      const r = spawnSync(
        '/usr/bin/time',
        ['-f', '%e %U %S %M', process.execPath, cli, 'check', '/usr/bin', '--sysroot', '/', '--target', 'enclave-x86_64', '--format', 'json'],
        { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 },
      );
      // The last line is time's (the lines before it are the check's own, and "Command exited with non-zero status 1").
      const [wall, user, sys, rss] = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
      rows.push({ wall: wall!, cpu: user! + sys!, rss: rss! / 1024 });
      console.log(`  run ${k + 1}: wall ${wall} s, CPU ${(user! + sys!).toFixed(1)} s, max RSS ${Math.round(rss! / 1024)} MB`);
    }
    const range = (xs: number[], d: number) => `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}-${Math.max(...xs).toFixed(d)})`;
    const wall = range(
      rows.map((x) => x.wall),
      2,
    );
    const cpu = range(
      rows.map((x) => x.cpu),
      1,
    );
    const rss = range(
      rows.map((x) => x.rss),
      0,
    );
    console.log(`  check /usr/bin --sysroot /, median (range) of ${n}: wall ${wall} s, CPU ${cpu} s, max RSS ${rss} MB (goal < 10 s, < 600 MB)`);
  },
};
