import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readElf } from '../src/elf/reader.ts';
import { findSyscallSites } from '../src/elf/sites/index.ts';
import type { SyscallSite } from '../src/elf/types.ts';
import type { ArchName } from '../src/syscalls/arches.ts';
import { compileC, removeDir, tempDir } from './helpers/build.ts';
import { buildFor, read, TOOLCHAINS } from './helpers/elf-build.ts';
import { ROOT } from './helpers/paths.ts';
import { hasTool, requireTool } from './helpers/tools.ts';

interface Expect {
  fn: string;
  number: number | null;
  isa: SyscallSite['isa'];
  kind: SyscallSite['kind'];
}

/** The raw inline-asm syscalls of test/fixtures/elf/prog.c, with the numbers they use. */
const RAW: Record<string, Expect[]> = {
  x86_64: [
    { fn: 'raw_getpid', number: 39, isa: 'x86_64', kind: 'syscall' },
    { fn: 'raw_gettid', number: 186, isa: 'x86_64', kind: 'syscall' },
    { fn: 'raw_read0', number: 0, isa: 'x86_64', kind: 'syscall' },
    { fn: 'raw_dynamic', number: null, isa: 'x86_64', kind: 'syscall_wrapper' },
    { fn: 'raw_int80', number: 20, isa: 'x86_64', kind: 'int80' },
  ],
  arm: [
    { fn: 'raw_getpid', number: 20, isa: 'thumb', kind: 'svc' },
    { fn: 'raw_gettid', number: 224, isa: 'thumb', kind: 'svc' },
    { fn: 'raw_getppid_arm', number: 64, isa: 'arm', kind: 'svc' },
    { fn: 'raw_dynamic', number: null, isa: 'thumb', kind: 'syscall_wrapper' },
  ],
  aarch64: [
    { fn: 'raw_getpid', number: 172, isa: 'aarch64', kind: 'svc' },
    { fn: 'raw_gettid', number: 178, isa: 'aarch64', kind: 'svc' },
    { fn: 'raw_dynamic', number: null, isa: 'aarch64', kind: 'syscall_wrapper' },
  ],
  ppc64: [
    { fn: 'raw_getpid', number: 20, isa: 'ppc', kind: 'sc' },
    { fn: 'raw_gettid', number: 207, isa: 'ppc', kind: 'sc' },
    { fn: 'raw_dynamic', number: null, isa: 'ppc', kind: 'syscall_wrapper' },
  ],
  ppc: [
    { fn: 'raw_getpid', number: 20, isa: 'ppc', kind: 'sc' },
    { fn: 'raw_gettid', number: 207, isa: 'ppc', kind: 'sc' },
    { fn: 'raw_dynamic', number: null, isa: 'ppc', kind: 'syscall_wrapper' },
  ],
};

/** getpid and pipe2 numbers per arch, to check glibc's own sites in static binaries. */
const NR: Partial<Record<ArchName, { getpid: number; pipe2: number; eventfd2: number }>> = {
  x86_64: { getpid: 39, pipe2: 293, eventfd2: 290 },
  arm: { getpid: 20, pipe2: 359, eventfd2: 356 },
  aarch64: { getpid: 172, pipe2: 59, eventfd2: 19 },
  ppc: { getpid: 20, pipe2: 317, eventfd2: 314 },
  ppc64: { getpid: 20, pipe2: 317, eventfd2: 314 },
};

function rawSites(sites: SyscallSite[]): Expect[] {
  return sites.filter((s) => s.function?.startsWith('raw_')).map((s) => ({ fn: s.function!, number: s.number, isa: s.isa, kind: s.kind }));
}

/** Addresses of trap instructions according to objdump -d. */
function objdumpTraps(objdump: string, path: string): number[] {
  const out = execFileSync(objdump, ['-d', '--no-show-raw-insn', path], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const addrs: number[] = [];
  const re = /^\s*([0-9a-f]+):\s+(syscall|int\s+\$0x80|svc\b|sc\b|scv\s+0\b|swi\b)/;
  for (const line of out.split('\n')) {
    const m = re.exec(line);
    if (m) addrs.push(parseInt(m[1]!, 16));
  }
  return addrs.sort((a, b) => a - b);
}

describe('elf syscall sites', function () {
  for (const tc of TOOLCHAINS) {
    describe(`${tc.arch} (${tc.cc})`, function () {
      let paths: ReturnType<typeof buildFor>;
      before(function () {
        requireTool(this, tc.cc, tc.pkg);
        paths = buildFor(tc);
      });

      it('recovers the numbers of raw inline-asm syscalls (dynamic PIE)', function () {
        const bytes = read(paths.dyn);
        const sites = findSyscallSites(readElf(bytes, paths.dyn), bytes);
        assert.deepEqual(rawSites(sites), RAW[tc.arch]);
        const wrapper = sites.find((s) => s.function === 'raw_dynamic')!;
        assert.match(wrapper.reason ?? '', /caller/);
      });

      it('recovers the numbers in a static binary, including the C library', function () {
        const bytes = read(paths.static);
        const sites = findSyscallSites(readElf(bytes, paths.static), bytes);
        assert.deepEqual(rawSites(sites), RAW[tc.arch]);
        const nr = NR[tc.arch]!;
        const numbersIn = (re: RegExp): (number | null)[] => sites.filter((s) => re.test(s.function ?? '')).map((s) => s.number);
        assert.ok(numbersIn(/^_*getpid$/).includes(nr.getpid), `getpid: ${numbersIn(/^_*getpid$/).join(',')}`);
        assert.ok(numbersIn(/^_*pipe2$/).includes(nr.pipe2), `pipe2: ${numbersIn(/^_*pipe2$/).join(',')}`);
        assert.ok(numbersIn(/^eventfd$/).includes(nr.eventfd2), `eventfd: ${numbersIn(/^eventfd$/).join(',')}`);
        const wrapper = sites.find((s) => s.function === 'syscall');
        assert.equal(wrapper?.kind, 'syscall_wrapper');
        assert.equal(wrapper?.number, null);
        // Unresolved sites always say why; resolved ones never carry a reason.
        for (const s of sites) assert.equal(s.number === null, s.reason !== undefined, JSON.stringify(s));
        const resolved = sites.filter((s) => s.number !== null).length;
        assert.ok(resolved / sites.length > 0.85, `only ${resolved}/${sites.length} resolved`);
        if (tc.arch === 'arm') {
          const calls = sites.filter((s) => s.kind === 'libc_do_syscall');
          assert.ok(calls.length > 10);
          assert.ok(calls.some((s) => s.function === 'getentropy' && s.number === 384));
          const inner = sites.find((s) => s.function === '__libc_do_syscall');
          assert.equal(inner?.number, null);
          assert.match(inner?.reason ?? '', /ip/);
        }
      });

      it('scans the target libc.so.6 (no .symtab, no mapping symbols)', function () {
        if (!existsSync(tc.libc)) this.skip();
        const bytes = read(tc.libc);
        const sites = findSyscallSites(readElf(bytes, tc.libc), bytes);
        const resolved = sites.filter((s) => s.number !== null).length;
        assert.ok(sites.length > 100 && resolved / sites.length > 0.9, `${resolved}/${sites.length} resolved`);
        assert.equal(sites.find((s) => s.function === 'syscall')?.kind, 'syscall_wrapper');
        assert.ok(sites.some((s) => /^_*getpid$/.test(s.function ?? '') && s.number === NR[tc.arch]!.getpid));
        if (tc.arch === 'arm') assert.ok(sites.filter((s) => s.kind === 'libc_do_syscall').length > 100);
      });

      it('finds exactly the trap instructions objdump finds', function () {
        if (!hasTool(tc.objdump)) this.skip();
        for (const path of [paths.dyn, paths.static]) {
          const bytes = read(path);
          const ours = findSyscallSites(readElf(bytes, path), bytes)
            .filter((s) => s.kind !== 'libc_do_syscall')
            .map((s) => s.address);
          assert.deepEqual(ours, objdumpTraps(tc.objdump, path), path);
        }
      });
    });
  }

  it('is faster than objdump -d on a static binary', function () {
    requireTool(this, 'gcc', 'gcc');
    requireTool(this, 'objdump', 'binutils');
    const path = buildFor(TOOLCHAINS[0]!).static;
    const bytes = read(path);
    findSyscallSites(readElf(bytes, path), bytes);
    const t0 = performance.now();
    const sites = findSyscallSites(readElf(bytes, path), bytes);
    const ours = performance.now() - t0;
    const t1 = performance.now();
    execFileSync('objdump', ['-d', path], { maxBuffer: 256 << 20, stdio: ['ignore', 'ignore', 'ignore'] });
    const theirs = performance.now() - t1;
    assert.ok(sites.length > 50);
    assert.ok(ours < theirs, `readElf + findSyscallSites ${ours.toFixed(1)} ms, objdump -d ${theirs.toFixed(1)} ms`);
  });

  describe('hand-made code', function () {
    /** A minimal ELF (no section headers, one PF_X PT_LOAD) around `code`, loaded at `vaddr`. */
    function elf(is64: boolean, machine: number, code: number[], vaddr = 0x401000): Uint8Array {
      const eh = is64 ? 64 : 52;
      const ph = is64 ? 56 : 32;
      const off = 128;
      const out = new Uint8Array(off + code.length);
      const dv = new DataView(out.buffer);
      out.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, 1, 1]);
      dv.setUint16(16, 2, true);
      dv.setUint16(18, machine, true);
      dv.setUint32(20, 1, true);
      if (is64) {
        dv.setBigUint64(24, BigInt(vaddr), true);
        dv.setBigUint64(32, BigInt(eh), true);
        dv.setUint16(52, eh, true);
        dv.setUint16(54, ph, true);
        dv.setUint16(56, 1, true);
        dv.setUint32(eh, 1, true);
        dv.setUint32(eh + 4, 5, true);
        dv.setBigUint64(eh + 8, BigInt(off), true);
        dv.setBigUint64(eh + 16, BigInt(vaddr), true);
        dv.setBigUint64(eh + 32, BigInt(code.length), true);
        dv.setBigUint64(eh + 40, BigInt(code.length), true);
      } else {
        dv.setUint32(24, vaddr, true);
        dv.setUint32(28, eh, true);
        dv.setUint16(40, eh, true);
        dv.setUint16(42, ph, true);
        dv.setUint16(44, 1, true);
        dv.setUint32(eh, 1, true);
        dv.setUint32(eh + 4, off, true);
        dv.setUint32(eh + 8, vaddr, true);
        dv.setUint32(eh + 16, code.length, true);
        dv.setUint32(eh + 20, code.length, true);
        dv.setUint32(eh + 24, 5, true);
      }
      out.set(code, off);
      return out;
    }
    const scan = (bytes: Uint8Array): SyscallSite[] => {
      const e = readElf(bytes, 'hand.elf');
      assert.equal(e.hasSections, false);
      return findSyscallSites(e, bytes);
    };

    it('i386: int $0x80 and call *%gs:0x10, resolved or not', function () {
      const code = [
        0xb8,
        0x14,
        0,
        0,
        0, // mov $20,%eax
        0xcd,
        0x80, // int $0x80
        0xb8,
        0xe0,
        0,
        0,
        0, // mov $224,%eax
        0x8b,
        0x5c,
        0x24,
        0x04, // mov 4(%esp),%ebx
        0x65,
        0xff,
        0x15,
        0x10,
        0,
        0,
        0, // call *%gs:0x10
        0xe8,
        0,
        0,
        0,
        0, // call .+5
        0xcd,
        0x80, // int $0x80: eax is the call's result
        0xc3,
      ];
      const sites = scan(elf(false, 3, code));
      assert.deepEqual(
        sites.map((s) => [s.address - 0x401000, s.isa, s.kind, s.number]),
        [
          [5, 'i386', 'int80', 20],
          [16, 'i386', 'vsyscall', 224],
          [28, 'i386', 'int80', null],
        ],
      );
      assert.match(sites[2]!.reason!, /call/);
    });

    it('x86_64: byte pairs inside instructions are not sites, each path into a join gives its number, copies are followed', function () {
      const code = [
        0xb8,
        0x0f,
        0x05,
        0,
        0, // mov $0x50f,%eax (contains 0f 05)
        0x48,
        0xc7,
        0xc0,
        0x27,
        0,
        0,
        0, // mov $39,%rax
        0x74,
        0x05, // je +5 (to the syscall)
        0xb8,
        0x66,
        0,
        0,
        0, // mov $102,%eax
        0x0f,
        0x05, // syscall: a join point (39 by the je, 102 falling through)
        0xbb,
        0x05,
        0,
        0,
        0, // mov $5,%ebx
        0x89,
        0xd8, // mov %ebx,%eax
        0x0f,
        0x05, // syscall: 5, through ebx
        0x31,
        0xc0, // xor %eax,%eax
        0x66,
        0x0f,
        0x6e,
        0xc0, // movd %eax,%xmm0 (writes xmm0 only)
        0x48,
        0x8d,
        0x7c,
        0x24,
        0x08, // lea 8(%rsp),%rdi
        0x0f,
        0x05, // syscall: read (0)
        0xc3,
      ];
      const sites = scan(elf(true, 62, code));
      assert.deepEqual(
        sites.map((s) => [s.address - 0x401000, s.number]),
        [
          [19, 39],
          [19, 102],
          [28, 5],
          [41, 0],
        ],
      );
      // A path on which eax is not a constant leaves the join unresolved: mov (%rsp),%eax; je +5; mov $102,%eax; syscall.
      const [u] = scan(elf(true, 62, [0x8b, 0x04, 0x24, 0x74, 0x05, 0xb8, 0x66, 0, 0, 0, 0x0f, 0x05, 0xc3]));
      assert.equal(u!.number, null);
      assert.match(u!.reason!, /eax written by an instruction that is not a constant move/);
    });

    it('x86_64: instruction boundaries far from the start of the code, where decoding stays out of step', function () {
      // 1,000 bytes of b8: mov $0xb8b8b8b8,%eax from every fifth offset, so decodes started at
      // different offsets never fall into step; only the sweep from the start tells which 0f 05 is real.
      const code = new Array<number>(1000).fill(0xb8);
      code.splice(495, 5, 0xb8, 0x27, 0, 0, 0); // mov $39,%eax
      code.splice(500, 2, 0x0f, 0x05); // syscall, on a boundary
      code.splice(603, 2, 0x0f, 0x05); // inside the mov at 602: not a site
      code.push(...new Array<number>(200).fill(0x90));
      code.push(0x06, 0xb8, 0x0f, 0x05, 0, 0); // undecodable byte (1200), then 0f 05 inside a mov
      code.push(0x31, 0xc0, 0x0f, 0x05, 0xc3); // xor %eax,%eax; syscall (1208)
      const sites = scan(elf(true, 62, code));
      assert.deepEqual(
        sites.map((s) => [s.address - 0x401000, s.number]),
        [
          [500, 39],
          [1202, null],
          [1208, 0],
        ],
      );
      assert.match(sites[1]!.reason!, /could not be decoded/);
    });

    it('aarch64: movz/movk pairs, and x8 from memory', function () {
      const w = (x: number): number[] => [x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, x >>> 24];
      const code = [
        ...w(0xd2800228), // mov x8, #17
        ...w(0xf2a00028), // movk x8, #1, lsl #16
        ...w(0xd4000001), // svc #0 -> 0x10011
        ...w(0xf9400be8), // ldr x8, [sp, #16]
        ...w(0xd4000001), // svc #0 -> unknown
        ...w(0xd65f03c0), // ret
      ];
      const sites = scan(elf(true, 183, code));
      assert.deepEqual(
        sites.map((s) => [s.address - 0x401000, s.number]),
        [
          [8, 0x10011],
          [16, null],
        ],
      );
    });
  });
});

describe('elf syscall sites: 64-bit PowerPC ELFv1 and ELFv2', () => {
  for (const abi of ['elfv1', 'elfv2'] as const) {
    it(`${abi}: sites are named by the function whose code holds them${abi === 'elfv1' ? ' (through the .opd descriptor)' : ''}`, function () {
      requireTool(this, 'powerpc64-linux-gnu-gcc', 'gcc-powerpc64-linux-gnu');
      const dir = tempDir();
      try {
        const exe = compileC('powerpc64-linux-gnu-gcc', dir, `ppc64-${abi}`, readFileSync(join(ROOT, 'test/fixtures/elf/ppc64-abi.c'), 'utf8'), [
          '-O1',
          `-mabi=${abi}`,
          '-nostdlib',
          '-static',
          '-fno-inline',
        ]);
        const bytes = read(exe);
        const elf = readElf(bytes, exe);
        assert.equal(elf.flags & 3, abi === 'elfv1' ? 1 : 2);
        const sites = findSyscallSites(elf, bytes).map((s) => [s.function, s.number]);
        assert.deepEqual(sites, [
          ['raw_getpid', 20],
          ['_start', 1],
        ]);
      } finally {
        removeDir(dir);
      }
    });
  }
});
