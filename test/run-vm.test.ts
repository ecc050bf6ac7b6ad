/**
 * `sysgate run` for ARM and AArch64: programs built here run in a real kernel of their arch
 * (Debian's, under qemu-system) under the shipped codesafe5 filter, with the supervisor recording
 * and answering like the device. Each boot costs seconds (arm about 5-8 s here), so the boots are
 * few: arm static + dynamic on 13.7, arm on 13.5 (killed at start-up), a clean arm program, one
 * AArch64 program. The kernels come from scripts/fetch-kernels.sh (CI runs it).
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileFilter, encodeFilter } from '../src/bpf/index.ts';
import { checkFile } from '../src/check/index.ts';
import { defaultCacheDir } from '../src/buildsys/shim-cache.ts';
import { InputError } from '../src/errors.ts';
import { formatAction } from '../src/policy/action.ts';
import { evaluatePolicy } from '../src/policy/call.ts';
import { loadTarget } from '../src/policy/load.ts';
import { resolvePolicy } from '../src/policy/resolve.ts';
import type { Policy } from '../src/policy/types.ts';
import { findKernel, kernelDir, vmMachine } from '../src/run/kernels.ts';
import type { ArchName } from '../src/syscalls/arches.ts';
import type { RunReport } from '../src/run/types.ts';
import { collectGuest, cpioNewc, parseConsole, parseSupervise, runInVm } from '../src/run/vm.ts';
import { syscallNumber } from '../src/syscalls/table.ts';
import { compileC, removeDir, tempDir } from './helpers/build.ts';
import { requireTool } from './helpers/tools.ts';

const RANDOM = `#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
int main(void) {
  char b[8];
  fprintf(stderr, "to-stderr\\n");
  ssize_t r = getrandom(b, sizeof b, 0);
  if (r < 0) { printf("getrandom: errno=%d\\n", errno); return 3; }
  printf("getrandom: %zd bytes\\n", r);
  return 0;
}
`;
const CLEAN = `#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    char line[64] = "";
    FILE *f = fopen(argv[i], "r");
    if (f) { fgets(line, sizeof line, f); fclose(f); line[strcspn(line, "\\n")] = 0; printf("file %s: %s\\n", argv[i], line); }
    else printf("arg %s\\n", argv[i]);
  }
  int c;
  while ((c = getchar()) != EOF) putchar(c);
  return 0;
}
`;

const env = process.env;

function requireKernel(ctx: Mocha.Context, arch: ArchName): void {
  try {
    findKernel(arch, env);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    if (process.env.CI) throw new Error(`${e.message} (CI must fetch it: see .ci/run)`);
    console.warn(`      skipped: ${e.message}`);
    ctx.skip();
  }
}

async function policyFor(firmware: string, arch: ArchName): Promise<{ policy: Policy; filter: Uint8Array }> {
  const target = await loadTarget('codesafe5');
  const policy = resolvePolicy(target, { firmware, arch });
  const f = compileFilter([policy]);
  return { policy, filter: encodeFilter(f.insns, f.endian) };
}

interface Ran {
  report: RunReport;
  stdout: string;
  stderr: string;
}

async function run(program: string, args: string[], firmware: string, arch: ArchName, stdin?: string, cwd?: string): Promise<Ran> {
  const { policy, filter } = await policyFor(firmware, arch);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const report = await runInVm(
    {
      target: 'codesafe5',
      firmware,
      program,
      args,
      timeoutSeconds: 50,
      ...(cwd ? { cwd } : {}),
      io: { stdout: (b) => out.push(Buffer.from(b)), stderr: (b) => err.push(Buffer.from(b)), ...(stdin !== undefined ? { stdin: Buffer.from(stdin) } : {}) },
    },
    policy,
    filter,
  );
  return { report, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

function bootSeconds(r: RunReport): string {
  return r.runner.detail.match(/([\d.]+) s$/)?.[1] ?? '?';
}

describe('run in a VM: the guest, offline', () => {
  it('writes a cpio newc archive the kernel reads (magic, 4-byte alignment, trailer)', () => {
    const a = cpioNewc([
      { path: '/init', mode: 0o100755, data: Buffer.from('abc') },
      { path: '/dev/console', mode: 0o020600, rdev: [5, 1] },
    ]);
    assert.equal(a.subarray(0, 6).toString(), '070701');
    assert.equal(a.length % 4, 0);
    const text = a.toString('latin1');
    assert.ok(text.includes('init\0'));
    assert.ok(text.includes('TRAILER!!!\0'));
    // /dev/console: rdevmajor 5, rdevminor 1 (fields 10 and 11 of the second header).
    const second = text.indexOf('070701', 6);
    assert.equal(text.slice(second + 6 + 9 * 8, second + 6 + 11 * 8), '0000000500000001');
    // A file copied from the host keeps its time (field 6): gzip warns and exits 2 on mtime 0.
    const dated = cpioNewc([{ path: '/tmp/data.txt', mode: 0o100644, data: Buffer.from('x'), mtime: 0x65000000 }]).toString('latin1');
    assert.equal(dated.slice(6 + 5 * 8, 6 + 6 * 8), '65000000');
  });

  it('reads the console between markers, whatever the kernel printed around them', () => {
    const c =
      '[    1.0] random: crng init done\r\n\r\n@@SYSGATE-BEGIN@@\r\n@@SYSGATE-STATUS 0@@\r\n@@SYSGATE-FILE out1 3@@\r\n6869\r\n0a\r\n' +
      '@@SYSGATE-FILE out2 -1@@\r\n@@SYSGATE-FILE report 12@@\r\n6578697420636f64653d300a\r\n@@SYSGATE-END@@\r\nreboot: Power down\r\n';
    const p = parseConsole(c)!;
    assert.equal(p.status, 0);
    assert.equal(Buffer.from(p.files.out1!).toString(), 'hi\n');
    assert.equal(p.files.out2, undefined);
    assert.deepEqual(parseSupervise(Buffer.from(p.files.report!).toString()).exit, { code: 0, signal: null });
    assert.equal(parseConsole('Kernel panic - not syncing'), undefined);
  });

  it('a missing kernel is one line naming the fetch command', async function () {
    const dir = tempDir();
    try {
      const { policy, filter } = await policyFor('13.7', 'arm');
      await assert.rejects(runInVm({ target: 'codesafe5', program: '/bin/true', args: [], cacheDir: dir }, policy, filter), (e: Error) => {
        assert.ok(e instanceof InputError);
        assert.match(e.message, /^no arm kernel in .*kernels\/arm: fetch it with SYSGATE_CACHE_DIR=\S+ \S*scripts\/fetch-kernels\.sh arm$/);
        assert.ok(!e.message.includes('\n'));
        return true;
      });
    } finally {
      removeDir(dir);
    }
  });

  it('a missing qemu is one line naming the Debian package', async () => {
    const { policy, filter } = await policyFor('13.7', 'aarch64');
    await assert.rejects(runInVm({ target: 'codesafe5', program: '/bin/true', args: [], env: { PATH: '/nonexistent' } }, policy, filter), (e: Error) => {
      assert.ok(e instanceof InputError);
      assert.equal(e.message, 'qemu-system-aarch64 not found: apt-get install qemu-system-arm');
      return true;
    });
  });

  it('a dynamic program brings its interpreter and libraries, found in a Debian-style sysroot (absolute symlinks stay inside it)', function () {
    requireTool(this, 'arm-linux-gnueabihf-gcc', 'gcc-arm-linux-gnueabihf');
    const dir = tempDir();
    try {
      const prog = compileC('arm-linux-gnueabihf-gcc', dir, 'p', CLEAN, ['-O2']);
      const root = join(dir, 'sysroot');
      const multi = join(root, 'lib/arm-linux-gnueabihf');
      mkdirSync(multi, { recursive: true });
      for (const f of ['ld-linux-armhf.so.3', 'libc.so.6']) copyFileSync(`/usr/arm-linux-gnueabihf/lib/${f}`, join(multi, f));
      symlinkSync('/lib/arm-linux-gnueabihf/ld-linux-armhf.so.3', join(root, 'lib/ld-linux-armhf.so.3'));
      const g = collectGuest(prog, 'arm', vmMachine('arm'), root);
      assert.deepEqual(g.files, [
        { guest: '/lib/ld-linux-armhf.so.3', host: join(multi, 'ld-linux-armhf.so.3') },
        { guest: '/lib/libc.so.6', host: join(multi, 'libc.so.6') },
      ]);
      const empty = join(dir, 'empty');
      mkdirSync(empty);
      assert.throws(
        () => collectGuest(prog, 'arm', vmMachine('arm'), empty),
        /interpreter \/lib\/ld-linux-armhf\.so\.3 is not in the sysroot .*empty \(--sysroot DIR\)$/,
      );
      assert.throws(() => collectGuest(prog, 'aarch64', vmMachine('aarch64'), root), /an arm program, not aarch64$/);
    } finally {
      removeDir(dir);
    }
  });

  it('the kernel cache follows SYSGATE_CACHE_DIR', () => {
    assert.equal(kernelDir('arm', { SYSGATE_CACHE_DIR: '/x' }), '/x/kernels/arm');
    assert.equal(kernelDir('aarch64', { HOME: '/h', XDG_CACHE_HOME: '/c' }), join('/c', 'sysgate', 'kernels', 'aarch64'));
  });
});

describe('run in a VM: ARM programs in a real ARM kernel (qemu-system-arm)', function () {
  this.timeout(60_000);
  let dir: string;
  let progs: { staticRnd: string; dynRnd: string; clean: string };

  before(function () {
    requireTool(this, 'qemu-system-arm', 'qemu-system-arm');
    requireTool(this, 'arm-linux-gnueabihf-gcc', 'gcc-arm-linux-gnueabihf');
    requireKernel(this, 'arm');
    dir = tempDir();
    mkdirSync(defaultCacheDir(env), { recursive: true });
    progs = {
      staticRnd: compileC('arm-linux-gnueabihf-gcc', dir, 'rnd-static', RANDOM, ['-O2', '-static']),
      dynRnd: compileC('arm-linux-gnueabihf-gcc', dir, 'rnd-dyn', RANDOM, ['-O2']),
      clean: compileC('arm-linux-gnueabihf-gcc', dir, 'clean', CLEAN, ['-O2']),
    };
  });
  after(() => {
    if (dir) removeDir(dir);
  });

  for (const kind of ['static', 'dynamic'] as const) {
    it(`13.7, ${kind}: getrandom gets ENOSYS (the program prints errno 38) and the report lists it`, async () => {
      const { report, stdout, stderr } = await run(kind === 'static' ? progs.staticRnd : progs.dynRnd, [], '13.7', 'arm');
      console.log(`      (arm ${kind} boot and run: ${bootSeconds(report)} s)`);
      assert.equal(stdout, 'getrandom: errno=38\n');
      assert.equal(stderr, 'to-stderr\n');
      assert.deepEqual(report.exit, { code: 3, signal: null });
      assert.equal(report.mode, 'enforced');
      assert.equal(report.runner.kind, 'qemu-system');
      assert.match(report.runner.detail, /^qemu-system-arm -M virt -cpu cortex-a15 .*Linux 6\.\d+\.\d+-\d+-armmp/);
      const g = report.denied.find((d) => d.name === 'getrandom');
      assert.ok(g, JSON.stringify(report.denied));
      assert.equal(g.nr, syscallNumber('arm', 'getrandom'));
      assert.equal(g.action, 'errno:ENOSYS');
      assert.ok(g.count >= 1 && g.where.length >= 1 && g.where.length <= 8);
      const w = g.where[0]!;
      assert.match(w.ip, /^0x[0-9a-f]+$/);
      // Guest paths are mapped back to the host's files: the program, or libc from the sysroot.
      if (kind === 'static') {
        assert.equal(w.object, progs.staticRnd);
        assert.ok(w.function, 'a static program has symbols: the call site is named');
      } else {
        assert.match(w.object!, /^\/usr\/arm-linux-gnueabihf\/lib\/libc\.so\.6$/);
      }
      assert.equal(report.killed, undefined);
      // Every denied call's answer is what the policy says (the device's answer).
      const { policy } = await policyFor('13.7', 'arm');
      for (const d of report.denied) assert.equal(d.action, formatAction(evaluatePolicy(policy, d.nr)));
    });
  }

  it('13.5: the process is killed at start-up (set_robust_list or rseq), as check predicts', async () => {
    const { report, stdout } = await run(progs.staticRnd, [], '13.5', 'arm');
    assert.equal(stdout, '');
    assert.deepEqual(report.exit, { code: null, signal: 'SIGSYS' });
    assert.ok(report.killed);
    assert.ok(['set_robust_list', 'rseq'].includes(report.killed.name), report.killed.name);
    const { policy } = await policyFor('13.5', 'arm');
    assert.equal(evaluatePolicy(policy, report.killed.nr).kind, 'kill-process');
    assert.equal(report.denied.at(-1)!.action, 'kill-process');
    assert.ok(report.notes.includes(`killed (SIGSYS on the device) at ${report.killed.name}`));
    // check, on the same file, names the call that killed it as fatal.
    const checked = checkFile(progs.staticRnd, progs.staticRnd, await loadTarget('codesafe5'), { firmware: '13.5' }, true);
    assert.ok(checked && 'syscalls' in checked);
    const f = checked.syscalls.find((x) => x.name === report.killed!.name);
    assert.ok(f, `check does not name ${report.killed.name}`);
    assert.equal(f.severity, 'fatal');
    assert.equal(f.action, 'kill-process');
  });

  it('13.7: a clean program exits 0; its arguments, the files they name (relative to the cwd) and stdin pass through', async () => {
    writeFileSync(join(dir, 'data.txt'), 'relative data\n');
    writeFileSync(join(dir, 'abs.txt'), 'absolute data\n');
    const { report, stdout } = await run(progs.clean, ['one', 'two words', 'data.txt', join(dir, 'abs.txt')], '13.7', 'arm', 'from stdin\n', dir);
    assert.equal(stdout, `arg one\narg two words\nfile data.txt: relative data\nfile ${join(dir, 'abs.txt')}: absolute data\nfrom stdin\n`);
    assert.deepEqual(report.exit, { code: 0, signal: null });
    assert.equal(report.killed, undefined);
    assert.ok(
      report.denied.every((d) => d.action === 'errno:ENOSYS'),
      JSON.stringify(report.denied),
    );
  });
});

describe('run in a VM: AArch64 programs in a real arm64 kernel (qemu-system-aarch64)', function () {
  this.timeout(60_000);
  let dir: string;
  before(function () {
    requireTool(this, 'qemu-system-aarch64', 'qemu-system-arm');
    requireTool(this, 'aarch64-linux-gnu-gcc', 'gcc-aarch64-linux-gnu');
    requireKernel(this, 'aarch64');
    dir = tempDir();
  });
  after(() => {
    if (dir) removeDir(dir);
  });

  it('13.7, dynamic: getrandom gets ENOSYS and the report lists it', async () => {
    const prog = compileC('aarch64-linux-gnu-gcc', dir, 'rnd', RANDOM, ['-O2']);
    const { report, stdout } = await run(prog, [], '13.7', 'aarch64');
    console.log(`      (aarch64 boot and run: ${bootSeconds(report)} s)`);
    assert.equal(stdout, 'getrandom: errno=38\n');
    assert.deepEqual(report.exit, { code: 3, signal: null });
    assert.match(report.runner.detail, /^qemu-system-aarch64 -M virt -cpu cortex-a57 .*Linux 6\.\d+\.\d+-\d+-arm64/);
    const g = report.denied.find((d) => d.name === 'getrandom');
    assert.ok(g);
    assert.equal(g.nr, 278);
    assert.equal(g.action, 'errno:ENOSYS');
    assert.equal(g.where[0]!.function, 'getrandom');
  });
});
