import assert from 'node:assert/strict';
import { InputError } from '../src/errors.ts';
import type { ArgCondition, Policy } from '../src/policy/types.ts';
import { ARCHES } from '../src/syscalls/arches.ts';
import { auditFilter, compileFilter, encodeFilter, runFilter, validateFilter, type CompiledFilter } from '../src/bpf/index.ts';
import { ALLOW, errno, intent, makePolicy, observed, observedRet, prng, probeSet, randomPolicy, rule, type Probe } from './helpers/bpf.ts';

/** Every probe: the emulator's verdict on the program equals the policy's intent. */
function checkAgainstIntent(policies: Policy[], f: CompiledFilter, probes: Probe[]): void {
  for (const pr of probes) {
    const got = runFilter(f.insns, { nr: pr.nr, arch: pr.arch.auditArch, args: pr.args }, f.endian);
    const want = observed(intent(policies, pr));
    if (observedRet(got.ret) !== want) {
      assert.fail(
        `${pr.arch.name} nr ${pr.nr} args [${pr.args.map((a) => `0x${a.toString(16)}`).join(',')}]: program says ${observedRet(got.ret)}, policy says ${want}`,
      );
    }
  }
}

describe('bpf: compileFilter', () => {
  it('allows the rules, takes the default elsewhere, denies x32 and other arches', () => {
    const p = makePolicy({ rules: [rule(0), rule(1), rule(60), rule(231, errno(13))], defaultAction: errno(1) });
    const f = compileFilter([p]);
    const run = (nr: number, arch = 0xc000003e) => runFilter(f.insns, { nr, arch }, 'little').action;
    assert.deepEqual(run(0), ALLOW);
    assert.deepEqual(run(60), ALLOW);
    assert.deepEqual(run(231), errno(13));
    assert.deepEqual(run(2), errno(1));
    assert.deepEqual(run(461), errno(1));
    assert.deepEqual(run(0x40000000), { kind: 'kill-process' }, 'x32 read gets the foreign-arch action');
    assert.deepEqual(run(0x40000001), { kind: 'kill-process' });
    assert.deepEqual(run(0xfffffffe), { kind: 'kill-process' });
    assert.deepEqual(run(0xffffffff), errno(1), 'the tracer skip number is a plain unknown number');
    assert.deepEqual(run(0x80000000), errno(1));
    assert.deepEqual(run(0, 0x40000003), { kind: 'kill-process' }, 'i386 on an x86_64 filter');
    assert.equal(f.comments.length, f.insns.length);
    assert.ok(validateFilter(f.insns).valid);
    assert.match(f.comments[f.comments.length - 1]!, /errno:EPERM/, 'the default ret comes last');
    const rets = f.insns.filter((i) => i.code === 0x06).map((i) => i.k);
    assert.equal(new Set(rets).size, rets.length, 'one ret per action in a small program');
  });

  it('is deterministic', () => {
    const p = randomPolicy(prng(7));
    assert.deepEqual(encodeFilter(compileFilter([p]).insns, 'little'), encodeFilter(compileFilter([p]).insns, 'little'));
  });

  it('matches the policy on random policies (x86_64, i386, arm, ppc64 big-endian, aarch64)', () => {
    const arches = [ARCHES.x86_64, ARCHES.i386, ARCHES.arm, ARCHES.ppc64, ARCHES.aarch64, ARCHES.ppc];
    for (let seed = 1; seed <= 30; seed++) {
      const rng = prng(seed);
      const arch = arches[seed % arches.length]!;
      const p = randomPolicy(rng, { arch, tableMax: 440 + seed, defaults: [errno(1), { kind: 'kill-process' }, ALLOW, { kind: 'trap' }] });
      const f = compileFilter([p]);
      assert.ok(validateFilter(f.insns).valid);
      assert.equal(f.endian, arch.endian);
      const foreign = arch.name === 'x86_64' ? ARCHES.i386 : ARCHES.x86_64;
      checkAgainstIntent([p], f, probeSet([p], rng, { foreign: [{ arch: foreign, count: 5 }] }));
    }
  });

  it('checks every comparison op at its boundaries, 32- and 64-bit, both byte orders', () => {
    const values = [0n, 1n, 0xfffffffen, 0xffffffffn, 0x100000000n, 0x100000001n, 0xfffffffffffffffen, 0xffffffffffffffffn, 0x123456789n];
    const ops: ArgCondition['op'][] = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'masked-eq'];
    for (const arch of [ARCHES.x86_64, ARCHES.ppc64]) {
      for (const width of [32, 64] as const) {
        for (const op of ops) {
          const rules = values
            .filter((v) => width === 64 || v <= 0xffffffffn)
            .map((value, i) => {
              const c: ArgCondition = { index: i % 6, op, value, width };
              if (op === 'masked-eq') {
                c.mask = width === 32 ? 0xff00ff0fn : 0xff000000ff00ff0fn;
                c.value = value & c.mask;
              }
              return rule(10 + i, ALLOW, [[c]]);
            });
          const p = makePolicy({ arch, rules, defaultAction: errno(1) });
          const f = compileFilter([p]);
          const probes: Probe[] = [];
          for (const r of rules) {
            const c = r.clauses[0]!.conditions[0]!;
            for (const base of values) {
              for (const d of [-1n, 0n, 1n]) {
                const args = [0n, 0n, 0n, 0n, 0n, 0n];
                args[c.index] = BigInt.asUintN(64, base + d);
                probes.push({ arch, nr: r.nr, args });
                probes.push({ arch, nr: r.nr, args: args.map((a) => a ^ 0xabcd000000000000n) });
              }
            }
          }
          checkAgainstIntent([p], f, probes);
        }
      }
    }
  });

  it('ORs AND-lists', () => {
    const c = (index: number, value: bigint): ArgCondition => ({ index, op: 'eq', value, width: 64 });
    const p = makePolicy({ rules: [rule(16, ALLOW, [[c(0, 1n), c(1, 2n)], [c(2, 3n)]])] });
    const f = compileFilter([p]);
    const act = (args: bigint[]) => runFilter(f.insns, { nr: 16, arch: 0xc000003e, args }, 'little').action.kind;
    assert.equal(act([1n, 2n]), 'allow');
    assert.equal(act([1n, 3n]), 'errno');
    assert.equal(act([0n, 0n, 3n]), 'allow');
    assert.equal(act([0n, 0n, 3n | (1n << 32n)]), 'errno');
  });

  it('puts several arches in one program', () => {
    const rng = prng(99);
    const a = randomPolicy(rng, { arch: ARCHES.x86_64, foreign: [errno(22)] });
    const b = randomPolicy(rng, { arch: ARCHES.i386, foreign: [errno(22)] });
    const f = compileFilter([a, b]);
    assert.equal(f.stats.perArch.length, 2);
    checkAgainstIntent([a, b], f, probeSet([a, b], rng, { foreign: [{ arch: ARCHES.aarch64, count: 10 }] }));
  });

  it('refuses inconsistent input', () => {
    const p = makePolicy({ rules: [rule(1)] });
    const bad = (ps: Policy[], re: RegExp) =>
      assert.throws(
        () => compileFilter(ps),
        (e: unknown) => e instanceof InputError && re.test(e.message),
      );
    bad([], /at least one/);
    bad([{ ...p, foreignArchAction: ALLOW }], /must not allow/);
    bad([p, makePolicy({ arch: ARCHES.i386, rules: [], foreignArchAction: errno(1) })], /disagree/);
    bad([makePolicy({ arch: ARCHES.arm, rules: [] }), makePolicy({ arch: ARCHES.ppc, rules: [] })], /byte order/);
    bad([makePolicy({ rules: [rule(500)] })], /outside 0\.\.460/);
    bad([makePolicy({ rules: [rule(5), rule(5)] })], /two rules/);
    bad([makePolicy({ rules: [rule(5, errno(5000))] })], /out of range/);
    bad([makePolicy({ rules: [rule(5, ALLOW, [[{ index: 6, op: 'eq', value: 0n, width: 64 }]])] })], /index 6/);
    bad([makePolicy({ rules: [rule(5, ALLOW, [[{ index: 0, op: 'eq', value: 1n << 40n, width: 32 }]])] })], /32 bits/);
  });

  it('needs trampolines for big programs and stays correct; over 4096 instructions is an InputError', () => {
    const cond = (i: number): ArgCondition[][] => [
      [
        { index: i % 6, op: 'eq', value: BigInt(i) << 20n, width: 64 },
        { index: (i + 1) % 6, op: 'masked-eq', mask: 0xf0n, value: 0x10n, width: 32 },
      ],
    ];
    const big = makePolicy({ rules: Array.from({ length: 300 }, (_, i) => rule(i, i % 3 ? ALLOW : errno(9), cond(i))) });
    const f = compileFilter([big]);
    assert.ok(f.stats.trampolines > 0 && f.insns.length > 1000, `${f.stats.trampolines} trampolines, ${f.insns.length} insns`);
    checkAgainstIntent([big], f, probeSet([big], prng(3), { argVectors: 4 }));
    const huge = makePolicy({ rules: Array.from({ length: 461 }, (_, i) => rule(i, ALLOW, [...cond(i), ...cond(i + 1)])) });
    assert.throws(
      () => compileFilter([huge]),
      (e: unknown) => e instanceof InputError && /filter has \d+ instructions/.test(e.message),
    );
  });

  it('halves very many ranges (past the exact search) and stays correct', () => {
    const rules = Array.from({ length: 800 }, (_, i) => rule(2 * i, i % 3 ? ALLOW : errno(5)));
    const p = makePolicy({ arch: ARCHES.aarch64, rules, tableMax: 1700 });
    const f = compileFilter([p]);
    assert.ok(f.stats.ranges > 1200 && f.insns.length <= 4096, JSON.stringify({ ...f.stats, perArch: undefined }));
    checkAgainstIntent([p], f, probeSet([p], prng(8), { limit: 1700 }));
  });

  it('keeps the worst path at or under ceil(log2(ranges)) + 5', () => {
    const rng = prng(300);
    const nrs = new Set<number>();
    while (nrs.size < 300) nrs.add(Math.floor(rng() * 461));
    const scattered = makePolicy({ rules: [...nrs].map((nr) => rule(nr)) });
    const contiguous = makePolicy({ rules: Array.from({ length: 300 }, (_, i) => rule(i)) });
    for (const p of [scattered, contiguous]) {
      const s = compileFilter([p]).stats;
      assert.ok(s.worstPath <= Math.ceil(Math.log2(s.ranges)) + 5, JSON.stringify(s));
      assert.ok(s.worstPath < 17, 'below libseccomp optimize level 2 (about 17 for 300 calls)');
      const a = auditFilter(compileFilter([p]).insns, ARCHES.x86_64, { tableMax: 460 });
      assert.deepEqual(a.problems, []);
    }
    assert.ok(compileFilter([contiguous]).stats.worstPath <= 8);
  });
});
