/**
 * npm run bench -- --only reality: real programs (Debian packages fetched by
 * scripts/reality/fetch.sh, fixtures built here) run under each policy in this machine's kernel
 * and judged by `sysgate check`. Prints per target and firmware the confusion matrix, the
 * denied calls runs made that check did not report, and the FAIL verdicts whose named call no
 * workload made; writes everything to bench/.tmp/reality.json. See docs/reality.md.
 *   REALITY_RUNNER=run|standin (default: run when the CLI has it), REALITY_CACHE=DIR,
 *   REALITY_ONLY=id,id (programs), REALITY_NO_FETCH=1 (use only what the cache holds)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Section } from '../section-type.ts';
import { ARM_POLICIES, ARMHF, DEBIAN, FIXTURES, POLICIES, type Program } from './corpus.ts';
import {
  detectRunner,
  evaluateProgram,
  formatResults,
  hostLibcVersion,
  makeCache,
  runBaseline,
  type HarnessOptions,
  type ProgramResult,
  type RunnerKind,
} from './harness.ts';

export const realitySection: Section = {
  name: 'reality',
  title: 'reality suite: real programs under each policy vs check (a measurement: it never fails on the matrix)',
  run({ root, cli }) {
    const t0 = Date.now();
    const cache = process.env.REALITY_CACHE ?? makeCache(root);
    const runner = (process.env.REALITY_RUNNER as RunnerKind | undefined) ?? detectRunner(cli);
    const only = process.env.REALITY_ONLY?.split(',');
    const notes: string[] = [];
    // 1. The corpus: Debian amd64 packages (and their lib* dependencies), extracted.
    const packages = [...new Set(DEBIAN.map((d) => d.package))];
    const sysroot = join(cache, 'amd64/root');
    if (!process.env.REALITY_NO_FETCH) {
      const f = spawnSync('bash', [join(root, 'scripts/reality/fetch.sh'), cache, 'amd64', ...packages], {
        stdio: ['ignore', 'inherit', 'pipe'],
        encoding: 'utf8',
      });
      if (f.status !== 0) notes.push(`fetch failed: ${f.stderr.trim().split('\n').pop()}`);
    }
    // armhf: the same programs with their own C library (libc6:armhf), run in a real ARM kernel by
    // `sysgate run` (REALITY_ARMHF=0 skips them; the stand-in cannot run them).
    const armhfSysroot = join(cache, 'armhf/root');
    const armhf = runner === 'run' && process.env.REALITY_ARMHF !== '0';
    if (armhf && !process.env.REALITY_NO_FETCH) {
      const pkgs = [...new Set(ARMHF.map((d) => d.package)), 'libc6'];
      const f = spawnSync('bash', [join(root, 'scripts/reality/fetch.sh'), cache, 'armhf', ...pkgs], {
        stdio: ['ignore', 'inherit', 'pipe'],
        encoding: 'utf8',
      });
      if (f.status !== 0) notes.push(`armhf fetch failed: ${f.stderr.trim().split('\n').pop()}`);
    }
    const o: HarnessOptions = { root, cli, cache, runner, sysroot, armhfSysroot, libcVersion: hostLibcVersion() };
    let programs: Program[] = [...DEBIAN.filter((d) => existsSync(join(sysroot, d.binary))), ...FIXTURES];
    const armPrograms = armhf ? ARMHF.filter((d) => existsSync(join(armhfSysroot, d.binary))) : [];
    const absent = DEBIAN.filter((d) => !existsSync(join(sysroot, d.binary))).map((d) => d.id);
    if (absent.length) notes.push(`not in the cache (left out): ${absent.join(', ')}`);
    if (only) programs = programs.filter((p) => only.includes(p.id));
    const armSelected = only ? armPrograms.filter((p) => only.includes(p.id)) : armPrograms;
    // 2. Each program: its workloads without a filter first, then under each policy, then check.
    const results: ProgramResult[] = [];
    for (const p of programs) {
      const broken = p.workloads.map((w) => runBaseline(p, w, o)).find((x) => x !== undefined);
      if (broken) notes.push(`${p.id}: workload fails without any filter (${broken}): left out of the matrix`);
      for (const pc of POLICIES) results.push(evaluateProgram(p, pc, o, broken === undefined));
    }
    for (const p of armSelected) {
      const broken = p.workloads.map((w) => runBaseline(p, w, o)).find((x) => x !== undefined);
      if (broken) notes.push(`${p.id}: workload fails without any filter under qemu-arm (${broken}): left out of the matrix`);
      for (const pc of ARM_POLICIES) results.push(evaluateProgram(p, pc, o, broken === undefined));
    }
    programs = [...programs, ...armSelected];
    console.log(
      `  ${programs.length} programs (${programs.filter((p) => p.kind === 'debian' && p.arch !== 'armhf').length} Debian amd64, ${armSelected.length} Debian armhf in a real ARM kernel, ${programs.filter((p) => p.kind === 'fixture').length} fixtures), ` +
        `${programs.reduce((n, p) => n + p.workloads.length, 0)} workloads, ${POLICIES.length} policies: ${results.reduce((n, r) => n + r.runs.length, 0)} runs in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    console.log(formatResults(results, runner));
    for (const n of notes) console.log(`  note: ${n}`);
    const dir = join(root, 'bench/.tmp');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'reality.json');
    writeFileSync(
      file,
      `${JSON.stringify({ date: new Date().toISOString(), runner, libcVersion: o.libcVersion, policies: POLICIES, notes, results }, null, 2)}\n`,
    );
    console.log(`  results: ${file}`);
  },
};
