/**
 * sysgate in a build: the cc wrapper, the Make fragment (x86_64, gcc) and the CMake module
 * (ARM, arm-linux-gnueabihf-gcc) on a small project whose clean app must build and whose
 * mount()ing app must fail the build with the check's message.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
      const r = run(
        process.execPath,
        [DIST_CLI, 'cc', '--target', 'codesafe5', '--firmware', '13.7', '--quiet', '--', 'arm-linux-gnueabihf-gcc', '-O2', '-o', 'keygen', 'keygen.c'],
        src,
      );
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

    it('without the shim the same app fails the --strict link step (exit 1) and leaves no binary', () => {
      // getentropy's ENOSYS reaches main (depends): --strict makes that fail the link.
      const r = run(
        process.execPath,
        [
          DIST_CLI,
          'cc',
          '--target',
          'codesafe5',
          '--firmware',
          '13.7',
          '--no-shim',
          '--strict',
          '--',
          'arm-linux-gnueabihf-gcc',
          '-O2',
          '-o',
          'keygen-raw',
          'keygen.c',
        ],
        src,
      );
      assert.equal(r.status, 1, r.out);
      assert.match(r.out, /warn +getrandom +depends/);
      assert.match(r.out, /would fail on the device \(0 fatal; --strict: 1 depends, 0 unresolved\)/);
      assert.equal(existsSync(join(src, 'keygen-raw')), false);
    });

    it("keeps the compiler's exit status when compiling fails", () => {
      writeFileSync(join(src, 'broken.c'), 'int main(void) { return }\n');
      const r = run(process.execPath, [DIST_CLI, 'cc', '--target', 'codesafe5', '--', 'arm-linux-gnueabihf-gcc', '-o', 'broken', 'broken.c'], src);
      assert.equal(r.status, 1);
      assert.match(r.out, /error/);
    });
  });

  describe('sysgate cc and sysgate-cc, x86_64: launchers, partial links, export modes', () => {
    let src: string;
    const LAUNCHER = join(ROOT, 'bin/sysgate-cc');
    const POLICY = ['--target', 'codesafe5', '--firmware', '13.7', '--quiet'];
    /** Through the sh launcher (viaNode: through `sysgate cc` itself, which must decide alike). */
    const cc = (args: string[], extraEnv: NodeJS.ProcessEnv = {}, viaNode = false) => {
      const [cmd, pre] = viaNode ? [process.execPath, [DIST_CLI, 'cc']] : [LAUNCHER, []];
      const r = spawnSync(cmd, [...pre, ...POLICY, '--', ...args], {
        cwd: src,
        env: { ...env, SYSGATE_NODE: process.execPath, ...extraEnv },
        encoding: 'utf8',
      });
      return { status: r.status, out: `${r.stdout}${r.stderr}` };
    };
    /** Runs a program under strace: the getrandom sizes it asked for, and whether it opened /dev/urandom. */
    const randomness = (exe: string, ctx: Mocha.Context) => {
      requireTool(ctx, 'strace', 'strace');
      const r = sh('strace', ['-f', '-e', 'trace=getrandom,openat', exe], { cwd: src });
      assert.equal(r.status, 0, r.stderr);
      return {
        stdout: r.stdout,
        sizes: [...r.stderr.matchAll(/getrandom\(0x[0-9a-f]+, (\d+),/g)].map((m) => Number(m[1])),
        urandom: /openat\(AT_FDCWD, "\/dev\/urandom"/.test(r.stderr),
      };
    };
    /** A compiler that logs its arguments, and answers -Wl,--version with $FAKE_LD when set (an old linker). */
    const loggingCompiler = (name: string) => {
      const wrapper = join(src, `logcc-${name}`);
      writeFileSync(
        wrapper,
        '#!/bin/sh\necho "$*" >> "$LOG"\nif [ "$*" = -Wl,--version ] && [ -n "$FAKE_LD" ]; then echo "$FAKE_LD"; exit 0; fi\nexec gcc "$@"\n',
        { mode: 0o755 },
      );
      return { wrapper, log: join(src, `logcc-${name}.log`) };
    };
    before(function () {
      requireTool(this, 'gcc', 'gcc');
      src = join(dir, 'cc-x86');
      cpSync(join(ROOT, 'examples/src'), src, { recursive: true });
      writeFileSync(join(src, 'seed.c'), '#include <unistd.h>\nint seed(unsigned char *b, unsigned n) { return getentropy(b, n); }\n');
      writeFileSync(
        join(src, 'main.c'),
        '#include <stdio.h>\nint seed(unsigned char *b, unsigned n);\nint main(void) { unsigned char b[32]; if (seed(b, sizeof b)) return 1; puts("seeded"); return 0; }\n',
      );
    });

    it('sysgate-cc runs compile steps without Node, and links through it', () => {
      // A Node that cannot start: the compile step must not need it.
      const c = cc(['gcc', '-c', 'seed.c', '-o', 'seed.o'], { SYSGATE_NODE: '/bin/false' });
      assert.equal(c.status, 0, c.out);
      assert.ok(existsSync(join(src, 'seed.o')));
      assert.equal(cc(['gcc', '-o', 'nolink', 'main.c', 'seed.o'], { SYSGATE_NODE: '/bin/false' }).status, 1, 'a link does go to Node');
      assert.equal(cc(['gcc', '-o', 'linked', 'main.c', 'seed.o']).status, 0);
      assert.equal(sh(join(src, 'linked'), []).stdout, 'seeded\n');
    });

    it('a -r partial link gets no shim, so the final link through cc succeeds and the binary runs', function () {
      assert.equal(cc(['gcc', '-c', 'main.c', '-o', 'main.o']).status, 0);
      assert.equal(cc(['gcc', '-c', 'seed.c', '-o', 'seed.o']).status, 0);
      for (const [out, flag, viaNode] of [
        ['part-r.o', ['-r'], true],
        ['part-wl.o', ['-Wl,-r', '-no-pie'], true],
        ['part-sh.o', ['-r'], false],
      ] as const) {
        const p = cc(['gcc', ...flag, '-nostdlib', '-o', out, 'main.o', 'seed.o'], {}, viaNode);
        assert.equal(p.status, 0, p.out);
        const nm = sh('nm', [join(src, out)]);
        assert.doesNotMatch(nm.stdout, / T getentropy$/m, `${flag}: the partial link holds no shim`);
        const exe = `final-${out}`;
        const f = cc(['gcc', '-o', exe, out], {}, viaNode);
        assert.equal(f.status, 0, f.out);
        const r = randomness(join(src, exe), this);
        assert.equal(r.stdout, 'seeded\n');
        assert.ok(r.urandom && !r.sizes.includes(32), 'the seed came from the shim, not getrandom');
      }
    });

    it('env NAME=VALUE before the compiler applies to the compile and the link', () => {
      mkdirSync(join(src, 'inc'), { recursive: true });
      writeFileSync(join(src, 'inc/only-here.h'), '#define GREETING "env ok"\n');
      writeFileSync(join(src, 'envapp.c'), '#include <stdio.h>\n#include "only-here.h"\nint main(void) { puts(GREETING); return 0; }\n');
      const r = cc(['env', '-u', 'SYSGATE_UNUSED', `CPATH=${join(src, 'inc')}`, 'gcc', '-o', 'envapp', 'envapp.c']);
      assert.equal(r.status, 0, r.out);
      assert.equal(sh(join(src, 'envapp'), []).stdout, 'env ok\n');
      // and without env's setting the header is not found: the setting really reached gcc
      assert.notEqual(cc(['gcc', '-o', 'envapp2', 'envapp.c']).status, 0);
    });

    it('ccache before the compiler: compiles go through ccache, the link gets the shim', function () {
      requireTool(this, 'ccache', 'ccache');
      const ccacheEnv = { CCACHE_DIR: join(dir, 'ccache'), CCACHE_NOHASHDIR: '1' };
      for (let i = 0; i < 2; i++) {
        rmSync(join(src, 'seed-cc.o'), { force: true });
        assert.equal(cc(['ccache', 'gcc', '-O2', '-c', 'seed.c', '-o', 'seed-cc.o'], ccacheEnv).status, 0);
      }
      const stats = spawnSync('ccache', ['--print-stats'], { env: { ...env, ...ccacheEnv }, encoding: 'utf8' }).stdout;
      assert.match(stats, /^(direct_cache_hit|cache_hit_direct)\t1$/m, stats);
      const l = cc(['ccache', 'gcc', '-o', 'ccapp', 'main.c', 'seed-cc.o'], ccacheEnv);
      assert.equal(l.status, 0, l.out);
      assert.equal(sh(join(src, 'ccapp'), []).stdout, 'seeded\n');
    });

    it("--dynamic-list fallback, forced: a dlopened library's getentropy still reaches the shim", function () {
      const lib = join(src, 'libneedrand.so');
      assert.equal(sh('gcc', ['-O1', '-shared', '-fPIC', '-o', lib, join(ROOT, 'test/fixtures/shim/needrand.c')]).status, 0);
      // dlopen: a library the linker never saw (as libcrypto behind another library).
      writeFileSync(
        join(src, 'uselib.c'),
        `#include <dlfcn.h>\n#include <stdio.h>\n#include <stddef.h>\nint main(void) { unsigned char b[24]; void *h = dlopen("${lib}", RTLD_NOW); if (!h) return 2;
  int (*f)(unsigned char *, size_t) = (int (*)(unsigned char *, size_t))dlsym(h, "needrand"); if (!f || f(b, sizeof b)) return 1; puts("lib seeded"); return 0; }\n`,
      );
      const { log, wrapper } = loggingCompiler('forced');
      const cacheDir = join(dir, 'cache-forced');
      const r = cc([wrapper, '-o', 'uselib', 'uselib.c', '-ldl'], { SYSGATE_SHIM_EXPORT: 'dynamic-list', SYSGATE_CACHE_DIR: cacheDir, LOG: log });
      assert.equal(r.status, 0, r.out);
      const linkLine = readFileSync(log, 'utf8')
        .split('\n')
        .find((l) => l.includes('-o uselib '))!;
      const list = /-Wl,--dynamic-list=(\S+)/.exec(linkLine)?.[1];
      assert.ok(list?.startsWith(cacheDir), linkLine);
      assert.doesNotMatch(linkLine, /--export-dynamic-symbol/);
      assert.match(readFileSync(list!, 'utf8'), /^\{\n( {2}\w+;\n)* {2}getentropy;\n( {2}\w+;\n)*\};\n$/);
      assert.match(sh('readelf', ['--dyn-syms', '-W', join(src, 'uselib')]).stdout, /FUNC +GLOBAL +DEFAULT +\d+ getentropy$/m, 'exported from the executable');
      const got = randomness(join(src, 'uselib'), this);
      assert.equal(got.stdout, 'lib seeded\n');
      assert.ok(got.urandom && !got.sizes.includes(24), `the library's getentropy bound to the shim (getrandom sizes: ${got.sizes})`);
    });

    it('gcc $(sysgate shim --cflags) ... $(sysgate shim --libs) works in a real shell, no sed', () => {
      const policy = '--target codesafe5 --firmware 13.7 --arch x86_64';
      const script = `set -e
S="${SYSGATE}"
$S shim ${policy} --out shimsrc --quiet
gcc $($S shim ${policy} --cflags) -c shimsrc/codesafe5-13.7-x86_64.shim.c -o shim-pc.o
gcc -O2 -o keygen-pc keygen.c shim-pc.o $($S shim ${policy} --libs)
test "$($S shim ${policy} --cflags --libs)" = "$($S shim ${policy} --cflags) $($S shim ${policy} --libs)"
./keygen-pc`;
      const r = spawnSync('sh', ['-c', script], { cwd: src, env, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^[0-9a-f]{64}\n$/);
      const dyn = sh('readelf', ['--dyn-syms', '-W', join(src, 'keygen-pc')]).stdout;
      assert.match(dyn, /FUNC +GLOBAL +DEFAULT +\d+ getentropy$/m, 'the shim is linked and exported');
    });

    it('the linker is probed once per compiler: GNU ld 2.34 gets the list, 2.40 --export-dynamic-symbol', () => {
      for (const [name, fake, mode] of [
        ['old', 'GNU ld (GNU Binutils) 2.34', 'dynamic-list'],
        ['new', '', 'export-dynamic-symbol'],
      ] as const) {
        const { log, wrapper } = loggingCompiler(name);
        const cacheDir = join(dir, `cache-probe-${name}`);
        for (const out of ['probe1', 'probe2']) {
          const r = cc([wrapper, '-o', `${out}-${name}`, 'main.c', 'seed.c'], { SYSGATE_CACHE_DIR: cacheDir, LOG: log, FAKE_LD: fake });
          assert.equal(r.status, 0, r.out);
          assert.equal(sh(join(src, `${out}-${name}`), []).stdout, 'seeded\n');
        }
        const lines = readFileSync(log, 'utf8').split('\n');
        assert.equal(lines.filter((l) => l === '-Wl,--version').length, 1, `${name}: one probe for two links`);
        const links = lines.filter((l) => l.includes(' main.c seed.c '));
        assert.equal(links.length, 2);
        for (const l of links) assert.match(l, mode === 'dynamic-list' ? /-Wl,--dynamic-list=/ : /-Wl,--export-dynamic-symbol=getentropy/, `${name}: ${l}`);
      }
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
      const cc = sh('gcc', [
        '-O2',
        '-DSYSGATE_HOST_FILTER',
        `-I${join(proj, 'build/sysgate')}`,
        '-o',
        join(proj, 'app-host'),
        join(proj, 'app.c'),
        join(proj, 'build/sysgate/sysgate.shim.o'),
        ...readFileSync(join(proj, 'build/sysgate/sysgate.shim.c'), 'utf8').match(/-Wl,--export-dynamic-symbol=\w+/g)!,
      ]);
      assert.equal(cc.status, 0, cc.stderr);
      const app = sh(join(proj, 'app-host'), []);
      assert.equal(app.signal, null, app.stderr);
      assert.equal(app.stdout, 'app ok\n');
    });

    it("including sysgate.mk keeps the includer's default goal, before or after its first target", () => {
      const rule = 'hello:\n\techo hello > hello.txt\n';
      const makefiles = {
        'Makefile.before': `SYSGATE_TARGET := codesafe5\ninclude sysgate.mk\n${rule}other:\n\techo other > other.txt\n`,
        'Makefile.after': `${rule}SYSGATE_TARGET := codesafe5\ninclude sysgate.mk\nother:\n\techo other > other.txt\n`,
      };
      for (const [name, text] of Object.entries(makefiles)) {
        const d = join(dir, `goal-${name}`);
        mkdirSync(d, { recursive: true });
        cpSync(join(proj, 'sysgate.mk'), join(d, 'sysgate.mk'));
        writeFileSync(join(d, 'Makefile'), text);
        const r = run('make', [`SYSGATE=${SYSGATE}`], d);
        assert.equal(r.status, 0, r.out);
        assert.ok(existsSync(join(d, 'hello.txt')), `${name}: plain make built the includer's first target`);
        assert.ok(!existsSync(join(d, 'other.txt')) && !existsSync(join(d, 'build')), `${name}: and nothing else`);
      }
    });

    it('a linker older than GNU ld 2.35 gets a dynamic list, and the app builds, passes the check and runs', () => {
      const old = join(dir, 'make-old-ld');
      cpSync(PROJECT, old, { recursive: true });
      cpSync(join(proj, 'sysgate.mk'), join(old, 'sysgate.mk'));
      // gcc, except that its linker says it is GNU ld 2.34 when asked.
      const wrapper = join(old, 'oldld-gcc');
      writeFileSync(
        wrapper,
        '#!/bin/sh\necho "$*" >> "$0.log"\nif [ "$*" = -Wl,--version ]; then echo "GNU ld (GNU Binutils) 2.34"; exit 0; fi\nexec gcc "$@"\n',
        { mode: 0o755 },
      );
      const r = run('make', [`SYSGATE=${SYSGATE}`, `CC=${wrapper}`, 'app'], old);
      assert.equal(r.status, 0, r.out);
      const link = readFileSync(`${wrapper}.log`, 'utf8')
        .split('\n')
        .find((l) => l.startsWith('-o app '))!;
      const list = /-Wl,--dynamic-list=(\S+)/.exec(link)?.[1];
      assert.ok(list && existsSync(list), link);
      assert.doesNotMatch(link, /--export-dynamic-symbol/);
      assert.match(readFileSync(list, 'utf8'), /^\{\n( {2}\w+;\n)+\};\n$/);
      assert.equal(sh(join(old, 'app'), []).stdout, 'app ok\n');
    });

    it("the header's installer exists only for host builds (-DSYSGATE_HOST_FILTER)", () => {
      assert.equal(run('make', [`SYSGATE=${SYSGATE}`, 'build/sysgate/sysgate.h'], proj).status, 0);
      const src = '#include "sysgate.h"\nint main(void) { return sysgate_codesafe5_install(); }\n';
      const device = spawnSync('gcc', ['-std=c99', '-Werror', `-I${join(proj, 'build/sysgate')}`, '-c', '-x', 'c', '-', '-o', join(proj, 'dev.o')], {
        input: src,
        encoding: 'utf8',
      });
      assert.notEqual(device.status, 0, 'a device build that calls the installer does not compile');
      assert.match(device.stderr, /sysgate_codesafe5_install/);
      const host = spawnSync(
        'gcc',
        ['-std=c99', '-Wall', '-Werror', '-DSYSGATE_HOST_FILTER', `-I${join(proj, 'build/sysgate')}`, '-c', '-x', 'c', '-', '-o', join(proj, 'host.o')],
        { input: src, encoding: 'utf8' },
      );
      assert.equal(host.status, 0, host.stderr);
      // A device build that includes the header (without the define) carries no installer: nothing
      // for the check to find.
      const nm = sh('nm', [join(proj, 'app.o')]).stdout;
      assert.doesNotMatch(nm, /prctl|syscall/);
    });

    it("fails the build for an app that mounts, with the check's message, and removes the binary", () => {
      const r = run('make', [`SYSGATE=${SYSGATE}`, 'mounter'], proj);
      assert.notEqual(r.status, 0);
      // SYSGATE_STRICT for this target: mount's ENOSYS reaches main, nothing says it copes.
      assert.match(r.out, /warn +mount +depends: fails with ENOSYS; mount\(\) returns the error to the program/);
      assert.equal(existsSync(join(proj, 'mounter')), false);
      // and a second make does not take it as done
      assert.notEqual(run('make', [`SYSGATE=${SYSGATE}`, 'mounter'], proj).status, 0);
    });
  });

  describe('CMake module, policies', () => {
    it("include(Sysgate) leaves a 3.10 project's policies and minimum version as they were", async function () {
      requireTool(this, 'cmake', 'cmake');
      requireTool(this, 'gcc', 'gcc');
      // CMP0110 (3.19), CMP0083 (3.14) and CMP0074 (3.12) are newer than the project's 3.10:
      // unset before the include, and they must stay unset after it, also where the includer
      // asks for no policy scope of include()'s own.
      for (const how of ['', ' NO_POLICY_SCOPE']) {
        const proj = join(dir, `cmake-policy${how.replace(' ', '-')}`);
        mkdirSync(proj, { recursive: true });
        assert.equal((await cli(['init', 'cmake'], proj)).code, 0);
        writeFileSync(
          join(proj, 'CMakeLists.txt'),
          `cmake_minimum_required(VERSION 3.10)
project(policy_check C)
function(show when)
  set(s "min=\${CMAKE_MINIMUM_REQUIRED_VERSION}")
  foreach(p CMP0110 CMP0083 CMP0074)
    cmake_policy(GET \${p} v)
    string(APPEND s " \${p}=[\${v}]")
  endforeach()
  message(STATUS "\${when}: \${s}")
endfunction()
show(before)
list(APPEND CMAKE_MODULE_PATH "\${CMAKE_SOURCE_DIR}/cmake")
include(Sysgate${how})
show(after)
if(NOT COMMAND sysgate_protect)
  message(FATAL_ERROR "sysgate_protect is not defined")
endif()
`,
        );
        const c = run('cmake', ['-S', '.', '-B', 'build', `-DSYSGATE_COMMAND=${process.execPath};${DIST_CLI}`], proj);
        assert.equal(c.status, 0, c.out);
        const want = 'min=3.10 CMP0110=[] CMP0083=[] CMP0074=[]';
        assert.ok(c.out.includes(`-- before: ${want}\n`), c.out);
        assert.ok(c.out.includes(`-- after: ${want}\n`), `include(Sysgate${how}):\n${c.out}`);
      }
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
      const c = run(
        'cmake',
        [
          '-S',
          '.',
          '-B',
          'build',
          '-DCMAKE_SYSTEM_NAME=Linux',
          '-DCMAKE_SYSTEM_PROCESSOR=arm',
          '-DCMAKE_C_COMPILER=arm-linux-gnueabihf-gcc',
          `-DSYSGATE_COMMAND=${process.execPath};${DIST_CLI}`,
        ],
        proj,
      );
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

    it("fails the build for the app that mounts, with the check's message", () => {
      const r = run('cmake', ['--build', 'build', '--target', 'mounter'], proj);
      assert.notEqual(r.status, 0);
      assert.match(r.out, /warn +mount +depends/); // STRICT: a depends finding fails the build
      assert.equal(existsSync(join(proj, 'build/mounter')), false);
    });
  });
});
