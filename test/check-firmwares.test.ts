/**
 * `check --firmware all | A..B`: which firmware does the app need? The verdict at every known
 * firmware of the span, side by side, and the oldest one the binary survives on.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { firmwaresIn } from '../src/check/firmwares.ts';
import { loadTarget } from '../src/policy/load.ts';
import { cli, ROOT } from './helpers/cli.ts';

const EX = join(ROOT, 'examples/bin');

describe('check across firmwares', () => {
  it('takes all, A..B, A.. and ..B over the firmwares the target knows', async () => {
    const t = await loadTarget('codesafe5');
    assert.deepEqual(firmwaresIn(t, 'all'), ['13.4.0', '13.5.0', '13.7.0']);
    assert.deepEqual(firmwaresIn(t, '13.5..'), ['13.5.0', '13.7.0']);
    assert.deepEqual(firmwaresIn(t, '..13.5'), ['13.4.0', '13.5.0']);
    assert.deepEqual(firmwaresIn(t, '13.5..13.7'), ['13.5.0', '13.7.0']);
    // 13.6 behaves as 13.5 (nothing changes between known versions); 13.9 as 13.7.
    assert.deepEqual(firmwaresIn(t, '13.6..13.7'), ['13.5.0', '13.7.0']);
    assert.deepEqual(firmwaresIn(t, '13.9..'), ['13.7.0']);
    assert.deepEqual(firmwaresIn(t, '13.6..13.6'), ['13.5.0']);
    assert.throws(() => firmwaresIn(t, '13.7..13.5'), /13\.7 is after 13\.5/);
    assert.throws(() => firmwaresIn(t, '13.3..'), /older than codesafe5's first known firmware 13\.4/);
    assert.throws(() => firmwaresIn(t, '13.4..13.5..13.7'), /bad firmware span/);
    assert.throws(() => firmwaresIn(t, 'x..13.7'), /firmware/);
    const enclave = await loadTarget('enclave-x86_64');
    assert.throws(() => firmwaresIn(enclave, 'all'), /has no firmware versions/);
  });

  it('says which firmware an app needs and why the older ones fail', async () => {
    const r = await cli(['check', join(EX, 'sensor-log.arm'), '--target', 'codesafe5', '--firmware', 'all']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /sensor-log\.arm: codesafe5: needs 13\.7: on 13\.5 it is killed at start-up by (rseq|set_robust_list)\n/);
    assert.match(r.stdout, /\n {2}13\.4 {2}FAIL .*\n {2}13\.5 {2}FAIL .*\n {2}13\.7 {2}PASS /);
    // The span from 13.7 on passes.
    const later = await cli(['check', join(EX, 'sensor-log.arm'), '--target', 'codesafe5', '--firmware', '13.7..']);
    assert.equal(later.code, 0, later.stdout + later.stderr);
    assert.match(later.stdout, /passes on every firmware of the span \(13\.7 and later\)/);
  });

  it('a pass with depends findings names them (what --strict fails on)', async () => {
    const r = await cli(['check', join(EX, 'keygen.arm'), '--target', 'codesafe5', '--firmware', 'all']);
    assert.equal(r.code, 1); // killed before 13.7
    assert.match(r.stdout, /keygen\.arm: codesafe5: needs 13\.7: on 13\.5 it is killed/);
    assert.match(r.stdout, /\n {2}13\.7 {2}PASS {2}0 fatal, 1 warning: getrandom \(depends, via getentropy\)\n/);
  });

  it('says when no firmware of the span is enough', async () => {
    const r = await cli(['check', join(EX, 'keygen.arm'), '--target', 'codesafe5', '--firmware', '13.4..13.5']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /keygen\.arm: codesafe5: fails on every firmware of the span: on 13\.5 it is killed/);
  });

  it('carries the same in JSON and SARIF', async () => {
    const j = await cli(['check', join(EX, 'sensor-log.arm'), '--target', 'codesafe5', '--firmware', 'all', '--json']);
    const doc = JSON.parse(j.stdout) as {
      needs: string;
      verdicts: { firmware: string; pass: boolean; because: string[] }[];
      reports: { firmware: string; report: { firmware: string; fatal: boolean } }[];
    };
    assert.equal(doc.needs, '13.7');
    assert.deepEqual(
      doc.verdicts.map((v) => [v.firmware, v.pass]),
      [
        ['13.4', false],
        ['13.5', false],
        ['13.7', true],
      ],
    );
    assert.ok(
      doc.verdicts[1]!.because.some((b) => /^rseq \(killed, at start-up\)$/.test(b)),
      doc.verdicts[1]!.because.join('; '),
    );
    assert.deepEqual(
      doc.reports.map((x) => [x.firmware, x.report.fatal]),
      [
        ['13.4', true],
        ['13.5', true],
        ['13.7', false],
      ],
    );
    const s = await cli(['check', join(EX, 'sensor-log.arm'), '--target', 'codesafe5', '--firmware', '13.5..13.7', '--format', 'sarif']);
    const sarif = JSON.parse(s.stdout) as { runs: { automationDetails: { id: string }; results: unknown[] }[] };
    assert.deepEqual(
      sarif.runs.map((x) => x.automationDetails.id),
      ['sysgate/check/13.5.0/', 'sysgate/check/13.7.0/'],
    );
    assert.ok(sarif.runs[0]!.results.length > 0);
  });

  it('refuses a bad span with one line and exit 2', async () => {
    const r = await cli(['check', join(EX, 'sensor-log.arm'), '--target', 'codesafe5', '--firmware', '13.8..13.6']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^sysgate: bad firmware span '13\.8\.\.13\.6': 13\.8 is after 13\.6\n$/);
  });
});
