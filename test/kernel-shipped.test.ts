/**
 * The shipped targets' generated raw filters, resolved for x86_64, loaded into this machine's
 * kernel: its verdict for every syscall number 0..1100, x32 numbers and i386 calls equals the
 * policy (computed from the Policy, not from the program).
 */
import assert from 'node:assert/strict';
import { decodeFilter } from '../src/bpf/index.ts';
import { generate } from '../src/generate.ts';
import { evaluatePolicies } from '../src/policy/call.ts';
import { loadTarget } from '../src/policy/load.ts';
import { resolvePolicy } from '../src/policy/resolve.ts';
import { ARCHES, X32_SYSCALL_BIT } from '../src/syscalls/arches.ts';
import { requireKernelHarness, kernelVerdicts, observed, type Probe } from './helpers/bpf.ts';

const X86_64 = ARCHES.x86_64;

describe('shipped targets in the kernel (x86_64)', function () {
  before(function () {
    requireKernelHarness(this);
  });

  for (const [id, fw] of [
    ['codesafe5', '13.4'],
    ['codesafe5', '13.5'],
    ['codesafe5', '13.7'],
    ['enclave-x86_64', undefined],
  ] as const) {
    it(`${id}${fw ? ` ${fw}` : ''}: every verdict equals the policy`, async () => {
      const t = await loadTarget(id);
      const [g] = generate(t, { ...(fw ? { firmware: fw } : {}), arches: ['x86_64'], formats: ['bpf'] });
      const insns = decodeFilter(g!.files[0]!.content as Uint8Array, 'little');
      const p = resolvePolicy(t, { ...(fw ? { firmware: fw } : {}), arch: 'x86_64' });
      const probes: Probe[] = [];
      // uretprobe (335) and uprobe (336) bypass seccomp on this kernel: left out.
      for (let nr = 0; nr <= 1100; nr++) if (nr !== 335 && nr !== 336) probes.push({ arch: X86_64, nr, args: [] });
      for (const nr of [0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff]) probes.push({ arch: X86_64, nr, args: [] });
      for (const nr of [0, 1, 2, 39, 59, 231, 318, 512, 547]) probes.push({ arch: X86_64, nr: (X32_SYSCALL_BIT | nr) >>> 0, args: [] });
      for (const nr of [1, 3, 4, 20, 102, 355]) probes.push({ arch: ARCHES.i386, nr, args: [] });
      // nice/setpriority-style conditions are not on x86_64 for codesafe5; arguments are zero.
      const kernel = kernelVerdicts(insns, probes);
      const wrong: string[] = [];
      probes.forEach((pr, i) => {
        const want = observed(evaluatePolicies([p], pr.arch.auditArch, pr.nr, pr.args));
        if (kernel[i] !== want) wrong.push(`${pr.arch.name} 0x${pr.nr.toString(16)}: kernel ${kernel[i]}, policy ${want}`);
      });
      assert.deepEqual(wrong, []);
      assert.ok(probes.length > 1100);
      // sanity: the policy really allows some and denies some
      assert.ok(kernel.includes('allow') && kernel.some((k) => k !== 'allow'));
    });
  }
});
