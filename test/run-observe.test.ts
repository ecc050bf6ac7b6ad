/**
 * `sysgate run` for ppc64 (no kernel to be had): the program runs under qemu-ppc64 -strace, every
 * observed call is judged against the policy, and the report says it was observed, not enforced.
 */
import assert from 'node:assert/strict';
import { compileFilter, encodeFilter } from '../src/bpf/index.ts';
import { InputError } from '../src/errors.ts';
import { evaluatePolicy } from '../src/policy/call.ts';
import { loadTarget } from '../src/policy/load.ts';
import { resolvePolicy } from '../src/policy/resolve.ts';
import { judgeObserved, parseQemuStrace, runObserved } from '../src/run/observe.ts';
import type { RunReport } from '../src/run/types.ts';
import { syscallNumber } from '../src/syscalls/table.ts';
import { compileC, removeDir, tempDir } from './helpers/build.ts';
import { requireTool } from './helpers/tools.ts';

const RANDOM = `#include <errno.h>
#include <stdio.h>
#include <sys/random.h>
int main(void) {
  char b[8];
  ssize_t r = getrandom(b, sizeof b, 0);
  printf("getrandom: %zd\\n", r);
  return 0;
}
`;

async function policy(firmware: string) {
  return resolvePolicy(await loadTarget('codesafe5'), { firmware, arch: 'ppc64' });
}

describe('run observed (qemu-user -strace): the log', () => {
  it('reads calls, unknown-numbered calls and blocked halves, not results or signals', () => {
    const calls = parseQemuStrace(
      [
        '77 openat(AT_FDCWD,"/a,b(c)",O_RDONLY|O_CLOEXEC) = 3',
        '77 Unknown syscall 387',
        '77 read(0,0x4000,10',
        ' = 10',
        '--- SIGCHLD {si_signo=SIGCHLD} ---',
        '78 getrandom(0x4002821360,8,0) = 8',
        '77 exit_group(0)',
      ].join('\n'),
    );
    assert.deepEqual(
      calls.map((c) => c.name || `#${c.nr}`),
      ['openat', '#387', 'read', 'getrandom', 'exit_group'],
    );
    assert.deepEqual(calls[0]!.args, ['AT_FDCWD', '"/a,b(c)"', 'O_RDONLY|O_CLOEXEC']);
    assert.deepEqual(calls[3]!.args, ['0x4002821360', '8', '0']);
    assert.equal(calls[3]!.pid, 78);
  });

  it('judges each call by the policy: first denied call first, rseq named from its number', async () => {
    const p = await policy('13.7');
    const j = judgeObserved(parseQemuStrace('1 brk(NULL) = 0\n1 Unknown syscall 387\n1 getrandom(0x1,8,0) = 8\n1 getrandom(0x2,8,1) = 8\n'), p);
    assert.deepEqual(
      j.denied.map((d) => [d.name, d.count, d.action]),
      [
        ['rseq', 1, 'errno:ENOSYS'],
        ['getrandom', 2, 'errno:ENOSYS'],
      ],
    );
    assert.deepEqual(j.first, { name: 'rseq', nr: 387, action: 'errno:ENOSYS' });
  });
});

describe('run observed: a ppc64 program under qemu-ppc64', function () {
  this.timeout(30_000);
  let dir: string;
  let prog: string;
  before(function () {
    requireTool(this, 'qemu-ppc64', 'qemu-user');
    requireTool(this, 'powerpc64-linux-gnu-gcc', 'gcc-powerpc64-linux-gnu libc6-dev-ppc64-cross');
    dir = tempDir();
    prog = compileC('powerpc64-linux-gnu-gcc', dir, 'rnd', RANDOM, ['-O2']);
  });
  after(() => {
    if (dir) removeDir(dir);
  });

  async function run(firmware: string): Promise<{ report: RunReport; stdout: string }> {
    const p = await policy(firmware);
    const f = compileFilter([p]);
    const out: Buffer[] = [];
    const report = await runObserved(
      { target: 'codesafe5', firmware, program: prog, args: [], io: { stdout: (b) => out.push(Buffer.from(b)), stderr: () => {} } },
      p,
      encodeFilter(f.insns, f.endian),
    );
    return { report, stdout: Buffer.concat(out).toString() };
  }

  it("13.7: getrandom is listed as denied (observed), with the device's answer; the run itself was not filtered", async () => {
    const { report, stdout } = await run('13.7');
    assert.equal(stdout, 'getrandom: 8\n', 'observed, not enforced: the call really ran');
    assert.equal(report.mode, 'observed');
    assert.equal(report.runner.kind, 'qemu-user');
    assert.match(report.runner.detail, /^qemu-ppc64 -L \/usr\/powerpc64-linux-gnu -strace$/);
    assert.deepEqual(report.exit, { code: 0, signal: null });
    const g = report.denied.find((d) => d.name === 'getrandom');
    assert.ok(g, JSON.stringify(report.denied));
    assert.equal(g.nr, syscallNumber('ppc64', 'getrandom'));
    assert.equal(g.action, 'errno:ENOSYS');
    assert.ok(report.notes[0]!.startsWith('observed, not enforced'));
    assert.match(report.notes[1]!, /first denied call is \w+ \(errno:ENOSYS\)/);
    assert.equal(report.killed, undefined);
  });

  it('13.5: says where the device would have killed it', async () => {
    const { report } = await run('13.5');
    assert.ok(report.killed);
    const p = await policy('13.5');
    assert.equal(evaluatePolicy(p, report.killed.nr).kind, 'kill-process');
    assert.equal(report.denied[0]!.name, report.killed.name, 'the first denied call is the one that kills');
    assert.match(report.notes[1]!, new RegExp(`would have been killed \\(SIGSYS\\) at its first ${report.killed.name} call`));
  });

  it('a missing qemu-ppc64 is one line naming the Debian package', async () => {
    const p = await policy('13.7');
    await assert.rejects(runObserved({ target: 'codesafe5', program: prog, args: [], env: { PATH: '/nonexistent' } }, p, new Uint8Array()), (e: Error) => {
      assert.ok(e instanceof InputError);
      assert.equal(e.message, 'qemu-ppc64 not found: apt-get install qemu-user');
      return true;
    });
  });
});
