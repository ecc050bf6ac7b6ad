/**
 * sysgate in a build: the cc wrapper, the Make fragment (x86_64, gcc) and the CMake module
 * (ARM, arm-linux-gnueabihf-gcc) on a small project whose clean app must build and whose
 * mount()ing app must fail the build with the check's message.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeDir, sh, tempDir } from './helpers/build.ts';
import { cli, DIST_CLI, ROOT } from './helpers/cli.ts';
import { requireTool } from './helpers/tools.ts';

const PROJECT = join(ROOT, 'test/fixtures/project');
const SYSGATE = `${process.execPath} ${DIST_CLI}`;

describe('build integration', function () {
  this.timeout(180_000);
  let dir: string;
  let env: NodeJS.ProcessEnv;
  before(() => {
    dir = tempDir('sysgate-build-');
    env = { ...process.env, SYSGATE_CACHE_DIR: join(dir, 'cache') };
  });
  after(() => removeDir(dir));

  const run = (cmd: string, args: string[], cwd: string) => {
    const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8' });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  };

  describe('sysgate cc', () => {
    let src: string;
    before(function () {
      requireTool(this, 'arm-linux-gnueabihf-gcc', 'gcc-arm-linux-gnueabihf');
      src = join(dir, 'cc');
      cpSync(join(ROOT, 'examples/src'), src, { recursive: true });
    });

    it('passes compile-only steps through untouched', () => {
      const r = run(process.execPath, [DIST_CLI, 'cc', '--target', 'codesafe5', '--', 'arm-linux-gnueabihf-gcc', '-c', 'keygen.c', '-o', 'keygen.o'], src);
      assert.equal(r.status, 0, r.out);
      assert.ok(existsSync(join(src, 'keygen.o')));
      assert.equal(r.out, '');
    });

    it('links the shim so that getentropy works, and the check passes', function () {
      const r = run(process.execPath, [DIST_CLI, 'cc', '--target', 'codesafe5', '--firmware', '13.7', '--quiet', '--', 'arm-linux-gnueabihf-gcc', '-O2', '-o', 'keygen', 'keygen.c'], src);
      assert.equal(r.status, 0, r.out);
      requireTool(this, 'qemu-arm', 'qemu-user');
      const q = sh('qemu-arm', ['-L', '/usr/arm-linux-gnueabihf', '-strace', join(src, 'keygen')]);
      assert.equal(q.status, 0, q.stderr);
      assert.match(q.stdout, /^[0-9a-f]{64}\n$/);
      assert.match(q.stderr, /openat\(AT_FDCWD,"\/dev\/urandom"/, 'the shim reads /dev/urandom');
      // The only getrandom left is glibc malloc's own (a 4-byte tcache key, GRND_NONBLOCK), which
      // no shim can reach and which glibc tolerates failing; the 32-byte seed never uses it.
      for (const m of q.stderr.matchAll(/getrandom\(0x[0-9a-f]+,(\d+),(\d+)\)/g)) assert.deepEqual([m[1], m[2]], ['4', '1']);
    });

    it('without the shim the same app fails the link step (exit 1) and leaves no binary', () => {
      const r = run(process.execPath, [DIST_CLI, 'cc', '--target', 'codesafe5', '--firmware', '13.7', '--no-shim', '--', 'arm-linux-gnueabihf-gcc', '-O2', '-o', 'keygen-raw', 'keygen.c'], src);
      assert.equal(r.status, 1, r.out);
      assert.match(r.out, /FATAL getrandom/);
      assert.match(r.out, /would fail on the device/);
      assert.equal(existsSync(join(src, 'keygen-raw')), false);
    });

    it('keeps the compiler\'s exit status when compiling fails', () => {
      writeFileSync(join(src, 'broken.c'), 'int main(void) { return }\n');
      const r = run(process.execPath, [DIST_CLI, 'cc', '--target', 'codesafe5', '--', 'arm-linux-gnueabihf-gcc', '-o', 'broken', 'broken.c'], src);
      assert.equal(r.status, 1);
      assert.match(r.out, /error/);
    });
  });

  describe('Make fragment, x86_64', () => {
    let proj: string;
    before(async function () {
      requireTool(this, 'make', 'make');
      requireTool(this, 'gcc', 'gcc');
      proj = join(dir, 'make');
      cpSync(PROJECT, proj, { recursive: true });
      const r = await cli(['init', 'make'], proj);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(readFileSync(join(proj, 'sysgate.mk'), 'utf8'), readFileSync(join(ROOT, 'templates/make/sysgate.mk'), 'utf8'));
    });

    it('builds and runs the clean app', () => {
      const r = run('make', [`SYSGATE=${SYSGATE}`, 'app'], proj);
      assert.equal(r.status, 0, r.out);
      assert.ok(existsSync(join(proj, 'build/sysgate/sysgate.h')));
      const app = sh(join(proj, 'app'), []);
      assert.equal(app.status, 0);
      assert.equal(app.stdout, 'app ok\n');
    });

    it('the app also runs under the generated filter on this kernel (host run)', () => {
      assert.equal(run('make', [`SYSGATE=${SYSGATE}`, 'build/sysgate/sysgate.shim.o'], proj).status, 0);
      const cc = sh('gcc', ['-O2', '-DSYSGATE_HOST_FILTER', `-I${join(proj, 'build/sysgate')}`, '-o', join(proj, 'app-host'), join(proj, 'app.c'), join(proj, 'build/sysgate/sysgate.shim.o'),
        ...readFileSync(join(proj, 'build/sysgate/sysgate.shim.c'), 'utf8').match(/-Wl,--export-dynamic-symbol=\w+/g)!]);
      assert.equal(cc.status, 0, cc.stderr);
      const app = sh(join(proj, 'app-host'), []);
      assert.equal(app.signal, null, app.stderr);
      assert.equal(app.stdout, 'app ok\n');
    });

    it('fails the build for an app that mounts, with the check\'s message, and removes the binary', () => {
      const r = run('make', [`SYSGATE=${SYSGATE}`, 'mounter'], proj);
      assert.notEqual(r.status, 0);
      assert.match(r.out, /FATAL mount\s+fails with ENOSYS, no fallback/);
      assert.equal(existsSync(join(proj, 'mounter')), false);
      // and a second make does not take it as done
      assert.notEqual(run('make', [`SYSGATE=${SYSGATE}`, 'mounter'], proj).status, 0);
    });
  });

  describe('CMake module, ARM', () => {
    let proj: string;
    before(async function () {
      requireTool(this, 'cmake', 'cmake');
      requireTool(this, 'arm-linux-gnueabihf-gcc', 'gcc-arm-linux-gnueabihf');
      proj = join(dir, 'cmake');
      cpSync(PROJECT, proj, { recursive: true });
      assert.equal((await cli(['init', 'cmake'], proj)).code, 0);
      const again = await cli(['init', 'cmake'], proj);
      assert.equal(again.code, 2, 'an existing module is kept without --force');
      const c = run('cmake', ['-S', '.', '-B', 'build', '-DCMAKE_SYSTEM_NAME=Linux', '-DCMAKE_SYSTEM_PROCESSOR=arm',
        '-DCMAKE_C_COMPILER=arm-linux-gnueabihf-gcc', `-DSYSGATE_COMMAND=${process.execPath};${DIST_CLI}`], proj);
      assert.equal(c.status, 0, c.out);
    });

    it('builds the clean ARM app with the filter header and the shim, and it runs under qemu-arm', function () {
      const r = run('cmake', ['--build', 'build', '--target', 'app'], proj);
      assert.equal(r.status, 0, r.out);
      assert.match(r.out, /sysgate: checking app against codesafe5 13\.7/);
      assert.ok(existsSync(join(proj, 'build/sysgate/app/sysgate.h')));
      assert.ok(existsSync(join(proj, 'build/sysgate/app/sysgate.shim.c')));
      requireTool(this, 'qemu-arm', 'qemu-user');
      const q = sh('qemu-arm', ['-L', '/usr/arm-linux-gnueabihf', join(proj, 'build/app')]);
      assert.equal(q.stdout, 'app ok\n', q.stderr);
    });

    it('fails the build for the app that mounts, with the check\'s message', () => {
      const r = run('cmake', ['--build', 'build', '--target', 'mounter'], proj);
      assert.notEqual(r.status, 0);
      assert.match(r.out, /FATAL mount/);
      assert.equal(existsSync(join(proj, 'build/mounter')), false);
    });
  });
});
