/**
 * Issue 9's figures for the compiler wrapper:
 * - one compile step: `gcc -c x.c` vs `sysgate-cc -- gcc -c x.c` (the sh launcher) vs
 *   `sysgate cc -- gcc -c x.c` (Node), round-robin (goal: the launcher under 5 ms over gcc);
 * - a generated 50-file C project built by make, with CC=gcc and with CC="sysgate-cc ... -- gcc":
 *   total CPU (user + sys of make and everything it ran, GNU time) and wall time, the link
 *   (shim from a warm cache + check) included.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Section } from './section-type.ts';
import { median, ms, percentile } from './stats.ts';

const FILES = 50;

function unit(i: number): string {
  // Enough code that gcc -O2 has real work (a compile step of tens of ms, like a real project).
  const fns = Array.from(
    { length: 4 },
    (_, j) => `
static unsigned long mix${j}(unsigned long x) { for (int k = 0; k < ${8 + j}; k++) x = (x ^ (x >> ${(j % 7) + 3})) * 0x9E3779B97F4A7C15ul + k; return x; }
unsigned long f${i}_${j}(const unsigned char *p, unsigned long n) { unsigned long h = ${i * 31 + j}; for (unsigned long q = 0; q < n; q++) h = mix${j}(h + p[q]); return h; }`,
  ).join('\n');
  return `#include <stddef.h>\n${fns}\n`;
}

export const ccSection: Section = {
  name: 'cc',
  title: 'compiler wrapper: a compile step under 5 ms over the compiler; build CPU with and without it',
  run({ runs, root, cli, spawnSync }) {
    const dir = mkdtempSync(join(tmpdir(), 'sysgate-bench-cc-'));
    try {
      const env = { ...process.env, SYSGATE_CACHE_DIR: join(dir, 'cache'), SYSGATE_NODE: process.execPath };
      const launcher = join(root, 'bin/sysgate-cc');
      // A tiny unit, so that the wrapper's cost is not lost in the compiler's noise; and `true` as
      // the "compiler", which leaves nothing but the launcher's own cost.
      writeFileSync(join(dir, 'x.c'), 'int x;\n');
      const policy = ['--target', 'codesafe5', '--firmware', '13.7'];
      const cases: [string, string, string[]][] = [
        ['gcc -c x.c', 'gcc', ['-c', 'x.c', '-o', 'x.o']],
        ['sysgate-cc -- gcc -c x.c (sh launcher)', launcher, [...policy, '--', 'gcc', '-c', 'x.c', '-o', 'x.o']],
        ['sysgate cc -- gcc -c x.c (Node)', process.execPath, [cli, 'cc', ...policy, '--', 'gcc', '-c', 'x.c', '-o', 'x.o']],
        ['true -c x.c', 'true', ['-c', 'x.c', '-o', 'x.o']],
        ['sysgate-cc -- true -c x.c (launcher alone)', launcher, [...policy, '--', 'true', '-c', 'x.c', '-o', 'x.o']],
      ];
      const times = cases.map(() => [] as number[]);
      for (const [, cmd, args] of cases) spawnSync(cmd, args, { cwd: dir, env, stdio: 'ignore' });
      for (let i = 0; i < runs; i++) {
        cases.forEach(([, cmd, args], j) => {
          const t0 = process.hrtime.bigint();
          const r = spawnSync(cmd, args, { cwd: dir, env, stdio: 'ignore' });
          times[j]!.push(Number(process.hrtime.bigint() - t0) / 1e6);
          if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
        });
      }
      cases.forEach(([label], j) => {
        const m = median(times[j]!);
        const floor = median(times[j < 3 ? 0 : 3]!);
        const over = m - floor;
        const verdict = j === 0 || j === 3 ? '' : `+${ms(over)} over the bare command${j !== 2 ? (over < 5 ? '  OK' : '  OVER GOAL') : ''}`;
        console.log(`  ${label.padEnd(42)} median ${ms(m)}  p90 ${ms(percentile(times[j]!, 90))}  ${verdict}`);
      });

      if (!existsSync('/usr/bin/time')) {
        console.log('  (build CPU skipped: GNU time not installed: apt-get install time)');
        return;
      }
      // The project: FILES units and a main, built with make -j2.
      const proj = join(dir, 'proj');
      spawnSync('mkdir', ['-p', proj]);
      const objs: string[] = [];
      for (let i = 0; i < FILES; i++) {
        writeFileSync(join(proj, `u${i}.c`), unit(i));
        objs.push(`u${i}.o`);
      }
      writeFileSync(
        join(proj, 'main.c'),
        `#include <stdio.h>\nunsigned long f0_0(const unsigned char *, unsigned long);\nint main(void) { printf("%lu\\n", f0_0((const unsigned char *)"x", 1)); return 0; }\n`,
      );
      writeFileSync(
        join(proj, 'Makefile'),
        `CFLAGS = -O2\napp: main.o ${objs.join(' ')}\n\t$(CC) -o $@ $^\n%.o: %.c\n\t$(CC) $(CFLAGS) -c $< -o $@\nclean:\n\trm -f app *.o\n`,
      );
      const wrapped = `${launcher} ${policy.join(' ')} --quiet -- gcc`;
      const builds: [string, string][] = [
        ['CC=gcc', 'gcc'],
        ['CC="sysgate-cc ... -- gcc"', wrapped],
      ];
      const cpu = builds.map(() => [] as number[]);
      const wall = builds.map(() => [] as number[]);
      const buildRuns = Math.max(3, Math.min(5, Math.ceil(runs / 6)));
      spawnSync('make', ['-s', '-j2', `CC=${wrapped}`], { cwd: proj, env, stdio: 'ignore' }); // warm: the shim cache, the file cache
      for (let i = 0; i < buildRuns; i++) {
        builds.forEach(([, ccVar], j) => {
          spawnSync('make', ['-s', 'clean'], { cwd: proj, env, stdio: 'ignore' });
          const t0 = process.hrtime.bigint();
          const r = spawnSync('/usr/bin/time', ['-f', '%U %S', 'make', '-s', '-j2', `CC=${ccVar}`], { cwd: proj, env, encoding: 'utf8' });
          wall[j]!.push(Number(process.hrtime.bigint() - t0) / 1e6);
          if (r.status !== 0) throw new Error(`make CC=${ccVar} failed: ${r.stderr}`);
          const [u, s] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
          cpu[j]!.push((u! + s!) * 1000);
        });
      }
      const base = median(cpu[0]!);
      builds.forEach(([label], j) => {
        const c = median(cpu[j]!);
        console.log(
          `  make -j2 ${FILES + 1} files, ${label.padEnd(28)} CPU ${ms(c)}  wall ${ms(median(wall[j]!))}${j ? `  CPU +${((c / base - 1) * 100).toFixed(1)}%` : ''}`,
        );
      });
      console.log(`  (${buildRuns} builds each, round-robin; the wrapped link starts Node once: shim from the cache, then the check)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
