/**
 * Fail-closed defaults and located errors (issue 9): a default or foreign-arch action of `log`
 * is an allow-everything filter; bad values deep in a target, a parent that does not exist and
 * unknown root keys name the file and JSON pointer; "did you mean" stays fast and messages stay
 * short on huge names; argument values past 2^53 come out exact in every format.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suggest } from '../src/util/suggest.ts';
import { removeDir, tempDir } from './helpers/build.ts';
import { cli } from './helpers/cli.ts';

describe('targets: fail-closed actions and located errors', () => {
  let dir: string;
  before(() => (dir = tempDir()));
  after(() => removeDir(dir));
  const write = (name: string, t: object): string => {
    const f = join(dir, name);
    writeFileSync(f, JSON.stringify(t));
    return f;
  };
  const base = { id: 'x', title: 'x', arches: ['x86_64'], syscalls: [{ name: 'read' }] };
  /** Exit 2, and exactly these `FILE#POINTER: message` lines (a count line follows when there are several). */
  async function refused(f: string, lines: RegExp[]): Promise<void> {
    const out = join(dir, 'out');
    const r = await cli(['generate', '--target', f, '--out', out]);
    assert.equal(r.code, 2, r.stderr);
    const got = r.stderr.trimEnd().split('\n');
    assert.equal(got.length, lines.length > 1 ? lines.length + 1 : 1, r.stderr);
    if (lines.length > 1) assert.match(got.at(-1)!, new RegExp(`^sysgate: ${lines.length} problems in .*; nothing written$`));
    lines.forEach((re, i) => assert.match(got[i]!, re));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(existsSync(out), false, 'nothing written');
  }
  const at = (f: string, pointer: string, msg: string) => new RegExp(`^sysgate: ${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}#${pointer}: ${msg}`);

  it('refuses log as the default action (unversioned and per firmware range) and as the foreign-arch action', async () => {
    const a = write('log.json', { ...base, defaultAction: 'log' });
    await refused(a, [at(a, '/defaultAction', 'the default action must not be log')]);
    const b = write('fwlog.json', {
      ...base,
      firmware: { versions: ['1.0.0'], defaultAction: [{ range: '*', action: 'log' }] },
      foreignArchAction: 'log',
    });
    await refused(b, [
      at(b, '/firmware/defaultAction/0/action', 'the default action must not be log'),
      at(b, '/foreignArchAction', 'a foreign arch must never be allowed'),
    ]);
  });

  it('locates errno:4096 in firmware.defaultAction, an unknown parent, and unknown root keys', async () => {
    const a = write('errno.json', { ...base, firmware: { versions: ['1.0.0'], defaultAction: [{ range: '*', action: 'errno:4096' }] } });
    await refused(a, [at(a, '/firmware/defaultAction/0/action', 'errno 4096 is out of range')]);
    const b = write('parent.json', { id: 'x', title: 'x', extends: 'codesafe6', syscalls: [] });
    await refused(b, [at(b, '/extends', "unknown target 'codesafe6' \\(did you mean 'codesafe5'\\?\\)")]);
    const c = write('root.json', { ...base, defaultAction: 'errno:ENOSYS', sycsalls: [] });
    await refused(c, [at(c, '/sycsalls', "unknown property 'sycsalls'")]);
  });

  it('a 1 MB name: answered in well under a second, with a bounded excerpt', async () => {
    const huge = 'a'.repeat(1 << 20);
    const f = write('huge.json', { ...base, defaultAction: 'errno:ENOSYS', syscalls: [{ name: huge }] });
    const t0 = Date.now();
    const r = await cli(['syscalls', '--target', f]);
    const ms = Date.now() - t0;
    assert.equal(r.code, 2);
    assert.ok(ms < 5000, `${ms} ms`);
    const line = r.stderr.split('\n')[0]!;
    assert.ok(line.length < 300, `${line.length} characters`);
    assert.match(line, /#\/syscalls\/0\/name: 'a{80}\.\.\. \(1048576 characters\)' is not a syscall/);
    // The bound is exact: suggestions for ordinary names are unchanged.
    assert.deepEqual(suggest('getpdi', ['getpid', 'getppid', 'read']), ['getpid', 'getppid']);
    const t1 = Date.now();
    assert.deepEqual(suggest(huge, ['getpid', huge]), []);
    assert.ok(Date.now() - t1 < 100);
  });
});

describe('generate: argument values past 2^53 in the default formats', () => {
  let dir: string;
  before(() => (dir = tempDir()));
  after(() => removeDir(dir));

  it('writes 2^64-1 and 2^53+1 exactly in OCI and libseccomp C, and every format succeeds', async () => {
    const f = join(dir, 'big.json');
    writeFileSync(
      f,
      JSON.stringify({
        id: 'big',
        title: 'big',
        arches: ['x86_64'],
        defaultAction: 'errno:EPERM',
        syscalls: [
          { name: 'read' },
          { name: 'kill', args: [{ index: 1, op: 'eq', value: '18446744073709551615' }] },
          { name: 'ioctl', args: [{ index: 1, op: 'masked-eq', mask: '0xffffffffffffffff', value: '9007199254740993' }] },
        ],
      }),
    );
    const out = join(dir, 'out');
    const r = await cli(['generate', '--target', f, '--out', out, '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    const text = (ext: string) => readFileSync(join(out, readdirSync(out).find((n) => n.endsWith(ext))!), 'utf8');
    const oci = text('.oci.json');
    assert.match(oci, /"value": 18446744073709551615,/);
    assert.match(oci, /"value": 18446744073709551615,\s*"valueTwo": 9007199254740993,/);
    const lsc = text('.libseccomp.c');
    assert.match(lsc, /"kill", SCMP_ACT_ALLOW, 1, \{ \{ 1, SCMP_CMP_EQ, UINT64_C\(0xffffffffffffffff\), 0 \} \}/);
    assert.match(lsc, /UINT64_C\(0xffffffffffffffff\), UINT64_C\(0x20000000000001\)/);
    assert.match(text('.asm'), /0xffffffff/);
  });
});
