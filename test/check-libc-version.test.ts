/**
 * Which glibc a checked binary runs with (issue 11): read from the sysroot's libc.so.6 (its
 * banner, not only its newest symbol version), said plainly when it lies outside the releases
 * the knowledge base covers, and arc4random's build-dependent fallback judged 'depends'.
 * Real Debian cross libcs and cross-compiled programs; "older" libcs are the real libc.so.6
 * with its banner rewritten in place (same length), since Debian 12 ships no glibc < 2.34.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkElf } from '../src/check/analyze.ts';
import { renderReport } from '../src/check/report-text.ts';
import type { CheckReport } from '../src/check/types.ts';
import { glibcBannerRelease, newestGlibcVersion } from '../src/libc/version.ts';
import { readElf } from '../src/elf/index.ts';
import { loadTarget } from '../src/policy/load.ts';
import type { TargetDef } from '../src/policy/types.ts';
import { compileC, removeDir, tempDir } from './helpers/build.ts';
import { cli } from './helpers/cli.ts';
import { requireTool } from './helpers/tools.ts';

const ARM_CC = 'arm-linux-gnueabihf-gcc';
const ARM_PKG = 'gcc-arm-linux-gnueabihf';
const ARM_LIBC = '/usr/arm-linux-gnueabihf/lib/libc.so.6';

/** Replace one byte string by another of the same length, everywhere; fails when absent. */
function patch(bytes: Buffer, from: string, to: string): Buffer {
  assert.equal(from.length, to.length);
  const out = Buffer.from(bytes);
  let n = 0;
  for (let at = out.indexOf(from); at >= 0; at = out.indexOf(from, at + 1)) {
    out.write(to, at, 'latin1');
    n++;
  }
  assert.ok(n > 0, `${from} not found`);
  return out;
}

/** A sysroot whose lib/libc.so.6 is the Debian ARM libc with its banner saying `release`. */
function sysrootWith(dir: string, release: string | null): string {
  const root = join(dir, `sysroot-${release ?? 'real'}`);
  mkdirSync(join(root, 'lib'), { recursive: true });
  const real = readFileSync(ARM_LIBC);
  writeFileSync(join(root, 'lib/libc.so.6'), release ? patch(real, 'release version 2.36.', `release version ${release}.`) : real);
  return root;
}

describe('check: the glibc release a binary runs with', function () {
  this.timeout(60_000);
  let codesafe: TargetDef;
  let dir: string;
  let exe: string;
  const check = (file: string, opts: Parameters<typeof checkElf>[3]): CheckReport =>
    checkElf(new Uint8Array(readFileSync(file)), file, codesafe, { firmware: '13.7', ...opts });

  before(async function () {
    requireTool(this, ARM_CC, ARM_PKG);
    codesafe = await loadTarget('codesafe5');
    dir = tempDir();
    exe = compileC(
      ARM_CC,
      dir,
      'arc4',
      `
#include <stdio.h>
#include <stdlib.h>
int main(void) { printf("%u\\n", arc4random()); return 0; }
`,
      ['-O1'],
    );
  });
  after(() => {
    if (dir) removeDir(dir);
  });

  it("libc.so.6: the banner names the release; the newest GLIBC_ definition agrees for Debian's 2.36", () => {
    for (const p of [ARM_LIBC, '/usr/aarch64-linux-gnu/lib/libc.so.6', '/usr/powerpc64-linux-gnu/lib/libc.so.6']) {
      const bytes = new Uint8Array(readFileSync(p));
      assert.equal(glibcBannerRelease(bytes), '2.36', p);
      assert.equal(newestGlibcVersion(readElf(bytes, p).versionDefs), '2.36', p);
    }
    assert.equal(glibcBannerRelease(new Uint8Array(readFileSync(exe))), undefined, 'a program has no banner');
  });

  it("--sysroot: the version comes from the sysroot's libc.so.6 and is covered", () => {
    const r = check(exe, { sysroot: sysrootWith(dir, null) });
    assert.equal(r.libc.version, '2.36');
    assert.equal(r.libc.versionFrom, 'sysroot');
    assert.equal(r.libc.covered, true);
    assert.equal(r.libc.notice, undefined);
  });

  it('--sysroot: the banner wins over the symbol versions (2.37 and 2.40 define no version of their own)', () => {
    const r = check(exe, { sysroot: sysrootWith(dir, '2.40') });
    assert.equal(r.libc.version, '2.40');
    assert.equal(r.libc.versionFrom, 'sysroot');
    // arc4random's fallback is fixed in 2.40 and broken at the 2.39 tag: the release matters.
    const g = r.syscalls.find((s) => s.name === 'getrandom')!;
    const via = g.via.find((v) => v.kind === 'import' && v.symbol === 'arc4random')!;
    assert.equal(via.verdict, 'falls-back');
  });

  it('--sysroot with a glibc older than the coverage: said in the report (notice, covered: false), not assumed 2.36', async () => {
    const root = sysrootWith(dir, '2.31');
    const r = check(exe, { sysroot: root });
    assert.equal(r.libc.version, '2.31');
    assert.equal(r.libc.covered, false);
    assert.match(r.libc.notice ?? '', /glibc 2\.31 \(.*libc\.so\.6\) is older than the knowledge base covers \(2\.34-2\.42\)/);
    assert.match(renderReport(r), /notice glibc 2\.31 .* is older than the knowledge base covers/);
    // glibc 2.31 has no arc4random: not modelled there, so not counted as a clean fallback.
    assert.ok(r.unknownImports.includes('arc4random'), r.unknownImports.join(' '));
    const out = await cli(['check', '--target', 'codesafe5', '--firmware', '13.7', '--sysroot', root, '--json', exe]);
    const j = JSON.parse(out.stdout) as CheckReport;
    assert.equal(j.libc.covered, false);
    assert.equal(j.libc.version, '2.31');
    assert.match(j.libc.notice ?? '', /older than the knowledge base covers/);
  });

  it('--libc-version outside the coverage (older or newer) is said too', () => {
    const old = check(exe, { libcVersion: '2.30' });
    assert.equal(old.libc.covered, false);
    assert.match(old.libc.notice ?? '', /glibc 2\.30 \(--libc-version\) is older/);
    const newer = check(exe, { libcVersion: '2.50' });
    assert.equal(newer.libc.covered, false);
    assert.match(newer.libc.notice ?? '', /is newer than/);
    assert.equal(check(exe, { libcVersion: '2.38' }).libc.covered, true);
  });

  it('an executable built against glibc < 2.34 (no GLIBC_2.34 reference) gets a notice instead of a silent 2.36', () => {
    const fresh = check(exe, {});
    assert.equal(fresh.libc.covered, true);
    assert.equal(fresh.libc.notice, undefined);
    // Every executable linked against glibc >= 2.34 references __libc_start_main@GLIBC_2.34;
    // rewrite that need to GLIBC_2.17 (same length) to get one built against an older glibc.
    const oldExe = join(dir, 'arc4-old');
    const bytes = readFileSync(exe);
    writeFileSync(oldExe, patch(patch(bytes, 'GLIBC_2.34', 'GLIBC_2.17'), 'GLIBC_2.36', 'GLIBC_2.17'));
    const r = check(oldExe, {});
    assert.equal(r.libc.referenced, '2.17');
    assert.equal(r.libc.versionFrom, 'default');
    assert.equal(r.libc.covered, false);
    assert.match(r.libc.notice ?? '', /built against glibc older than 2\.34 \(newest reference GLIBC_2\.17\).*--sysroot or --libc-version/);
  });

  it('arc4random under an ENOSYS denial: depends at 2.36 and 2.39 (on the build, said in the detail), falls-back at 2.37', () => {
    for (const [v, verdict] of [
      ['2.36', 'depends'],
      ['2.39', 'depends'],
      ['2.37', 'falls-back'],
    ] as const) {
      const r = check(exe, { libcVersion: v });
      const g = r.syscalls.find((s) => s.name === 'getrandom')!;
      assert.equal(g.action, 'errno:ENOSYS');
      const via = g.via.find((x) => x.kind === 'import' && x.symbol === 'arc4random')!;
      assert.equal(via.verdict, verdict, `${v}: ${JSON.stringify(via)}`);
      if (verdict === 'depends') assert.match(g.outcome + JSON.stringify(g.via), /depends on the build/);
    }
  });
});
