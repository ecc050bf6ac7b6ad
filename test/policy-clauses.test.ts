/**
 * Several entries for one call, each with its own action (issue 9, first fail-open defect).
 * The reference meaning is src/policy/evaluate.ts: among the clauses that match, the most
 * severe action wins; none -> the default. Checked here on seeded random policies with
 * repeated names against the emulator, this machine's kernel and libseccomp's build of the
 * libseccomp C emitter's output, with arguments on every condition's boundaries.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileFilter, decodeFilter, runFilter } from '../src/bpf/index.ts';
import { libseccompEmitter } from '../src/emit/libseccomp.ts';
import { ociEmitter } from '../src/emit/oci.ts';
import { engineRows } from '../src/emit/by-name.ts';
import { formatAction } from '../src/policy/action.ts';
import { actionPrecedence, clausesBySeverity, conditionHolds, ruleAction, unconditionalAction } from '../src/policy/evaluate.ts';
import { evaluatePolicy } from '../src/policy/call.ts';
import { loadTarget } from '../src/policy/load.ts';
import { resolvePolicy } from '../src/policy/resolve.ts';
import type { Action, ArgCondition, Clause, Policy, Rule, TargetDef } from '../src/policy/types.ts';
import { InputError } from '../src/errors.ts';
import { syscallNumber, syscallsOn } from '../src/syscalls/table.ts';
import {
  ALLOW,
  clauseRule,
  errno,
  interestingValue,
  kernelVerdicts,
  makePolicy,
  observed,
  pick,
  prng,
  requireKernelHarness,
  TMP,
  type Probe,
  type Rng,
} from './helpers/bpf.ts';
import { cli } from './helpers/cli.ts';
import { ROOT } from './helpers/paths.ts';
import { requireTool } from './helpers/tools.ts';

const FIX = join(ROOT, 'test/fixtures/targets');
const M64 = 0xffffffffffffffffn;
const show = (a: Action) => formatAction(a);

// ---------------------------------------------------------------------------------------------
// Random policies whose rules have several clauses with different actions

const ACTIONS: Action[] = [
  ALLOW,
  ALLOW,
  ALLOW,
  { kind: 'log' },
  errno(1),
  errno(13),
  errno(38),
  errno(4095),
  { kind: 'trap' },
  { kind: 'kill-thread' },
  { kind: 'trace', data: 7 },
  { kind: 'trace', data: 3 },
  { kind: 'user-notif' },
];

/**
 * A condition on one of few arguments (so clauses overlap), often 32-bit, values past 2^53.
 * `engine`: conditions a libseccomp-based format states in a few rows (its comparisons are
 * 64-bit: a 32-bit order comparison, or NOT of a wide mask, costs a row per bit), so that
 * most random rules are expressible there.
 */
function condition(rng: Rng, engine = false): ArgCondition {
  const width = rng() < 0.3 ? 32 : 64;
  const op = engine ? pick(rng, ['eq', 'masked-eq'] as const) : pick(rng, ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'masked-eq'] as const);
  const value = pick(rng, [interestingValue(rng, width), (1n << 53n) + 1n, M64, 9n, 15n]) & (width === 32 ? 0xffffffffn : M64);
  // Few arguments: clauses overlap often. For an engine, all six: fewer comparisons share an
  // argument (two on one argument become bit blocks, a row each).
  const c: ArgCondition = { index: Math.floor(rng() * (engine ? 6 : 3)), op, value, width };
  if (op === 'masked-eq') {
    const few = [0xf0n, 1n << 60n, (1n << 63n) | 1n, 0x80000000n, 1n << BigInt(Math.floor(rng() * 64))];
    c.mask = pick(rng, engine ? few : [interestingValue(rng, width), 0xffff0000ffffn, ...few]) & (width === 32 ? 0xffffffffn : M64);
    if (rng() < 0.85) c.value &= c.mask;
  }
  return c;
}

function clauses(rng: Rng, killProcess: { left: number }, engine: boolean): Clause[] {
  // For an engine: 2-3 clauses of at most one condition. libseccomp 2.5.4's tree build grows
  // exponentially with rows that share ne/lt comparisons for one call (9 such rows: > 15 s).
  const n = 2 + Math.floor(rng() * (engine ? 2 : 3));
  return Array.from({ length: n }, () => {
    // libseccomp 2.5.4 refuses SCMP_ACT_ERRNO(4095) (EINVAL): the engine tests use 4094.
    let action = pick(rng, ACTIONS);
    if (engine && action.kind === 'errno' && action.errno === 4095) action = errno(4094);
    if (rng() < 0.03 && killProcess.left > 0) {
      killProcess.left--;
      action = { kind: 'kill-process' };
    }
    const k = rng() < 0.15 ? 0 : engine ? 1 : 1 + Math.floor(rng() * 2);
    return { action, conditions: Array.from({ length: k }, () => condition(rng, engine)) };
  });
}

/** x86_64 names libseccomp 2.5.4 knows (below 435), without 335/336 (they bypass seccomp). */
const NAMES = syscallsOn('x86_64').filter((s) => s.nr < 435 && s.nr !== 335 && s.nr !== 336);

function randomClausePolicy(rng: Rng, count: number, engine = false): Policy {
  const picked = new Map<number, string>();
  while (picked.size < count) {
    const s = pick(rng, NAMES);
    picked.set(s.nr, s.name);
  }
  const kp = { left: 2 };
  const rules: Rule[] = [...picked].map(([nr, name]) => clauseRule(nr, clauses(rng, kp, engine), name));
  return { ...makePolicy({ rules, defaultAction: pick(rng, [errno(1), errno(38), { kind: 'trap' }, { kind: 'kill-thread' }]) }), tableMax: 460 };
}

/** Values on and next to a condition's edges (for masked-eq: the value, and one mask bit flipped). */
function edges(c: ArgCondition, rng: Rng): bigint[] {
  const v = c.value;
  const out = [v, v + 1n, v - 1n, 0n, M64];
  if (c.op === 'masked-eq') {
    const m = c.mask ?? 0n;
    out.push(v | (~m & M64 & (BigInt(Math.floor(rng() * 2 ** 32)) << 16n)));
    for (let b = 0n; b < 64n; b++)
      if (m & (1n << b)) {
        out.push(v ^ (1n << b));
        break;
      }
  }
  if (c.width === 32) out.push(...out.map((x) => (x & 0xffffffffn) | (BigInt(Math.floor(rng() * 2 ** 32)) << 32n)));
  return out.map((x) => BigInt.asUintN(64, x));
}

/** Probes for every rule: edges of each condition, alone and combined with another clause's. */
function probes(p: Policy, rng: Rng): Probe[] {
  const out: Probe[] = [];
  const arch = p.arch;
  for (const r of p.rules) {
    const conds = r.clauses.flatMap((c) => c.conditions);
    out.push({ arch, nr: r.nr, args: [] });
    for (const c of conds) {
      for (const v of edges(c, rng)) {
        const args = [0n, 0n, 0n, 0n, 0n, 0n];
        args[c.index] = v;
        out.push({ arch, nr: r.nr, args });
        // The same edge with another condition's edge on its argument: where clauses overlap.
        const d = pick(rng, conds);
        if (d.index !== c.index) {
          const both = [...args];
          both[d.index] = pick(rng, edges(d, rng));
          out.push({ arch, nr: r.nr, args: both });
        }
      }
    }
  }
  return out;
}

const SEEDS = [901, 902, 903, 904];

/**
 * The policy without the rules the libseccomp-based formats refuse (their disjoint form would
 * need more than 32 rows: NOT of a masked-eq is a row per mask bit, so NOT of a 32-bit eq is
 * 32 rows), or need range comparisons between rows of different actions, which libseccomp
 * 2.5.4 builds wrongly (engineRows). A refusal must be a
 * clear InputError naming the call: never weaker output.
 */
function expressible(p: Policy): { policy: Policy; refused: number } {
  let refused = 0;
  const rules = p.rules.filter((r) => {
    try {
      engineRows({ name: r.name, clauses: clausesBySeverity(r) }, 'libseccomp', p.defaultAction);
      return true;
    } catch (e) {
      assert.ok(e instanceof InputError && e.message.startsWith(`'${r.name}' in the libseccomp format: `), String(e));
      refused++;
      return false;
    }
  });
  return { policy: { ...p, rules }, refused };
}

describe('policy: several entries for one call', () => {
  it('the most severe matching clause wins; none -> default; order: kernel precedence', () => {
    const c = (index: number, value: bigint): ArgCondition => ({ index, op: 'eq', value, width: 64 });
    const p = makePolicy({
      rules: [
        clauseRule(
          62,
          [
            { action: ALLOW, conditions: [c(1, 0n)] },
            { action: errno(1), conditions: [c(1, 9n)] },
            { action: ALLOW, conditions: [c(0, 1n)] },
            { action: errno(38), conditions: [c(0, 1n), c(1, 9n)] },
          ],
          'kill',
        ),
      ],
      defaultAction: { kind: 'kill-process' },
    });
    const act = (args: bigint[]) => show(evaluatePolicy(p, 62, args));
    assert.equal(act([5n, 0n]), 'allow');
    assert.equal(act([5n, 9n]), 'errno:EPERM');
    assert.equal(act([1n, 9n]), 'errno:EPERM', 'EPERM (1) outranks ENOSYS (38): the smaller errno, as the kernel orders them');
    assert.equal(act([1n, 7n]), 'allow');
    assert.equal(act([5n, 7n]), 'kill-process');
    const order: Action[] = [
      { kind: 'kill-process' },
      { kind: 'kill-thread' },
      { kind: 'trap' },
      errno(1),
      errno(38),
      { kind: 'user-notif' },
      { kind: 'trace', data: 0 },
      { kind: 'log' },
      ALLOW,
    ];
    for (let i = 1; i < order.length; i++) assert.ok(actionPrecedence(order[i - 1]!) < actionPrecedence(order[i]!), show(order[i]!));
    // An unconditional clause decides alone only when nothing more severe is conditional.
    assert.equal(
      unconditionalAction(
        clauseRule(1, [
          { action: ALLOW, conditions: [] },
          { action: errno(1), conditions: [c(0, 1n)] },
        ]),
      ),
      undefined,
    );
    assert.equal(
      show(
        unconditionalAction(
          clauseRule(1, [
            { action: errno(1), conditions: [] },
            { action: ALLOW, conditions: [c(0, 1n)] },
          ]),
        )!,
      ),
      'errno:EPERM',
    );
  });

  it('kill listed twice (allow arg1 == 0, errno:EPERM arg1 == 9): the filter denies kill(1, 9), and the loader says where entries overlap', async () => {
    const t = await loadTarget(join(FIX, 'kill-twice.json'));
    const p = resolvePolicy(t);
    const f = compileFilter([p]);
    const run = (nr: number, args: bigint[]) => show(runFilter(f.insns, { nr, arch: p.arch.auditArch, args }, 'little').action);
    assert.equal(run(62, [1n, 9n]), 'errno:EPERM');
    assert.equal(run(62, [1n, 0n]), 'allow');
    assert.equal(run(62, [1n, 15n]), 'kill-process');
    assert.equal(run(234, [1n, 2n, 9n]), 'errno:EPERM');
    assert.equal(run(234, [1n, 2n, 15n]), 'allow');
    // kill's entries cannot both match (arg1 is 0 or 9): no note; tgkill's can (9 <= 15).
    assert.deepEqual(
      t.notes?.map((n) => `${n.pointer} ${n.message}`),
      ["/syscalls/3 note: 'tgkill' here (errno:EPERM) and at /syscalls/2 (allow) both match some arguments; there the more severe errno:EPERM applies"],
    );
    const r = await cli(['syscalls', '--target', join(FIX, 'kill-twice.json')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, `${join(FIX, 'kill-twice.json')}#${t.notes![0]!.pointer}: ${t.notes![0]!.message}\n`);
    assert.match(r.stdout, /kill .*if arg1 == 0: allow; if arg1 == 9: errno:EPERM/);
  });

  it('random policies with repeated names: the emulator equals evaluate.ts on every probe', () => {
    let total = 0;
    for (const seed of SEEDS) {
      const rng = prng(seed);
      const p = randomClausePolicy(rng, 60);
      const f = compileFilter([p]);
      for (const pr of probes(p, rng)) {
        total++;
        const got = show(runFilter(f.insns, { nr: pr.nr, arch: pr.arch.auditArch, args: pr.args }, 'little').action);
        const want = show(evaluatePolicy(p, pr.nr, pr.args));
        if (got !== want) assert.fail(`seed ${seed} nr ${pr.nr} args [${pr.args.map((a) => a.toString(16))}]: program ${got}, policy ${want}`);
      }
    }
    assert.ok(total > 4000, `${total} probes`);
  });

  it('disjoint rows (libseccomp, OCI): rows of different actions never overlap, and together they mean what evaluate.ts says', () => {
    let total = 0;
    for (const seed of [...SEEDS, 905, 906, 907, 908]) {
      const rng = prng(seed + 50);
      const { policy: p, refused } = expressible(randomClausePolicy(rng, 60, true));
      assert.ok(refused < 40, `seed ${seed}: ${refused} of 60 refused`);
      for (const pr of probes(p, rng)) {
        const r = p.rules.find((x) => x.nr === pr.nr)!;
        const rows = engineRows({ name: r.name, clauses: clausesBySeverity(r) }, 'test', p.defaultAction);
        const holds = (row: (typeof rows)[number]) => row.args.every((a) => conditionHolds({ ...a, width: 64 }, pr.args));
        const matched = [...new Set(rows.filter(holds).map((row) => show(row.action)))];
        assert.ok(matched.length <= 1, `seed ${seed} ${r.name}: rows of ${matched.join(' and ')} overlap`);
        assert.ok(
          rows.every((row) => new Set(row.args.map((a) => a.index)).size === row.args.length),
          'one comparison per argument',
        );
        const want = ruleAction(r, pr.args) ?? p.defaultAction;
        assert.equal(matched[0] ?? show(p.defaultAction), show(want), `seed ${seed} ${r.name} args [${pr.args.map((a) => a.toString(16))}]`);
        total++;
      }
    }
    assert.ok(total > 4000, `${total} probes`);
  });
});

describe('policy: several entries for one call, in the kernel', function () {
  before(function () {
    requireKernelHarness(this);
  });

  it("random policies with repeated names: this machine's kernel equals evaluate.ts", () => {
    let total = 0;
    for (const seed of SEEDS) {
      const rng = prng(seed);
      const p = randomClausePolicy(rng, 60);
      const f = compileFilter([p]);
      const list = probes(p, rng);
      const got = kernelVerdicts(f.insns, list);
      list.forEach((pr, i) => {
        const want = observed(evaluatePolicy(p, pr.nr, pr.args));
        if (got[i] !== want) assert.fail(`seed ${seed} nr ${pr.nr} args [${pr.args.map((a) => a.toString(16))}]: kernel ${got[i]}, policy ${want}`);
      });
      total += list.length;
    }
    assert.ok(total > 4000, `${total} probes`);
  });
});

describe('policy: several entries for one call, built by libseccomp', function () {
  before(function () {
    requireTool(this, 'gcc', 'gcc');
    if (!existsSync('/usr/include/seccomp.h')) {
      if (process.env.CI) throw new Error('seccomp.h missing: apt-get install libseccomp-dev');
      this.skip();
    }
  });

  it("random policies with repeated names: libseccomp's filter from the emitted C equals evaluate.ts", function () {
    this.timeout(60_000);
    let total = 0;
    for (const seed of [...SEEDS, 905, 906, 907, 908]) {
      const rng = prng(seed);
      const { policy: p, refused } = expressible(randomClausePolicy(rng, 60, true));
      assert.ok(refused < 40, `seed ${seed}: ${refused} of 60 refused`);
      const target = { id: 'random' } as TargetDef;
      const [file] = libseccompEmitter.emit({ target, policies: [p], filter: compileFilter([p]), baseName: `clauses-${seed}`, cName: 'sg', version: 'test' });
      const src = join(TMP, `clauses-${seed}.c`);
      const exe = join(TMP, `clauses-${seed}`);
      writeFileSync(src, file!.content);
      const cc = spawnSync('gcc', ['-O1', '-DSYSGATE_EXPORT_MAIN', '-o', exe, src, '-lseccomp'], { encoding: 'utf8' });
      assert.equal(cc.status, 0, cc.stderr);
      const run = spawnSync(exe, [], { maxBuffer: 1 << 24, timeout: 20_000 });
      assert.equal(run.status, 0, `${run.signal ?? ''} ${run.stderr.toString()}`);
      assert.equal(run.stderr.toString(), '', 'every name resolved');
      const theirs = decodeFilter(new Uint8Array(run.stdout), 'little');
      for (const pr of probes(p, rng)) {
        const got = show(runFilter(theirs, { nr: pr.nr, arch: pr.arch.auditArch, args: pr.args }, 'little').action);
        const want = show(evaluatePolicy(p, pr.nr, pr.args));
        if (got !== want) assert.fail(`seed ${seed} nr ${pr.nr} args [${pr.args.map((a) => a.toString(16))}]: libseccomp ${got}, policy ${want}`);
        total++;
      }
    }
    assert.ok(total > 4000, `${total} probes`);
  });
});

describe('emitters: argument values past 2^53', () => {
  const big = [(1n << 53n) + 1n, M64, 0xfedcba9876543211n];
  const p = makePolicy({
    rules: [
      clauseRule(62, [{ action: ALLOW, conditions: [{ index: 1, op: 'eq', value: big[0]!, width: 64 }] }], 'kill'),
      clauseRule(0, [{ action: ALLOW, conditions: [{ index: 0, op: 'masked-eq', mask: big[1]!, value: big[2]!, width: 64 }] }], 'read'),
    ],
  });
  const input = { target: { id: 'big' } as TargetDef, policies: [p], filter: compileFilter([p]), baseName: 'big', cName: 'sg', version: 'test' };

  it('OCI writes them as exact JSON integers (uint64), no crash', () => {
    const text = ociEmitter.emit(input)[0]!.content as string;
    assert.match(text, /"value": 9007199254740993,/);
    assert.match(text, /"value": 18446744073709551615,/);
    assert.ok(text.includes(`"valueTwo": ${0xfedcba9876543211n},`), 'masked-eq datum');
    // Exact: read back with digits kept (JSON.parse would round).
    const digits = [...text.matchAll(/"value(?:Two)?": (\d+)/g)].map((m) => BigInt(m[1]!));
    assert.deepEqual(digits.sort(), [...big].sort());
  });

  it('libseccomp C writes them exactly', () => {
    const text = libseccompEmitter.emit(input)[0]!.content as string;
    assert.match(text, /UINT64_C\(0x20000000000001\)/);
    assert.match(text, /UINT64_C\(0xffffffffffffffff\), UINT64_C\(0xfedcba9876543211\)/);
  });
});

describe('repeated entries through twins and stand-ins', () => {
  it('a twin carries every entry of its name; a stand-in that cannot carry the conditions is not added at all', async () => {
    const t = await loadTarget(join(ROOT, 'test/fixtures/targets/twice-translated.json'));
    // ARM: fcntl is translated to fcntl64 too, with both clauses: F_SETLK (6) is EPERM there as well.
    const arm = resolvePolicy(t, { arch: 'arm' });
    const fcntl64 = syscallNumber('arm', 'fcntl64')!;
    assert.deepEqual(evaluatePolicy(arm, fcntl64, [3n, 6n]), { kind: 'errno', errno: 1 });
    assert.deepEqual(evaluatePolicy(arm, fcntl64, [3n, 1n]), { kind: 'allow' });
    // aarch64 has no open: openat stands in for it only positionally, which O_CREAT's EACCES cannot
    // be (open's flags are openat's third argument), so openat is not allowed at all (fail closed).
    const a64 = resolvePolicy(t, { arch: 'aarch64' });
    assert.deepEqual(evaluatePolicy(a64, syscallNumber('aarch64', 'openat')!, [0n, 0n, 0n]), { kind: 'errno', errno: 38 });
    assert.deepEqual(a64.absent.find((x) => x.name === 'open')?.replacedBy, []);
    // ppc64 is the names' own ABI: literal.
    const p64 = resolvePolicy(t, { arch: 'ppc64' });
    assert.deepEqual(evaluatePolicy(p64, syscallNumber('ppc64', 'open')!, [0n, 64n]), { kind: 'errno', errno: 13 });
    assert.ok(!p64.rules.some((r) => r.name === 'fcntl64'));
  });
});
