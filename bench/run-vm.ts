/**
 * Issue 12's figure for `sysgate run` on ARM and AArch64: how long a boot of a real kernel takes
 * (qemu-system, from qemu's start to the guest's power-off, a small static program included),
 * measured through runInVm. At most 5 boots per arch (each costs seconds).
 *   npm run bench -- --only run-vm [--runs N]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileFilter, encodeFilter } from '../src/bpf/index.ts';
import { loadTarget } from '../src/policy/load.ts';
import { resolvePolicy } from '../src/policy/resolve.ts';
import { findKernel, VM_ARCHES, vmMachine } from '../src/run/kernels.ts';
import { runInVm } from '../src/run/vm.ts';
import type { Section } from './section-type.ts';
import { median } from './stats.ts';

export const runVmSection: Section = {
  name: 'run-vm',
  title: 'sysgate run: boot of a real ARM / AArch64 kernel under qemu-system (say how many seconds)',
  async run({ runs }) {
    const dir = mkdtempSync(join(tmpdir(), 'sysgate-bench-vm-'));
    try {
      writeFileSync(join(dir, 'hello.c'), '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n');
      const target = await loadTarget('codesafe5');
      for (const arch of VM_ARCHES) {
        const m = vmMachine(arch);
        let kernel: ReturnType<typeof findKernel>;
        try {
          kernel = findKernel(arch, process.env);
        } catch (e) {
          console.log(`  ${arch}: skipped: ${(e as Error).message}`);
          continue;
        }
        const prog = join(dir, `hello-${arch}`);
        const cc = spawnSync(m.cc, ['-O2', '-static', '-o', prog, join(dir, 'hello.c')], { encoding: 'utf8' });
        if (cc.status !== 0) {
          console.log(`  ${arch}: skipped: ${m.cc} failed`);
          continue;
        }
        const policy = resolvePolicy(target, { firmware: '13.7', arch });
        const f = compileFilter([policy]);
        const filter = encodeFilter(f.insns, f.endian);
        const secs: number[] = [];
        for (let i = 0; i < Math.min(runs, 5); i++) {
          const r = await runInVm(
            { target: 'codesafe5', firmware: '13.7', program: prog, args: [], io: { stdout: () => {}, stderr: () => {} } },
            policy,
            filter,
          );
          secs.push(Number(r.runner.detail.match(/([\d.]+) s$/)![1]));
        }
        console.log(
          `  ${m.qemu} ${m.machine.join(' ')}, Linux ${kernel.version}: boot and run median ${median(secs).toFixed(1)} s, min ${Math.min(...secs).toFixed(1)} s, max ${Math.max(...secs).toFixed(1)} s (${secs.length} boots)`,
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
