/**
 * codesafe5 on ARM is a translation of the vendor's 64-bit PowerPC list: an operation the list
 * allows is allowed under the names a libc really uses for it on ARM (fcntl64, getuid32, mmap2,
 * clock_gettime64, ...). Proven on a program built by the ARM cross compiler, against what
 * qemu-arm -strace sees it call, through check and through the generated filter in the emulator.
 */
import assert from 'node:assert/strict';
import { compileFilter, runFilter } from '../src/bpf/index.ts';
import { checkElf } from '../src/check/analyze.ts';
import { loadTarget } from '../src/policy/load.ts';
import { resolvePolicy } from '../src/policy/resolve.ts';
import { syscallNumber } from '../src/syscalls/table.ts';
import { buildFixture, observe, TOOLCHAINS } from './helpers/check-build.ts';
import { read } from './helpers/elf-build.ts';
import { cli } from './helpers/cli.ts';
import { requireTool } from './helpers/tools.ts';

const arm = TOOLCHAINS.find((t) => t.arch === 'arm')!;

describe('codesafe5 on ARM: operations, not spellings', function () {
  this.timeout(60000);

  it('allows the 32-bit names of allowed operations, and only on the arches that need them', async () => {
    const t = await loadTarget('codesafe5');
    const names = (arch: string) => new Map(resolvePolicy(t, { firmware: '13.7', arch }).rules.map((r) => [r.name, r]));
    const onArm = names('arm');
    for (const [twin, of] of [
      ['fcntl64', 'fcntl'],
      ['getuid32', 'getuid'],
      ['stat64', 'stat'],
      ['fstat64', 'fstat'],
      ['truncate64', 'truncate'],
      ['ftruncate64', 'ftruncate'],
      ['sendfile64', 'sendfile'],
      ['mmap2', 'mmap'],
      ['clock_gettime64', 'clock_gettime'],
      ['futex_time64', 'futex'],
    ] as const) {
      const r = onArm.get(twin);
      assert.ok(r, twin);
      assert.deepEqual(r.provenance.kind === 'family' && r.provenance.of, of, twin);
    }
    // Not on the vendor list, so no twin either.
    for (const n of ['arm_fadvise64_64', 'fadvise64_64', 'getrandom', 'setuid32', 'eventfd2']) assert.ok(!onArm.has(n), n);
    // The vendor's own ABI, and 32-bit ppc (same kernel table: the device's numbers apply as they are), get no translation.
    for (const arch of ['ppc64', 'ppc']) {
      const m = names(arch);
      for (const n of ['fcntl64', 'stat64', 'mmap2', 'clock_gettime64']) assert.ok(!m.has(n), `${arch} ${n}`);
    }
  });

  it('a program using fcntl, getuid, stat, ftruncate, mmap and clock_gettime passes at 13.7; the filter allows what it calls', async function () {
    requireTool(this, arm.cc, arm.pkg);
    requireTool(this, 'qemu-arm', 'qemu-user');
    const exe = buildFixture(arm, 'operations');
    const t = await loadTarget('codesafe5');
    const r = checkElf(read(exe), exe, t, { firmware: '13.7' });
    assert.equal(r.fatal, false, JSON.stringify(r.syscalls.filter((f) => f.severity !== 'ok').map((f) => [f.name, f.verdict])));
    for (const n of ['fcntl64', 'getuid32', 'mmap2', 'clock_gettime64']) {
      assert.equal(r.syscalls.find((f) => f.name === n)?.verdict, 'allowed', n);
    }
    const policy = resolvePolicy(t, { firmware: '13.7', arch: 'arm' });
    const filter = compileFilter([policy]);
    const seen = observe(arm, exe);
    assert.ok(seen.has('fcntl64') && seen.has('getuid32') && seen.has('mmap2'), [...seen].join(' '));
    for (const name of seen) {
      const nr = syscallNumber('arm', name);
      assert.notEqual(nr, null, name);
      const action = runFilter(filter.insns, { nr: nr!, arch: policy.arch.auditArch }, filter.endian).action;
      if (action.kind === 'allow') continue;
      // Denied calls it makes are ones glibc copes with (ENOSYS, then a fallback or nothing), as check says.
      const f = r.syscalls.find((x) => x.name === name);
      assert.ok(f && f.severity === 'ok' && action.kind === 'errno' && action.errno === 38, `${name}: ${JSON.stringify(action)} ${f?.verdict}`);
    }
  });

  it('posix_fadvise is not on the vendor list on any arch: reported by its ARM name, as advice that degrades', async function () {
    requireTool(this, arm.cc, arm.pkg);
    const exe = buildFixture(arm, 'operations', ['-DADVISE']);
    const r = checkElf(read(exe), exe, await loadTarget('codesafe5'), { firmware: '13.7' });
    // posix_fadvise returns the error number and callers carry on: never fatal (issue 13).
    assert.deepEqual(
      r.syscalls.filter((f) => f.severity !== 'ok').map((f) => f.name),
      [],
    );
    assert.equal(r.syscalls.find((f) => f.name === 'arm_fadvise64_64')?.verdict, 'degrades');
  });

  it('a 32-bit ppc program cannot start under the ppc64 list: check says why and what to build; syscalls and explain say which ABI', async function () {
    const ppc = TOOLCHAINS.find((t) => t.arch === 'ppc')!;
    const ppc64 = TOOLCHAINS.find((t) => t.arch === 'ppc64')!;
    requireTool(this, ppc.cc, ppc.pkg);
    requireTool(this, ppc64.cc, ppc64.pkg);
    const t = await loadTarget('codesafe5');
    const r32 = checkElf(read(buildFixture(ppc, 'hello')), 'hello32', t, { firmware: '13.7' });
    assert.equal(r32.syscalls.find((f) => f.name === 'mmap2')?.severity, 'fatal');
    assert.match(r32.abiNote ?? '', /shares ppc64's kernel syscall table.*build for ppc64/);
    const r64 = checkElf(read(buildFixture(ppc64, 'hello')), 'hello64', t, { firmware: '13.7' });
    assert.equal(r64.abiNote, undefined);
    assert.equal(r64.fatal, false, JSON.stringify(r64.syscalls.filter((f) => f.severity === 'fatal').map((f) => f.name)));
    const s = JSON.parse((await cli(['syscalls', '--target', 'codesafe5', '--arch', 'arm', '--json'])).stdout) as { abi: { name: string; here: string } };
    assert.deepEqual([s.abi.name, s.abi.here], ['ppc64', 'translated']);
    assert.match(
      (await cli(['syscalls', '--target', 'codesafe5', '--arch', 'ppc64'])).stdout,
      /^codesafe5 firmware 13\.7 on ppc64: default errno:ENOSYS\nppc64 is the ABI of the target's own table/,
    );
    assert.match((await cli(['explain', '--target', 'codesafe5', '--arch', 'ppc', 'mmap2'])).stdout, /abi: ppc shares ppc64's kernel syscall table/);
    assert.match((await cli(['targets'])).stdout, /names and numbers: the ppc64 syscall ABI/);
  });
});
