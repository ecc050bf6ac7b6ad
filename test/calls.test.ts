/**
 * syscall() call recovery (src/elf/calls/) on the site scanners' register trackers: the first
 * argument at a call is found by the same backwards walk over the same decoded instructions as
 * a site's number, so what the tracker steps over (stores, other argument set-up) no longer
 * hides a call's number, and bytes of other instructions are never read as a move.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkElf } from '../src/check/analyze.ts';
import { findSyscallCalls } from '../src/elf/calls/index.ts';
import { readElf } from '../src/elf/reader.ts';
import { decode, Insn } from '../src/elf/sites/x86.ts';
import type { ElfInfo } from '../src/elf/types.ts';
import { loadTarget } from '../src/policy/load.ts';
import { syscallNumber } from '../src/syscalls/table.ts';
import { buildFixture, checkTempDir, RUNNERS, TOOLCHAINS } from './helpers/check-build.ts';
import { requireTool } from './helpers/tools.ts';

/** A static x86-64 ElfInfo over `code` at `addr`: one function `f` covering it, and syscall() at `target`. */
function x86Elf(code: Uint8Array, addr: number, target: number): ElfInfo {
  const sym = (name: string, value: number, size: number) => ({ name, value, size, type: 'func', bind: 'global', shndx: 1, dynamic: false });
  return {
    file: 't',
    class: 64,
    endian: 'little',
    machine: 62,
    arch: 'x86_64',
    type: 'exec',
    entry: addr,
    flags: 0,
    needed: [],
    static: true,
    pie: false,
    hasSections: true,
    imports: [],
    exports: [],
    versionDefs: [],
    versionNeeds: [],
    symbols: [sym('f', addr, code.length), sym('syscall', target, 1)],
    mappingSymbols: [],
    exec: [{ name: '.text', addr, offset: 0, size: code.length, shndx: 1 }],
  } as unknown as ElfInfo;
}

/** `code` followed by `call target` (e8 rel32), at `addr`. */
function withCall(code: number[], addr: number, target: number): Uint8Array {
  const b = new Uint8Array(code.length + 5);
  b.set(code);
  b[code.length] = 0xe8;
  new DataView(b.buffer).setInt32(code.length + 1, target - (addr + code.length + 5), true);
  return b;
}

describe('syscall() calls on x86-64: the site scanner decoder and tracker', () => {
  const addr = 0x401000;
  const target = 0x402000;
  const numberAt = (code: number[]) => {
    const calls = findSyscallCalls(x86Elf(withCall(code, addr, target), addr, target), withCall(code, addr, target));
    assert.equal(calls.length, 1, JSON.stringify(calls));
    return calls[0]!;
  };

  it('REX-prefixed moves into r15 are not moves into edi (libstdc++ futex, libcryptsetup keyctl)', () => {
    // mov $0xca,%edi; xor %eax,%eax; mov $1,%r15d: `41 bf 01 00 00 00` ends in what a byte
    // pattern takes for `mov $1,%edi`.
    assert.equal(numberAt([0xbf, 0xca, 0, 0, 0, 0x31, 0xc0, 0x41, 0xbf, 1, 0, 0, 0]).number, 202);
    // mov $0xfa,%edi; xor %eax,%eax; xor %r15d,%r15d (`45 31 ff`, not `xor %edi,%edi`); xor %r14d,%r14d.
    assert.equal(numberAt([0xbf, 0xfa, 0, 0, 0, 0x31, 0xc0, 0x45, 0x31, 0xff, 0x45, 0x31, 0xf6]).number, 250);
  });

  it('steps over stores and follows a copy from a register set earlier; a load into edi stays unresolved', () => {
    // mov $0x7d,%edi; mov %eax,-0x64(%rbp); xor %eax,%eax (node's capget).
    assert.equal(numberAt([0xbf, 0x7d, 0, 0, 0, 0x89, 0x45, 0x9c, 0x31, 0xc0]).number, 125);
    // mov $0x13e,%ebx; mov %rax,(%rsp); mov %ebx,%edi.
    assert.equal(numberAt([0xbb, 0x3e, 1, 0, 0, 0x48, 0x89, 0x04, 0x24, 0x89, 0xdf]).number, 318);
    // mov $0x7d,%edi; mov 0x8(%rsp),%edi: the load wins.
    const c = numberAt([0xbf, 0x7d, 0, 0, 0, 0x8b, 0x7c, 0x24, 0x08]);
    assert.equal(c.number, null);
    assert.match(c.reason!, /edi written by an instruction that is not a constant move/);
  });

  it('a compiled store between `mov $N,%edi` and the call: found, and really called (strace)', async function () {
    requireTool(this, 'gcc', 'gcc');
    const dir = checkTempDir();
    const src = join(dir, 'capget-store.c');
    const exe = join(dir, 'capget-store');
    // node::credentials::SafeGetenv's shape: the header's pid (getpid's result) is stored after
    // the number is set. gcc -O0 sets edi last; -O2 schedules the store in between.
    writeFileSync(
      src,
      [
        '#include <linux/capability.h>',
        '#include <sys/syscall.h>',
        '#include <unistd.h>',
        'int main(void) {',
        '  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, getpid()};',
        '  struct __user_cap_data_struct data[2];',
        '  return syscall(SYS_capget, &hdr, data) == 0 ? 0 : 1;',
        '}',
        '',
      ].join('\n'),
    );
    const cc = spawnSync('gcc', ['-O2', '-fno-omit-frame-pointer', '-o', exe, src], { encoding: 'utf8' });
    assert.equal(cc.status, 0, cc.stderr);
    const b = new Uint8Array(readFileSync(exe));
    const elf = readElf(b, exe);
    const calls = findSyscallCalls(elf, b);
    assert.deepEqual(
      calls.map((c) => [c.number, c.function]),
      [[125, 'main']],
      JSON.stringify(calls),
    );
    // The compiled code has the pattern the test is about: from `mov $0x7d,%edi` to the call,
    // a store of a register to memory (89 /r, mod != 3).
    const text = elf.exec.find((r) => calls[0]!.address >= r.addr && calls[0]!.address < r.addr + r.size)!;
    const main = elf.symbols.find((s) => s.name === 'main')!;
    const d = new Insn();
    const kinds: string[] = [];
    for (let o = text.offset + (main.value - text.addr); o < text.offset + (calls[0]!.address - text.addr); o += d.len) {
      assert.ok(decode(b, o, text.offset + text.size, true, d));
      if (d.map === 0 && d.op === 0xbf && b[o + 1] === 0x7d) kinds.length = 0;
      kinds.push(d.map === 0 && d.op === 0x89 && d.modrm >> 6 !== 3 ? 'store' : 'other');
    }
    assert.ok(kinds.length > 1 && kinds.includes('store'), `no store between the move and the call: ${kinds.join(' ')}`);
    // check says capget, and a run makes it.
    const report = checkElf(b, exe, await loadTarget('enclave-x86_64'), {});
    const f = report.syscalls.find((s) => s.name === 'capget');
    assert.ok(f, report.syscalls.map((s) => s.name).join(' '));
    requireTool(this, 'strace', 'strace');
    const run = spawnSync('strace', ['-f', '-qq', '-e', 'trace=capget', exe], { encoding: 'utf8' });
    assert.match(run.stderr, /capget\(\{version=_LINUX_CAPABILITY_VERSION_3/);
  });

  it('a tail call with a constant number is a call of that number, not a forwarder (gcc -O2 `mov $312,%edi; jmp syscall`)', async function () {
    requireTool(this, 'gcc', 'gcc');
    const dir = checkTempDir();
    const src = join(dir, 'tail.c');
    writeFileSync(
      src,
      [
        '#include <sys/syscall.h>',
        '#include <unistd.h>',
        '__attribute__((noinline)) long wake(int *p) { return syscall(SYS_kcmp, p, 1, 1); }',
        'int main(void) { static int w; return wake(&w) < 0; }',
        '',
      ].join('\n'),
    );
    for (const flags of [[], ['-static'], ['-static', '-s']]) {
      const exe = join(dir, `tail${flags.join('')}`);
      const cc = spawnSync('gcc', ['-O2', ...flags, '-o', exe, src], { encoding: 'utf8' });
      assert.equal(cc.status, 0, cc.stderr);
      const b = new Uint8Array(readFileSync(exe));
      // Where the wrapper is named (dynamic, static), the call finder answers it directly.
      if (!flags.includes('-s')) {
        const mine = findSyscallCalls(readElf(b, exe), b).filter((c) => c.tail);
        assert.deepEqual(
          mine.map((c) => [c.number, c.function]),
          [[312, 'wake']],
          flags.join(' '),
        );
      }
      // And check reports kcmp from a syscall() call, with nothing left unresolved at the jump.
      const report = checkElf(b, exe, await loadTarget('enclave-x86_64'), {});
      const kcmp = report.syscalls.find((x) => x.name === 'kcmp');
      assert.ok(
        kcmp?.via.some((v) => v.kind === 'syscall()'),
        `${flags.join(' ')}: ${JSON.stringify(kcmp?.via.map((v) => v.kind))} unresolved ${JSON.stringify(report.unresolved.map((u) => u.reason))}`,
      );
    }
  });

  it("the host's node: `check --target enclave-x86_64` reports capget (node::credentials::SafeGetenv)", async function () {
    this.timeout(120_000);
    const node = realpathSync(process.execPath);
    const b = new Uint8Array(readFileSync(node));
    const elf = readElf(b, node);
    // Only a node with its own code linked in (not one loading libnode.so) holds the call.
    if (elf.machine !== 62 || !elf.symbols.some((s) => s.name.startsWith('_ZN4node11credentials10SafeGetenv'))) this.skip();
    const report = checkElf(b, node, await loadTarget('enclave-x86_64'), {});
    const f = report.syscalls.find((s) => s.name === 'capget');
    assert.ok(f, 'capget not reported');
    assert.ok(
      f.via.some((v) => v.kind === 'syscall()' && /SafeGetenv/.test(v.function ?? '')),
      JSON.stringify(f.via),
    );
  });
});

describe('syscall() calls through join points: a set of constants is an answer', () => {
  // gcc -O2: `mov $N,%edi; jmp L` / `mov x0,#N; b L` / `movs r0,#N; b.n L` / `li r3,N; b L` in
  // two case blocks placed after the call, the third falling into L: the call. Each way into L
  // is walked back; each number is reported, and each is made.
  const builds = [['x86_64'], ['aarch64'], ['arm'], ['arm', '-marm'], ['ppc'], ['ppc64']] as const;
  for (const [arch, ...flags] of builds) {
    it(`${arch}${flags.length ? ` (${flags.join(' ')})` : ''}: the three numbers a switch chooses are reported at the one call, and a run makes each`, function () {
      const tc = TOOLCHAINS.find((t) => t.arch === arch)!;
      requireTool(this, tc.cc, tc.pkg);
      const exe = buildFixture(tc, 'number-choice', [...flags]);
      const b = new Uint8Array(readFileSync(exe));
      const calls = findSyscallCalls(readElf(b, exe), b);
      const names = ['getppid', 'getpid', 'gettid'];
      const want = names.map((n) => syscallNumber(arch, n)!).sort((x, y) => x - y);
      assert.equal(new Set(calls.map((c) => c.address)).size, 1, JSON.stringify(calls));
      assert.deepEqual(
        calls.map((c) => [c.number, c.function]),
        want.map((n) => [n, 'main']),
      );
      // The run with argc = 1, 2, 3 makes getppid, getpid, gettid.
      const runner = RUNNERS[arch];
      if (runner) requireTool(this, runner.qemu, runner.pkg);
      else requireTool(this, 'strace', 'strace');
      names.forEach((name, extra) => {
        const args = Array.from({ length: extra }, () => 'x');
        const r = runner
          ? spawnSync(runner.qemu, ['-L', runner.root, '-strace', exe, ...args], { encoding: 'utf8' })
          : spawnSync('strace', ['-f', '-qq', '-e', `trace=${names.join(',')}`, exe, ...args], { encoding: 'utf8' });
        assert.equal(r.stdout.split('\n')[0], name);
        assert.match(`${r.stdout}\n${r.stderr}`, new RegExp(`(^|\\s)${name}\\(`, 'm'), `${name}: ${r.stderr.slice(-2000)}`);
      });
    });
  }

  it('a number read at run time stays unresolved (test/fixtures/check/dynamic-number.c, a volatile)', function () {
    for (const tc of TOOLCHAINS) {
      if (!spawnSync('sh', ['-c', `command -v ${tc.cc}`]).stdout.length) continue;
      const exe = buildFixture(tc, 'dynamic-number');
      const b = new Uint8Array(readFileSync(exe));
      const calls = findSyscallCalls(readElf(b, exe), b).filter((c) => c.function === 'main');
      assert.deepEqual(
        calls.map((c) => c.number),
        [null],
        `${tc.arch}: ${JSON.stringify(calls)}`,
      );
    }
  });
});
