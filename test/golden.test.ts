/**
 * Golden files: every output sysgate makes, compared byte for byte with the reviewed copies under
 * test/golden/. A change of any output fails here until `npm run golden` (UPDATE_GOLDEN=1)
 * rewrites the files and the diff is reviewed.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { examplesSet, generateSet, GOLDEN_DIR, policySet, readGoldenTree, shimSet, verdictSet, verdictToolchains, type Golden } from './helpers/golden.ts';
import { requireTool } from './helpers/tools.ts';

const UPDATE = process.env.UPDATE_GOLDEN === '1';

function compare(made: Golden, subs: string[], only?: (path: string) => boolean): void {
  const stored: Golden = new Map();
  for (const sub of subs) for (const [k, v] of readGoldenTree(sub)) if (!only || only(k)) stored.set(k, v);
  if (UPDATE) {
    for (const k of stored.keys()) if (!made.has(k)) rmSync(join(GOLDEN_DIR, k));
    for (const [k, v] of made) {
      mkdirSync(dirname(join(GOLDEN_DIR, k)), { recursive: true });
      writeFileSync(join(GOLDEN_DIR, k), v);
    }
    return;
  }
  const missing = [...made.keys()].filter((k) => !stored.has(k));
  const extra = [...stored.keys()].filter((k) => !made.has(k));
  const changed = [...made.keys()].filter((k) => stored.has(k) && !stored.get(k)!.equals(made.get(k)!));
  const problems = [
    ...missing.map((k) => `new output, no golden file: ${k}`),
    ...extra.map((k) => `golden file no longer made: ${k}`),
    ...changed.map((k) => `changed: ${k}`),
  ];
  if (changed.length) {
    // Show the first difference of the first text file, so the failure says what moved.
    const k = changed[0]!;
    const a = stored.get(k)!.toString('utf8').split('\n');
    const b = made.get(k)!.toString('utf8').split('\n');
    const i = a.findIndex((line, n) => line !== b[n]);
    problems.push(`first difference in ${k} at line ${i + 1}:\n  golden: ${a[i]}\n  now:    ${b[i]}`);
  }
  assert.equal(problems.length, 0, `${problems.join('\n')}\n(run \`npm run golden\` and review the diff if the change is meant)`);
}

describe('golden files (test/golden, refreshed only by `npm run golden`)', function () {
  this.timeout(600_000);

  it('generate: every format for every shipped target, firmware and arch', async () => {
    compare(await generateSet(), ['generate']);
  });

  it('shim: C source and flags for every shipped target, firmware and arch; --sigsys where a denial traps', async () => {
    compare(await shimSet(), ['shim']);
  });

  it('syscalls, explain and compat JSON for every target, firmware and arch', async () => {
    compare(await policySet(), ['syscalls', 'explain', 'compat']);
  });

  it('check on the bundled examples: JSON, text and SARIF', async () => {
    compare(await examplesSet(), ['check']);
  });

  it('check verdicts on the fixtures, per arch, as row tables', async function () {
    const { present, missing } = verdictToolchains();
    for (const tc of missing) requireTool(this, tc.cc, tc.pkg);
    if (process.env.CI || UPDATE) requireTool(this, 'musl-gcc', 'musl-tools');
    const archs = new Set(present.map((tc) => `verdicts/${tc.arch}.tests`));
    compare(await verdictSet(present), ['verdicts'], (k) => archs.has(k));
  });
});
