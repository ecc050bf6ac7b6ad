/** Issue 3's figures: filter size and path lengths next to libseccomp's, and generation time. */
import { bestCaseAction } from '../src/policy/evaluate.ts';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeFilter, runFilter, type Insn } from '../src/bpf/index.ts';
import { generate, DEFAULT_FORMATS } from '../src/generate.ts';
import { isAllow } from '../src/policy/action.ts';
import { loadTarget, shippedTargetIds } from '../src/policy/load.ts';
import { resolvePolicy } from '../src/policy/resolve.ts';
import type { Policy } from '../src/policy/types.ts';
import type { Section } from './section-type.ts';
import { ms } from './stats.ts';

const CASES: [string, string | undefined, string[]][] = [
  ['codesafe5', '13.4', ['arm', 'aarch64', 'ppc', 'x86_64']],
  ['codesafe5', '13.5', ['arm', 'aarch64', 'ppc', 'x86_64']],
  ['codesafe5', '13.7', ['arm', 'aarch64', 'ppc', 'x86_64']],
  ['enclave-x86_64', undefined, ['x86_64']],
];

/** Worst and mean instructions over the allowed syscalls of a policy. */
function paths(insns: Insn[], p: Policy): { worst: number; avg: number } {
  const allowed = p.rules.filter((r) => isAllow(bestCaseAction(r)));
  let worst = 0;
  let sum = 0;
  for (const r of allowed) {
    const s = runFilter(insns, { nr: r.nr, arch: p.arch.auditArch }, p.arch.endian).steps;
    worst = Math.max(worst, s);
    sum += s;
  }
  return { worst, avg: sum / Math.max(1, allowed.length) };
}

function libseccompProgram(dir: string, csrc: string, level: 1 | 2, endian: 'little' | 'big'): Insn[] | undefined {
  const exe = join(dir, `ls${level}`);
  const src = join(dir, 'ls.c');
  writeFileSync(src, csrc);
  const cc = spawnSync('gcc', ['-O1', '-DSYSGATE_EXPORT_MAIN', `-DSYSGATE_SECCOMP_OPTIMIZE=${level}`, '-o', exe, src, '-lseccomp'], { encoding: 'utf8' });
  if (cc.status !== 0) return undefined;
  const r = spawnSync(exe, [], { maxBuffer: 1 << 24 });
  if (r.status !== 0) return undefined;
  return decodeFilter(new Uint8Array(r.stdout), endian);
}

export const bpfSection: Section = {
  name: 'bpf',
  title:
    'filters: length and path lengths vs libseccomp 2.5.4 (goal: worst path below libseccomp -O2 and <= ceil(log2(ranges)) + 5); generation time (goal: all formats, all targets and arches, < 300 ms in one process)',
  async run() {
    const dir = mkdtempSync(join(tmpdir(), 'sysgate-bench-'));
    try {
      console.log('  target/firmware/arch            len  ranges  worst  avg   bound | libseccomp -O1 len worst avg | -O2 len worst avg | verdict');
      for (const [id, fw, arches] of CASES) {
        const t = await loadTarget(id);
        for (const arch of arches) {
          const [g] = generate(t, { ...(fw ? { firmware: fw } : {}), arches: [arch], formats: ['bpf', 'libseccomp'] });
          const p = resolvePolicy(t, { ...(fw ? { firmware: fw } : {}), arch });
          const ours = decodeFilter(g!.files.find((f) => f.name.endsWith('.bpf'))!.content as Uint8Array, p.arch.endian);
          const c = g!.files.find((f) => f.name.endsWith('.libseccomp.c'))!.content as string;
          const o = paths(ours, p);
          const bound = Math.ceil(Math.log2(g!.stats.ranges)) + 5;
          const l1 = libseccompProgram(dir, c, 1, p.arch.endian);
          const l2 = libseccompProgram(dir, c, 2, p.arch.endian);
          const p1 = l1 && paths(l1, p);
          const p2 = l2 && paths(l2, p);
          const fmt = (ins: Insn[] | undefined, pp: { worst: number; avg: number } | undefined) =>
            ins && pp ? `${String(ins.length).padStart(4)} ${String(pp.worst).padStart(4)} ${pp.avg.toFixed(1).padStart(5)}` : '   (no libseccomp)';
          const ok = o.worst <= bound && (!p2 || o.worst < p2.worst);
          console.log(
            `  ${`${id}/${fw ?? '-'}/${arch}`.padEnd(30)} ${String(ours.length).padStart(4)} ${String(g!.stats.ranges).padStart(6)} ${String(o.worst).padStart(6)} ${o.avg.toFixed(1).padStart(5)} ${String(bound).padStart(6)} | ${fmt(l1, p1)}         | ${fmt(l2, p2)} | ${ok ? 'OK' : 'MISSED'}`,
          );
        }
      }
      // Generation time: every format, every shipped target, firmware and arch, in this process.
      const all = () =>
        Promise.all(shippedTargetIds().map((id) => loadTarget(id))).then((ts) => {
          let files = 0;
          for (const t of ts) {
            for (const fw of t.firmwares.length ? t.firmwares : [undefined]) {
              for (const g of generate(t, { ...(fw ? { firmware: fw } : {}), arches: 'all', formats: DEFAULT_FORMATS })) files += g.files.length;
            }
          }
          return files;
        });
      let t0 = performance.now();
      const files = await all();
      const first = performance.now() - t0;
      const warm: number[] = [];
      for (let i = 0; i < 5; i++) {
        t0 = performance.now();
        await all();
        warm.push(performance.now() - t0);
      }
      console.log(
        `  generate all formats x all shipped targets/firmwares/arches (${files} files): first run ${ms(first)}, warm best ${ms(Math.min(...warm))}  ${first < 300 ? 'OK' : 'OVER GOAL'}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
