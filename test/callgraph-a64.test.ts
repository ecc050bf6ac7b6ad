/**
 * The AArch64 call graph of a --sysroot library (src/elf/graph/a64-refs.ts, dispatched by
 * src/elf/graph/refs.ts): the references decoded from real assembler output, and a program
 * whose two libraries (built here with aarch64-linux-gnu-gcc) reach calls by a direct call, a
 * callback whose address the code forms, and a call through the PLT into the other library,
 * run under qemu-aarch64 -strace: every call the run makes is reported, while the exports
 * nothing reaches no longer count.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkElf } from '../src/check/analyze.ts';
import type { CheckReport } from '../src/check/types.ts';
import { buildCallGraph } from '../src/elf/callgraph.ts';
import { a64Refs } from '../src/elf/graph/a64-refs.ts';
import { readElf } from '../src/elf/reader.ts';
import type { ElfInfo } from '../src/elf/types.ts';
import { inMemory } from '../src/elf/source.ts';
import { evaluatePolicy } from '../src/policy/call.ts';
import { loadTarget } from '../src/policy/load.ts';
import { resolvePolicy } from '../src/policy/resolve.ts';
import type { TargetDef } from '../src/policy/types.ts';
import { syscallNumber } from '../src/syscalls/table.ts';
import { buildFixture, checkTempDir, observe, TOOLCHAINS, type Toolchain } from './helpers/check-build.ts';
import { hasTool, requireTool } from './helpers/tools.ts';

const a64 = (): Toolchain => TOOLCHAINS.find((t) => t.arch === 'aarch64')!;

/** Assembles `src` and links it at 0x400000; returns its .text bytes and symbol addresses. */
function assemble(name: string, src: string): { text: Uint8Array; addr: number; sym: Record<string, number> } {
  const dir = join(checkTempDir(), `a64-asm-${name}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 't.s'), src);
  const run = (cmd: string, args: string[]): string => {
    const r = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
    return r.stdout;
  };
  run('aarch64-linux-gnu-as', ['-o', 't.o', 't.s']);
  run('aarch64-linux-gnu-ld', ['-o', 't.elf', '-Ttext=0x400000', '--section-start=.data=0x480000', '-e', '0x400000', 't.o']);
  run('aarch64-linux-gnu-objcopy', ['-O', 'binary', '-j', '.text', 't.elf', 't.bin']);
  const sym: Record<string, number> = {};
  for (const line of run('aarch64-linux-gnu-nm', ['t.elf']).split('\n')) {
    const m = /^([0-9a-f]+) \w (\w+)$/.exec(line);
    if (m) sym[m[2]!] = Number.parseInt(m[1]!, 16);
  }
  return { text: new Uint8Array(readFileSync(join(dir, 't.bin'))), addr: 0x400000, sym };
}

const page = (a: number): number => Math.floor(a / 4096) * 4096;

describe('callgraph (aarch64): the references of a stretch of code', function () {
  this.timeout(60000);
  before(function () {
    requireTool(this, 'aarch64-linux-gnu-as', 'binutils-aarch64-linux-gnu');
  });
  const refsOf = (name: string, src: string) => {
    const { text, addr, sym } = assemble(name, `.text\n${src}\n.data\n.p2align 12\n${DATA}\n`);
    return { refs: a64Refs(text, 0, text.length, addr), sym };
  };
  const DATA = 'd1: .quad 0\nd2: .quad 0\n.p2align 12\nd3: .quad 0\n.quad 0\nd4: .quad 0';

  it('direct calls and every kind of direct jump, with where each jump is', () => {
    const { refs, sym } = refsOf('branches', 'start: bl f\nb.ne f\ncbz x0, g\ntbnz w1, #3, g\nb g\nf: ret\ng: ret');
    assert.deepEqual(refs.calls, [sym.f]);
    assert.deepEqual(refs.jumps, [sym.f, sym.g, sym.g, sym.g]);
    assert.deepEqual(refs.jumpsFrom, [sym.start! + 4, sym.start! + 8, sym.start! + 12, sym.start! + 16]);
    assert.equal(refs.fallsThrough, false); // ends with ret
  });

  it('adrp with the low 12 bits its add or load adds: the exact address, no page', () => {
    const { refs, sym } = refsOf(
      'pairs',
      'adrp x1, d1\nadd x1, x1, :lo12:d1\nadrp x2, d3\nldr x2, [x2, :lo12:d3]\nadrp x9, d4\nstr x0, [x9, :lo12:d4]\nadr x3, here\nhere: ldr x4, lit\nlit: .word 0\nbl here',
    );
    for (const s of ['d1', 'd3', 'd4', 'here', 'lit']) assert.ok(refs.mems.includes(sym[s]!), `${s}: ${refs.mems.map((m) => m.toString(16))}`);
    assert.deepEqual(refs.pages, []);
    assert.equal(refs.fallsThrough, true); // ends with a call
  });

  it('an adrp whose users this reading cannot see refers to its whole page (copied, never used, register offset)', () => {
    // Used once where it is seen, then copied: the copy's users are not followed.
    const copied = refsOf('copied', 'adrp x3, d1\nadd x0, x3, :lo12:d1\nmov x4, x3\nadd x4, x4, :lo12:d2\nret');
    assert.deepEqual(copied.refs.pages, [page(copied.sym.d1!)]);
    const stored = refsOf('stored', 'adrp x3, d1\nadd x0, x3, :lo12:d1\nstr x3, [sp, #8]\nret');
    assert.deepEqual(stored.refs.pages, [page(stored.sym.d1!)]);
    const unused = refsOf('unused', 'adrp x5, d3\nret');
    assert.deepEqual(unused.refs.pages, [page(unused.sym.d3!)]);
    const indexed = refsOf('indexed', 'adrp x6, d1\nldr x7, [x6, x0]\nret');
    assert.deepEqual(indexed.refs.pages, [page(indexed.sym.d1!)]);
  });

  it('a write on one path does not hide a use on another (join points), but ends the page in straight-line code', () => {
    // x5 holds the page when cbz branches to 1:, though the fall-through path overwrote it.
    const joined = refsOf('joined', 'adrp x5, d2\ncbz x0, 1f\nmov x5, #0\nret\n1: add x5, x5, :lo12:d2\nret');
    assert.ok(joined.refs.mems.includes(joined.sym.d2!), joined.refs.mems.map((m) => m.toString(16)).join(' '));
    assert.deepEqual(joined.refs.pages, []);
    // Straight line: x6 is a loaded pointer by the time #16 is added to it.
    const straight = refsOf('straight', 'adrp x6, d3\nldr x6, [x6, :lo12:d3]\nadd x7, x6, #16\nret');
    assert.deepEqual(
      straight.refs.mems.filter((m) => m >= page(straight.sym.d3!) && m < page(straight.sym.d3!) + 4096),
      [straight.sym.d3],
    );
  });

  it('PLT stubs and veneers are stub-like, nops are padding, a function is neither', () => {
    const plt = refsOf('plt', 'bti c\nadrp x16, d1\nldr x17, [x16, :lo12:d1]\nadd x16, x16, :lo12:d1\nbr x17\nnop');
    assert.equal(plt.refs.stubLike, true);
    assert.equal(plt.refs.padding, false);
    assert.equal(plt.refs.fallsThrough, false, 'the nop after br x17 never runs into the next entry');
    assert.equal(refsOf('b-nops', 'b 1f\nnop\nnop\n1:').refs.fallsThrough, false, 'nops after a branch do not run');
    assert.equal(refsOf('bl-nops', 'bl 1f\nnop\nnop\n1:').refs.fallsThrough, true, 'a call returns into the nops');
    assert.equal(refsOf('bl-udf', 'bl 1f\n.word 0\n1:').refs.fallsThrough, false, 'udf (a zero word) stops');
    const nops = refsOf('nops', 'nop\nnop\nnop');
    assert.equal(nops.refs.padding, true);
    assert.equal(nops.refs.fallsThrough, true);
    const fn = refsOf('fn', 'adrp x0, d1\nldr x0, [x0, :lo12:d1]\nbr x0');
    assert.equal(fn.refs.stubLike, false);
    assert.equal(fn.refs.fallsThrough, false);
  });
});

describe('callgraph (aarch64): the code sections are a hint, never a way to lose code', function () {
  this.timeout(60000);
  it('decodes only the code sections; a function branching out of them into the rest of the segment gives no graph (all counts)', function () {
    requireTool(this, a64().cc, a64().pkg);
    const dir = join(checkTempDir(), 'a64-hidden');
    mkdirSync(dir, { recursive: true });
    const build = (name: string, body: string, after = ''): ElfInfo => {
      const text = `.text\n.globl f\n.type f, %function\nf: ${body}\nret\n.size f, .-f\n${after}\n`;
      writeFileSync(join(dir, `${name}.s`), `${text}.section .rodata\nhidden: mov x8, #40\nsvc #0\nret\n`);
      const r = spawnSync(a64().cc, ['-shared', '-nostdlib', '-o', `${name}.so`, `${name}.s`], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return readElf(inMemory(new Uint8Array(readFileSync(join(dir, `${name}.so`)))), name);
    };
    const plain = build('plain', 'nop');
    // .rodata shares the executable segment: outside the code sections, so not decoded.
    const rodataInExec = plain.exec.some((r) => r.size > plain.codeSections!.reduce((n, s) => n + s.size, 0));
    assert.ok(rodataInExec, JSON.stringify({ exec: plain.exec, code: plain.codeSections }));
    const bytesOf = (name: string) => inMemory(new Uint8Array(readFileSync(join(dir, `${name}.so`))));
    assert.ok(buildCallGraph(plain, bytesOf('plain')));
    // Code that calls into .rodata: what runs there is not in the graph, so there is none.
    const hidden = build('hidden', 'bl hidden');
    assert.equal(buildCallGraph(hidden, bytesOf('hidden')), undefined);
    // The same branch decoded from a table in .text outside every function (no symbol, no FDE)
    // may be data: the graph stays (what it could reach lies where no node is, so it counts).
    const table = build('table', 'nop', 'table: bl hidden');
    assert.ok(buildCallGraph(table, bytesOf('table')));
  });
});

describe('callgraph (aarch64): what a program reaches in its libraries', function () {
  this.timeout(120000);
  let codesafe: TargetDef;
  let sysroot: string;
  let app: string;
  let libA: string;
  let libB: string;
  let report: CheckReport;
  before(async function () {
    requireTool(this, a64().cc, a64().pkg);
    codesafe = await loadTarget('codesafe5');
    sysroot = join(checkTempDir(), 'sysroot-a64-graph');
    const libs = join(sysroot, 'usr/lib/aarch64-linux-gnu');
    mkdirSync(libs, { recursive: true });
    libB = join(libs, 'libgraph-b.so');
    copyFileSync(buildFixture(a64(), 'libgraph-b', ['-shared', '-fPIC']), libB);
    libA = join(libs, 'libgraph-a.so');
    copyFileSync(buildFixture(a64(), 'libgraph-a', ['-shared', '-fPIC'], [`-L${libs}`, '-lgraph-b']), libA);
    // DT_RPATH (not RUNPATH) also finds libgraph-a's own libgraph-b when the run loads it.
    app = buildFixture(a64(), 'graph-app', [], [`-L${libs}`, '-lgraph-a', `-Wl,-rpath,${libs},--disable-new-dtags`]);
    report = checkElf(new Uint8Array(readFileSync(app)), app, codesafe, { firmware: '13.7', sysroot });
  });
  const via = (name: string) => report.syscalls.find((s) => s.name === name)?.via ?? [];

  it('both libraries get a graph and are analysed', () => {
    for (const lib of [libA, libB]) {
      const bytes = new Uint8Array(readFileSync(lib));
      assert.ok(buildCallGraph(readElf(inMemory(bytes), lib), inMemory(bytes)), lib);
    }
    for (const name of ['libgraph-a.so', 'libgraph-b.so']) assert.equal(report.libraries.find((l) => l.name === name)?.status, 'analysed', name);
  });

  it('counts what is reached: a direct call, a callback whose address the code forms, a call through the PLT into the other library', () => {
    assert.ok(
      via('acct').some((v) => v.kind === 'import' && v.library === 'libgraph-a.so'),
      'direct call',
    );
    assert.ok(
      via('swapoff').some((v) => v.kind === 'import' && v.library === 'libgraph-a.so'),
      'callback',
    );
    assert.ok(
      via('chroot').some((v) => v.kind === 'import' && v.library === 'libgraph-b.so'),
      'PLT into libgraph-b',
    );
  });

  it('does not count the exports nothing reaches (each library alone does import them)', () => {
    assert.deepEqual(via('mount'), []);
    assert.deepEqual(via('umount2'), []);
    const alone = (lib: string) => checkElf(new Uint8Array(readFileSync(lib)), lib, codesafe, { firmware: '13.7' }).syscalls.map((s) => s.name);
    assert.ok(alone(libA).includes('mount'));
    assert.ok(alone(libB).includes('umount2'));
  });

  it('every call a run under qemu-aarch64 makes that the policy denies is reported', function () {
    if (!hasTool('qemu-aarch64')) this.skip();
    const seen = observe(a64(), app);
    // The run really makes the three calls the libraries reach, and none of the unreached ones.
    for (const c of ['acct', 'swapoff', 'chroot']) assert.ok(seen.has(c), `${c} not in the run: ${[...seen].join(' ')}`);
    for (const c of ['mount', 'umount2']) assert.ok(!seen.has(c), c);
    // Denied: what the policy does not allow (an unknown name, #N, counts as denied).
    const policy = resolvePolicy(codesafe, { firmware: '13.7', arch: 'aarch64' });
    const denied = [...seen].filter((c) => {
      const nr = syscallNumber('aarch64', c);
      return nr === null || evaluatePolicy(policy, nr).kind !== 'allow';
    });
    assert.ok(denied.length >= 3, denied.join(' '));
    const reported = new Set(report.syscalls.map((s) => s.name));
    assert.deepEqual(
      denied.filter((c) => !reported.has(c)),
      [],
    );
  });
});
