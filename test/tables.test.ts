import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARCH_NAMES, ARCHES, type ArchName, archByAudit, archByElfMachine, lookupArch } from '../src/syscalls/arches.ts';
import { FAMILIES, replacementsOf, twinsOf } from '../src/syscalls/families.ts';
import { allSyscallNames, isKnownSyscall, syscallName, syscallNumber, syscallsOn, tableMax } from '../src/syscalls/table.ts';
import { ROOT } from './helpers/paths.ts';
import { requireTool } from './helpers/tools.ts';

describe('syscall tables', () => {
  it('regenerates byte-identical from the committed CSV', () => {
    const file = join(ROOT, 'src/syscalls/table.generated.ts');
    const before = readFileSync(file);
    execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/gen-tables.ts')], { cwd: ROOT, stdio: 'pipe' });
    assert.ok(readFileSync(file).equals(before), 'scripts/gen-tables.ts output differs from the committed table');
  });

  it('knows the numbers the kernel uses (spot checks from the kernel syscall.tbl files)', () => {
    const rows: [string, string, number | null][] = [
      ['arm', 'set_tls', 0xf0005],
      ['arm', 'breakpoint', 0xf0001],
      ['arm', 'cacheflush', 0xf0002],
      ['arm', 'usr26', 0xf0003],
      ['arm', 'usr32', 0xf0004],
      ['arm', 'mmap2', 192],
      ['arm', 'mmap', null],
      ['arm', 'clock_gettime64', 403],
      ['arm', 'futex_time64', 422],
      ['arm', 'getrandom', 384],
      ['arm', 'socket', 281],
      ['arm', 'socketcall', null],
      ['arm', 'fstatat64', 327],
      ['arm', 'newfstatat', null],
      ['aarch64', 'openat', 56],
      ['aarch64', 'open', null],
      ['aarch64', 'getrandom', 278],
      ['x86_64', 'read', 0],
      ['x86_64', 'arch_prctl', 158],
      ['x86_64', 'getrandom', 318],
      ['x86_64', 'newfstatat', 262],
      ['i386', 'socketcall', 102],
      ['i386', 'socket', 359],
      ['ppc', 'poll', 167],
      ['ppc', 'rt_sigreturn', 172],
      ['ppc', 'getdents64', 202],
      ['ppc', 'futex', 221],
      ['ppc', 'openat', 286],
      ['ppc', 'socket', 326],
      ['ppc', 'accept4', 344],
      ['ppc', 'statx', 383],
      ['ppc', 'fstatat64', 291],
      ['ppc', 'newfstatat', null],
      ['ppc64', 'newfstatat', 291],
      ['ppc64', 'fstatat64', null],
    ];
    for (const [arch, name, nr] of rows) assert.equal(syscallNumber(arch as 'arm', name), nr, `${arch} ${name}`);
  });

  it("maps numbers back to names and knows each arch's end", () => {
    assert.equal(syscallName('arm', 0xf0005), 'set_tls');
    assert.equal(syscallName('x86_64', 0), 'read');
    assert.equal(syscallName('arm', 0xf0006), 'get_tls');
    assert.equal(tableMax('arm'), 0xf0006); // __ARM_NR_get_tls, the last ARM-private call
    assert.ok(tableMax('x86_64') >= 460 && tableMax('x86_64') < 600);
    for (const a of ARCH_NAMES) {
      const list = syscallsOn(a);
      assert.ok(list.length > 250, `${a} has ${list.length} syscalls`);
      assert.deepEqual(
        list.map((x) => x.nr),
        [...list.map((x) => x.nr)].sort((x, y) => x - y),
      );
    }
    assert.equal(isKnownSyscall('getrandom'), true);
    assert.equal(isKnownSyscall('getrandomm'), false);
  });

  it('agrees with libseccomp (scmp_sys_resolver) wherever libseccomp 2.5.4 knows the call', function () {
    requireTool(this, 'scmp_sys_resolver', 'seccomp');
    this.timeout(120_000);
    const libArch: Record<string, string> = { i386: 'x86', x86_64: 'x86_64', arm: 'arm', aarch64: 'aarch64', ppc: 'ppc', ppc64: 'ppc64' };
    const names = allSyscallNames();
    const script = ARCH_NAMES.map((a) => `for n in ${names.join(' ')}; do printf '%s %s ' ${a} $n; scmp_sys_resolver -a ${libArch[a]} $n; done`).join('\n');
    const out = spawnSync('bash', ['-c', script], { encoding: 'utf8', maxBuffer: 1 << 24 }).stdout;
    const disagreements: string[] = [];
    let compared = 0;
    for (const line of out.trim().split('\n')) {
      const [arch, name, libStr] = line.split(' ') as [string, string, string];
      const lib = Number(libStr);
      const ours = syscallNumber(arch as 'arm', name);
      if (lib === -1 || Number.isNaN(lib)) continue; // libseccomp 2.5.4 does not know it at all
      compared++;
      if (lib === (ours ?? -1)) continue;
      // Known, explained disagreements:
      // 1. libseccomp 2.5.4 gives ppc/ppc64/i386 socket and ipc calls negative pseudo numbers
      //    (routed through socketcall/ipc); the kernel has had direct syscalls for them (ppc 326+,
      //    i386 359+ and 393+) since 4.3/5.1, and that is what a filter sees.
      if (lib < 0 && ['ppc', 'ppc64', 'i386'].includes(arch) && ours !== null) continue;
      // 2. A pseudo number for a call the arch does not have at all is libseccomp's way of saying absent.
      if (lib < 0 && ours === null) continue;
      disagreements.push(`${arch} ${name}: ours ${ours} libseccomp ${lib}`);
    }
    assert.ok(compared > 2000, `only ${compared} comparisons`);
    assert.deepEqual(disagreements, []);
  });
});

describe('arch records', () => {
  it('has the AUDIT_ARCH values and ELF machines of the kernel headers', () => {
    assert.equal(ARCHES.x86_64.auditArch, 0xc000003e);
    assert.equal(ARCHES.i386.auditArch, 0x40000003);
    assert.equal(ARCHES.arm.auditArch, 0x40000028);
    assert.equal(ARCHES.aarch64.auditArch, 0xc00000b7);
    assert.equal(ARCHES.ppc.auditArch, 0x00000014);
    assert.equal(ARCHES.ppc64.auditArch, 0x80000015);
    assert.equal(archByAudit(0xc000003e)?.name, 'x86_64');
    assert.equal(archByElfMachine(40, 32)?.name, 'arm');
    assert.equal(archByElfMachine(20, 32)?.name, 'ppc');
    assert.equal(archByElfMachine(21, 64)?.name, 'ppc64');
    assert.equal(lookupArch('armhf')?.name, 'arm');
    assert.equal(lookupArch('amd64')?.name, 'x86_64');
    assert.equal(lookupArch('sparc'), undefined);
  });

  it("holds the call graph's relocation types as elf.h defines them", function () {
    // The C library's elf.h is the reference (R_<ARCH>_GLOB_DAT, _JUMP_SLOT or _JMP_SLOT, ...).
    const path = '/usr/include/elf.h';
    if (!existsSync(path)) this.skip();
    const h = readFileSync(path, 'utf8');
    const define = (name: string): number | undefined => {
      const m = new RegExp(`^#define\\s+${name}\\s+(\\w+)`, 'm').exec(h);
      if (!m) return undefined;
      return /^\d+$/.test(m[1]!) ? Number(m[1]) : define(m[1]!); // R_PPC64_GLOB_DAT is R_PPC_GLOB_DAT
    };
    const prefix: Record<ArchName, string> = { x86_64: 'R_X86_64', i386: 'R_386', arm: 'R_ARM', aarch64: 'R_AARCH64', ppc: 'R_PPC', ppc64: 'R_PPC64' };
    for (const a of ARCH_NAMES) {
      const p = prefix[a];
      const got = ARCHES[a].relocs;
      assert.deepEqual(
        got,
        {
          globDat: define(`${p}_GLOB_DAT`),
          jumpSlot: define(`${p}_JUMP_SLOT`) ?? define(`${p}_JMP_SLOT`),
          relative: define(`${p}_RELATIVE`),
          irelative: define(`${p}_IRELATIVE`),
        },
        a,
      );
    }
  });

  it('names essentials that exist on their arch', () => {
    assert.deepEqual(ARCHES.arm.essentials, ['set_tls']);
    assert.deepEqual(ARCHES.x86_64.essentials, ['arch_prctl']);
    for (const a of ARCH_NAMES) for (const e of ARCHES[a].essentials) assert.notEqual(syscallNumber(a, e), null, `${a} ${e}`);
  });
});

describe('syscall families', () => {
  it('lists only real syscalls', () => {
    for (const f of FAMILIES) for (const m of f.members) assert.ok(isKnownSyscall(m), `${f.id}: ${m}`);
  });

  it('pairs the twins the issue names', () => {
    const pairs = [
      ['mmap', 'mmap2'],
      ['stat', 'stat64'],
      ['fstat', 'fstat64'],
      ['lstat', 'lstat64'],
      ['newfstatat', 'fstatat64'],
      ['fcntl', 'fcntl64'],
      ['getrlimit', 'ugetrlimit'],
      ['select', '_newselect'],
      ['statfs', 'statfs64'],
      ['getuid', 'getuid32'],
      ['clock_gettime', 'clock_gettime64'],
      ['futex', 'futex_time64'],
    ];
    for (const [a, b] of pairs) {
      assert.ok(
        twinsOf(a!).some((t) => t.name === b),
        `${a} ~ ${b}`,
      );
      assert.ok(
        twinsOf(b!).some((t) => t.name === a),
        `${b} ~ ${a}`,
      );
    }
  });

  it('replaces in one direction only for multiplexers and legacy calls', () => {
    assert.ok(replacementsOf('socketcall').some((r) => r.name === 'socket'));
    assert.ok(!replacementsOf('socket').some((r) => r.name === 'socketcall'));
    assert.ok(replacementsOf('waitpid').some((r) => r.name === 'wait4'));
    assert.ok(!replacementsOf('wait4').some((r) => r.name === 'waitpid'));
    // every arch lacking a legacy call has at least one of its replacements
    for (const f of FAMILIES.filter((x) => x.kind === 'legacy' || x.kind === 'multiplexer')) {
      for (const a of ARCH_NAMES) {
        if (syscallNumber(a, f.members[0]!) !== null) continue;
        assert.ok(
          f.members.slice(1).some((m) => syscallNumber(a, m) !== null),
          `${f.id} on ${a}`,
        );
      }
    }
  });
});

describe('shipped targets', () => {
  it('regenerate byte-identical from the seeds copied into scripts/data', () => {
    const files = [
      'targets/codesafe5.json',
      'targets/enclave-x86_64.json',
      'targets/groups/systemd.json',
      'docs/targets/codesafe5.md',
      'docs/targets/enclave-x86_64.md',
    ].map((f) => join(ROOT, f));
    const before = files.map((f) => readFileSync(f));
    execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/gen-targets.ts')], { cwd: ROOT, stdio: 'pipe' });
    files.forEach((f, i) => assert.ok(readFileSync(f).equals(before[i]!), `${f} differs from scripts/gen-targets.ts output`));
  });
});
