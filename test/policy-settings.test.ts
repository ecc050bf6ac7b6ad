/**
 * One resolution: check (one thread or workers) judges by the PolicySet it is handed and never
 * resolves the target again; one lookup (policy/call.ts) answers every reader the same way.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkElf } from '../src/check/analyze.ts';
import { isCheckError, type CheckReport } from '../src/check/types.ts';
import { checkPaths } from '../src/check/walk.ts';
import { callOutcome, evaluatePolicy, ruleNamed } from '../src/policy/call.ts';
import { loadTarget, shippedTargetIds } from '../src/policy/load.ts';
import { resolvableArches } from '../src/policy/resolve.ts';
import { policyFor, resolvePolicySet, resolveSettings, type PolicySet } from '../src/policy/settings.ts';
import type { TargetDef } from '../src/policy/types.ts';
import { ROOT } from './helpers/paths.ts';

const KEYGEN = join(ROOT, 'examples/bin/keygen.arm');

describe('policy settings: resolved once, read by check and its workers', () => {
  let codesafe: TargetDef;
  let dir: string;
  before(async () => {
    codesafe = await loadTarget('codesafe5');
    dir = mkdtempSync(join(tmpdir(), 'sysgate-settings-'));
    mkdirSync(join(dir, 'bin'));
    // 12 files: enough for two workers (walk.ts: at least 6 files per worker).
    for (let i = 0; i < 12; i++) copyFileSync(KEYGEN, join(dir, 'bin', `app${i}`));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * The real set with the arm policy changed: nothing allowed, the default kills. A check (or a
   * worker) that resolved codesafe5 again would report the real verdicts, mostly allowed.
   */
  function doctored(): PolicySet {
    const real = resolvePolicySet(codesafe, '13.7');
    const arm = policyFor(real, 'arm')!;
    const changed = { ...arm, rules: [], defaultAction: { kind: 'kill-process' as const } };
    return { ...real, policies: real.policies.map((p) => (p === arm ? changed : p)) };
  }

  // A death is named by how (killed): the word this policy's default says.
  const verdicts = (r: CheckReport) => new Set(r.syscalls.map((f) => f.how ?? f.verdict));

  for (const jobs of [1, 2]) {
    it(`checkPaths with ${jobs} ${jobs === 1 ? 'thread' : 'workers'} judges by the set it is given (a re-resolved target would allow calls)`, async () => {
      const set = doctored();
      const results = await checkPaths([join(dir, 'bin')], set, { jobs });
      assert.equal(results.length, 12);
      for (const r of results) {
        assert.ok(!isCheckError(r), JSON.stringify(r));
        assert.deepEqual([...verdicts(r)], ['killed'], r.file);
        assert.equal(r.defaultAction, 'kill-process');
      }
      const real = await checkPaths([join(dir, 'bin')], codesafe, { jobs, firmware: '13.7' });
      assert.ok(
        real.every((r) => !isCheckError(r) && verdicts(r).has('allowed')),
        'the real policy allows some calls',
      );
    });
  }

  it('a deny reason and fix on the Policy reach the finding', () => {
    const real = resolvePolicySet(codesafe, '13.7');
    const first = checkElf(new Uint8Array(readFileSync(KEYGEN)), 'keygen', real).syscalls[0]!.name;
    const arm = policyFor(real, 'arm')!;
    const changed = {
      ...arm,
      rules: arm.rules.filter((r) => r.name !== first),
      defaultAction: { kind: 'kill-process' as const },
      denied: [{ name: first, reason: 'doctored: the set says so', fix: 'doctored fix' }],
    };
    const set = { ...real, policies: real.policies.map((p) => (p === arm ? changed : p)) };
    const f = checkElf(new Uint8Array(readFileSync(KEYGEN)), 'keygen', set).syscalls.find((x) => x.name === first)!;
    assert.deepEqual([f.verdict, f.how], ['dies', 'killed']);
    assert.equal(f.reason, 'doctored: the set says so');
    assert.equal(f.fix, 'doctored fix');
  });

  it('the set holds every arch the target resolves for (x86_64 always), and refuses the others as check did', () => {
    const set = resolvePolicySet(codesafe, '13.7');
    assert.deepEqual(
      set.policies.map((p) => p.arch.name),
      resolvableArches(codesafe),
    );
    assert.ok(set.policies.some((p) => p.arch.name === 'x86_64'));
    assert.ok(set.policies.every((p) => p.firmware === set.firmware));
    const enclave = { ...set, target: { id: 'enclave-x86_64', arches: ['x86_64' as const] }, policies: set.policies.filter((p) => p.arch.name === 'x86_64') };
    assert.throws(
      () => checkElf(new Uint8Array(readFileSync(KEYGEN)), 'keygen', enclave),
      /keygen: arm binary, but target enclave-x86_64 is defined for x86_64 only/,
    );
  });
});

describe('policy call lookup: one answer for every reader', () => {
  it('callOutcome agrees with evaluatePolicy wherever the arguments do not matter, on every shipped target and arch', async () => {
    for (const id of shippedTargetIds()) {
      const t = await loadTarget(id);
      for (const p of resolveSettings(t, { arches: 'all' }).filters.flatMap((f) => f.policies)) {
        for (let nr = 0; nr <= p.tableMax + 1; nr++) {
          const o = callOutcome(p, nr);
          if (o.always) assert.deepEqual(evaluatePolicy(p, nr), o.always, `${id} ${p.arch.name} ${nr}`);
          else assert.ok(o.conditional && o.rule, `${id} ${p.arch.name} ${nr}: no fixed action but no conditions`);
          if (!o.rule) assert.deepEqual(o.action, p.defaultAction);
        }
        for (const r of p.rules) assert.equal(ruleNamed(p, r.name), r, `${id} ${p.arch.name} ${r.name}`);
      }
    }
  });
});
