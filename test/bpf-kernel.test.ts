/**
 * The proof: this machine's kernel, the emulator and the policy agree. test/native/verdicts.c
 * reads the kernel's verdict for each probe without executing the call.
 */
import assert from 'node:assert/strict';
import type { Action, Policy } from '../src/policy/types.ts';
import { ARCHES } from '../src/syscalls/arches.ts';
import {
  AsmBuilder,
  BPF_ALU,
  BPF_DIV,
  BPF_LSH,
  BPF_MOD,
  BPF_ST,
  OP_JA,
  OP_JEQ_K,
  OP_LD_ABS,
  OP_LD_IMM,
  OP_LD_MEM,
  OP_RET_A,
  OP_RET_K,
  assemble,
  auditFilter,
  compileFilter,
  decodeFilter,
  longestPath,
  runFilter,
  validateFilter,
  type Insn,
} from '../src/bpf/index.ts';
import {
  ALLOW,
  errno,
  intent,
  kernelAccepts,
  requireKernelHarness,
  kernelVerdicts,
  makePolicy,
  observed,
  buildLibseccompExporter,
  libseccompFilter,
  observedRet,
  prng,
  probeSet,
  randomPolicy,
  rule,
  type Probe,
} from './helpers/bpf.ts';
import { requireTool } from './helpers/tools.ts';

const X86_64 = ARCHES.x86_64;
const I386 = ARCHES.i386;
const I = (code: number, k = 0, jt = 0, jf = 0): Insn => ({ code, jt, jf, k: k >>> 0 });

describe('bpf: kernel verdicts (test/native/verdicts.c)', function () {
  before(function () {
    requireKernelHarness(this);
  });

  it('reads each action correctly from hand-written filters', () => {
    const b = new AsmBuilder();
    b.insn(OP_LD_ABS, 4).jump(OP_JEQ_K, X86_64.auditArch, null, 'other').insn(OP_LD_ABS, 0);
    const cases: [number, number, string][] = [
      [1, 0x7fff0000, 'allow'],
      [2, 0x7fc00000, 'errno 38'],
      [3, 0x7ff00005, 'allow'],
      [4, 0x7ffc0000, 'allow'],
      [5, 0x00050000, 'errno 0'],
      [6, 0x00051234, 'errno 4095'],
      [39, 0x00030007, 'trap 7'],
      [60, 0x00000000, 'kill-thread'],
      [62, 0x80000000, 'kill-process'],
      [63, 0x00010000, 'kill-process'],
      [0x40000001, 0x0005000b, 'errno 11'],
      [0xffffffff, 0x0005000c, 'errno 12'],
    ];
    for (const [nr, ret] of cases) {
      const next = b.fresh();
      b.jump(OP_JEQ_K, nr, null, next).insn(OP_RET_K, ret).label(next);
    }
    b.insn(OP_RET_K, 0x0005000d);
    b.label('other').insn(OP_RET_K, 0x00050016);
    const prog = assemble(b.items).insns;
    const probes: Probe[] = [
      ...cases.map(([nr]) => ({ arch: X86_64, nr, args: [] })),
      { arch: X86_64, nr: 0, args: [] },
      { arch: I386, nr: 1, args: [] },
      { arch: I386, nr: 20, args: [] },
    ];
    const want = [...cases.map((c) => c[2]), 'errno 13', 'errno 22', 'errno 22'];
    assert.deepEqual(kernelVerdicts(prog, probes), want);
    assert.deepEqual(
      probes.map((p) => observedRet(runFilter(prog, { nr: p.nr, arch: p.arch.auditArch }, 'little').ret)),
      want,
    );
  });

  it('passes arguments (x86_64 registers and i386 int $0x80)', () => {
    // ret A: the verdict echoes args[i] low words as ERRNO data.
    const prog = (off: number) => [I(OP_LD_ABS, off), I(BPF_ALU | 0x50, 0xfff), I(BPF_ALU | 0x40, 0x00050000), I(OP_RET_A)];
    for (let i = 0; i < 6; i++) {
      const args = [0n, 0n, 0n, 0n, 0n, 0n].map((_, j) => BigInt(0x100 + 16 * j + 1) | (7n << 32n));
      const probes: Probe[] = [
        { arch: X86_64, nr: 1, args },
        { arch: I386, nr: 1, args },
      ];
      const got = kernelVerdicts(prog(16 + 8 * i), probes);
      assert.deepEqual(got, [`errno ${0x100 + 16 * i + 1}`, `errno ${0x100 + 16 * i + 1}`]);
      assert.deepEqual(kernelVerdicts(prog(20 + 8 * i), probes), ['errno 7', 'errno 0'], 'high word; 0 for i386');
    }
  });

  it('validateFilter accepts and rejects what the kernel does', () => {
    const progs: Insn[][] = [
      [I(OP_RET_K, 0x7fff0000)],
      [I(OP_LD_ABS, 2), I(OP_RET_K, 0)],
      [I(OP_LD_ABS, 60), I(OP_RET_A)],
      [I(OP_LD_ABS, 64), I(OP_RET_A)],
      [I(BPF_ALU | BPF_DIV, 0), I(OP_RET_K, 0)],
      [I(BPF_ALU | BPF_MOD, 3), I(OP_RET_K, 0)],
      [I(BPF_ALU | BPF_LSH, 31), I(OP_RET_A)],
      [I(BPF_ALU | BPF_LSH, 32), I(OP_RET_A)],
      [I(OP_JEQ_K, 0, 1, 0), I(OP_RET_K, 0)],
      [I(OP_JA, 0), I(OP_RET_K, 0x7fff0000)],
      [I(OP_JA, 1), I(OP_RET_K, 0)],
      [I(0x30, 0), I(OP_RET_K, 0)],
      [I(OP_LD_MEM, 3), I(OP_RET_A)],
      [I(OP_LD_IMM, 1), I(BPF_ST, 3), I(OP_LD_MEM, 3), I(OP_RET_A)],
      [I(OP_JEQ_K, 0, 0, 1), I(BPF_ST, 3), I(OP_LD_MEM, 3), I(OP_RET_A)],
      [I(0x0e), I(OP_RET_K, 0)],
      [I(OP_LD_ABS, 0)],
    ];
    for (const p of progs) {
      assert.equal(validateFilter(p).valid, kernelAccepts(p), JSON.stringify(p));
    }
  });

  it('kernel == emulator == policy on random policies compiled for x86_64', () => {
    const avoid = [335, 336];
    const policies: Policy[] = [];
    for (let seed = 1; seed <= 8; seed++) {
      const rng = prng(1000 + seed);
      // Kill verdicts cost a new thread or process each: only two policies kill by default.
      const defaults: Action[] = seed === 3 ? [{ kind: 'kill-process' }] : seed === 6 ? [{ kind: 'kill-thread' }] : [errno(1), errno(4095), { kind: 'trap' }];
      policies.push(
        randomPolicy(rng, {
          avoid,
          maxKillProcess: 2,
          defaults,
          foreign: seed === 5 ? [{ kind: 'kill-process' }] : undefined,
        }),
      );
    }
    let probesRun = 0;
    policies.forEach((p, i) => {
      const rng = prng(2000 + i);
      const f = compileFilter([p]);
      const probes = probeSet([p], rng, {
        forKernel: true,
        limit: 480,
        x32Samples: i === 2 ? 5 : 30,
        foreign: [{ arch: I386, count: i === 4 ? 5 : 30 }],
      });
      const kernel = kernelVerdicts(f.insns, probes);
      probesRun += probes.length;
      probes.forEach((pr, j) => {
        const emu = observedRet(
          runFilter(f.insns, { nr: pr.nr, arch: pr.arch.auditArch, args: pr.args.map((a) => (pr.arch === I386 ? a & 0xffffffffn : a)) }, 'little').ret,
        );
        const want = observed(intent([p], pr));
        const where = `policy ${i}: ${pr.arch.name} nr 0x${pr.nr.toString(16)} args [${pr.args.map((a) => a.toString(16)).join(',')}]`;
        assert.equal(kernel[j], emu, `${where}: kernel ${kernel[j]}, emulator ${emu}`);
        assert.equal(emu, want, `${where}: program ${emu}, policy ${want}`);
      });
    });
    assert.ok(probesRun > 4000, `${probesRun} probes`);
  });

  it('kernel == emulator == policy for an x86_64 + i386 filter', () => {
    const rng = prng(77);
    const defaults = [errno(1), { kind: 'trap' } as const];
    const a = randomPolicy(rng, { arch: X86_64, avoid: [335, 336], foreign: [errno(22)], maxKillProcess: 1, defaults });
    const b = randomPolicy(rng, { arch: I386, foreign: [errno(22)], maxKillProcess: 1, tableMax: 450, defaults });
    const f = compileFilter([a, b]);
    const probes = probeSet([a, b], rng, { forKernel: true, limit: 470, x32Samples: 10 }).map((p) =>
      p.arch === I386 ? { ...p, args: p.args.map((x) => x & 0xffffffffn) } : p,
    );
    const kernel = kernelVerdicts(f.insns, probes);
    probes.forEach((pr, j) => {
      const emu = observedRet(runFilter(f.insns, { nr: pr.nr, arch: pr.arch.auditArch, args: pr.args }, 'little').ret);
      assert.equal(kernel[j], emu, `${pr.arch.name} ${pr.nr}`);
      assert.equal(emu, observed(intent([a, b], pr)), `${pr.arch.name} ${pr.nr}`);
    });
  });

  it('loads a compiled filter with trampolines', () => {
    const rules = Array.from({ length: 200 }, (_, i) => ({
      name: `s${i}`,
      nr: i,
      provenance: { kind: 'target' as const },
      clauses: [{ action: ALLOW, conditions: [{ index: i % 6, op: 'ge' as const, value: BigInt(i) << 31n, width: 64 as const }] }],
    })).filter((r) => r.nr !== 335 && r.nr !== 336);
    const p = makePolicy({ rules, defaultAction: errno(38) });
    const f = compileFilter([p]);
    assert.ok(f.stats.trampolines > 0);
    const probes = probeSet([p], prng(5), { forKernel: true, limit: 210, argVectors: 2, x32Samples: 2 });
    const kernel = kernelVerdicts(f.insns, probes);
    probes.forEach((pr, j) => assert.equal(kernel[j], observed(intent([p], pr)), `nr ${pr.nr}`));
  });
});

describe('bpf: filters made by libseccomp', function () {
  let bin: string | undefined;
  before(function () {
    requireTool(this, 'gcc', 'gcc');
    bin = buildLibseccompExporter();
    if (!bin) {
      const msg = 'libseccomp headers not found: apt-get install libseccomp-dev';
      if (process.env.CI) throw new Error(msg);
      console.warn(`      skipped: ${msg}`);
      this.skip();
    }
  });

  it('audits them, and our tree is shorter than libseccomp optimize level 2 for 300 calls', () => {
    const rng = prng(300);
    const nrs = new Set<number>();
    while (nrs.size < 300) {
      const nr = Math.floor(rng() * 461);
      if (nr !== 335 && nr !== 336) nrs.add(nr);
    }
    const sorted = [...nrs].sort((a, b) => a - b);
    const theirs = decodeFilter(libseccompFilter(bin!, 2, sorted), 'little');
    const audit = auditFilter(theirs, X86_64, { tableMax: 460 });
    assert.deepEqual(audit.problems, []);
    assert.equal(audit.cache.cached.length, 300);
    const p = makePolicy({ rules: sorted.map((nr) => rule(nr)), defaultAction: errno(1) });
    const ours = compileFilter([p]);
    assert.ok(ours.stats.worstPath < longestPath(theirs), `ours ${ours.stats.worstPath}, libseccomp ${longestPath(theirs)}`);
    // Same verdicts: kernel on both programs, for every number and some x32 ones. Not for
    // 0x80000000..0xbfffffff: libseccomp kills every number >= 0x40000000 but -1; we deny only
    // those with the x32 bit and give the rest the default action, like any unknown number.
    const probes = probeSet([p], prng(1), { forKernel: true, limit: 470, x32Samples: 10 }).filter((pr) => pr.nr < 0x80000000 || pr.nr >= 0xc0000000);
    assert.deepEqual(kernelVerdicts(theirs, probes), kernelVerdicts(ours.insns, probes));
  });
});
