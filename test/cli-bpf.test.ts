import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeFilter } from '../src/bpf/index.ts';
import { removeDir, tempDir } from './helpers/build.ts';
import { cli } from './helpers/cli.ts';

describe('cli: sysgate bpf', () => {
  let dir: string;
  before(async () => {
    dir = tempDir();
    const r = await cli(['generate', '-t', 'codesafe5', '-f', '13.7', '-a', 'all', '--format', 'bpf', '-o', dir, '-q']);
    assert.equal(r.code, 0, r.stderr);
    // A filter some other tool made: no arch check, allows everything.
    writeFileSync(join(dir, 'lax.bpf'), encodeFilter([{ code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 }], 'little'));
  });
  after(() => removeDir(dir));

  it('run: the action for a name, a number, and arguments', async () => {
    const f = join(dir, 'codesafe5-13.7-arm.bpf');
    const g = await cli(['bpf', 'run', f, '--arch', 'arm', '--syscall', 'getrandom', '--json']);
    assert.equal(g.code, 0, g.stderr);
    assert.equal(JSON.parse(g.stdout).action, 'errno:ENOSYS');
    const ok = await cli(['bpf', 'run', f, '--arch', 'arm', '--syscall', 'nice', '--args', '5', '--json']);
    assert.equal(JSON.parse(ok.stdout).action, 'allow');
    const neg = await cli(['bpf', 'run', f, '--arch', 'arm', '--syscall', 'nice', '--args=-1', '--json']);
    assert.equal(JSON.parse(neg.stdout).action, 'errno:ENOSYS');
    const foreign = await cli(['bpf', 'run', f, '--arch', 'arm', '--syscall', '3', '--audit-arch', 'aarch64', '--json']);
    assert.equal(JSON.parse(foreign.stdout).action, 'kill-process');
    const big = await cli(['bpf', 'run', join(dir, 'codesafe5-13.7-ppc.bpf'), '--arch', 'ppc', '--syscall', 'openat']);
    assert.match(big.stdout, /^openat on ppc: allow/);
  });

  it('disasm names loads, arches and syscalls', async () => {
    const r = await cli(['bpf', 'disasm', join(dir, 'codesafe5-13.7-x86_64.bpf'), '--arch', 'x86_64']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^\s*0: ld\s+\[arch\]/);
    assert.match(r.stdout, /x86_64/);
  });

  it('audit passes our filters and fails a filter with no arch check (exit 1)', async () => {
    for (const a of ['arm', 'ppc', 'aarch64', 'x86_64']) {
      const r = await cli(['bpf', 'audit', join(dir, `codesafe5-13.7-${a}.bpf`), '--arch', a, '--json']);
      assert.equal(r.code, 0, `${a}: ${r.stdout}`);
      const rep = JSON.parse(r.stdout);
      assert.equal(rep.loadsArchFirst, true);
      assert.deepEqual(rep.foreignArchAllowed, []);
      assert.equal(rep.unconditionalAllowsCacheable, true);
      if (a === 'x86_64') assert.equal(rep.x32Guarded, true);
    }
    const lax = await cli(['bpf', 'audit', join(dir, 'lax.bpf'), '--arch', 'x86_64']);
    assert.equal(lax.code, 1);
    assert.match(lax.stdout, /arch/i);
  });

  it('bad input: one line, exit 2', async () => {
    writeFileSync(join(dir, 'odd.bpf'), 'abc');
    for (const args of [
      ['bpf', 'audit', join(dir, 'odd.bpf'), '--arch', 'arm'],
      ['bpf', 'audit', join(dir, 'missing.bpf'), '--arch', 'arm'],
      ['bpf', 'run', join(dir, 'codesafe5-13.7-arm.bpf'), '--arch', 'arm', '--syscall', 'getrandm'],
      ['bpf', 'run', join(dir, 'codesafe5-13.7-arm.bpf'), '--arch', 'sparc', '--syscall', 'read'],
      ['bpf', 'frob', join(dir, 'codesafe5-13.7-arm.bpf'), '--arch', 'arm'],
    ]) {
      const r = await cli(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });
});
