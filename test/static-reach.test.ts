/**
 * Reachability inside static x86-64 programs (src/elf/callgraph.ts staticReach, wired in
 * src/check/collect.ts): real programs linked statically with glibc (gcc -static, stripped and
 * not, -static-pie) and musl (musl-gcc -static, stripped and not) are run under strace -f and
 * qemu-x86_64 -strace; every call they make must still be reported, while the calls of code
 * nothing reaches (a function kept by `used` and never called, the unused neighbours musl links
 * in from one source file) are gone. Without known function extents (stripped musl: no
 * symbols, no unwind tables) everything counts.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkElf } from '../src/check/analyze.ts';
import { collectObject } from '../src/check/collect.ts';
import type { CheckReport } from '../src/check/types.ts';
import type { Libc } from '../src/libc/index.ts';
import { staticReach } from '../src/elf/callgraph.ts';
import { findSyscallSites, readElf } from '../src/elf/index.ts';
import { inMemory } from '../src/elf/source.ts';
import { loadTarget } from '../src/policy/load.ts';
import type { TargetDef } from '../src/policy/types.ts';
import { syscallName } from '../src/syscalls/table.ts';
import { FIXTURES } from './helpers/check-build.ts';
import { hasTool, requireTool } from './helpers/tools.ts';

interface Build {
  link: string;
  cc: string;
  pkg: string;
  flags: string[];
  /** Whether function extents are known (symbols or FDEs), so the graph applies. */
  graph: boolean;
}

const BUILDS: Build[] = [
  { link: 'glibc-static', cc: 'gcc', pkg: 'gcc', flags: ['-static'], graph: true },
  { link: 'glibc-static-stripped', cc: 'gcc', pkg: 'gcc', flags: ['-static', '-s'], graph: true },
  { link: 'glibc-static-pie', cc: 'gcc', pkg: 'gcc', flags: ['-static-pie'], graph: true },
  { link: 'musl-static', cc: 'musl-gcc', pkg: 'musl-tools', flags: ['-static'], graph: true },
  { link: 'musl-static-stripped', cc: 'musl-gcc', pkg: 'musl-tools', flags: ['-static', '-s'], graph: false },
];

const FIXTURE_NAMES = ['reach', 'calls', 'hello', 'stdio', 'entropy', 'returns', 'threads'];

/** strace -f -qq and qemu-x86_64 -strace: the calls a run makes (the exec that starts it aside). */
function traced(exe: string, dir: string): Set<string> {
  const names = new Set<string>();
  const log = join(dir, 'strace.txt');
  spawnSync('strace', ['-f', '-qq', '-o', log, exe], { encoding: 'utf8' });
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    const m = /^\d+\s+([a-z_][a-z0-9_]*)\(/.exec(line);
    if (m) names.add(m[1]!);
  }
  if (hasTool('qemu-x86_64')) {
    const r = spawnSync('qemu-x86_64', ['-strace', exe], { encoding: 'utf8', maxBuffer: 1 << 26 });
    for (const line of `${r.stdout}\n${r.stderr}`.split('\n')) {
      const m = /^\d+ ([a-z_][a-z0-9_]*)\(/.exec(line);
      if (m) names.add(m[1]!);
    }
  }
  names.delete('execve');
  return names;
}

/**
 * What check reports, and what it would report if every site and syscall() call counted: the
 * report's names plus those the file's own code reaches when collected as a library (which
 * the graph never filters).
 */
function reportAndBaseline(exe: string, target: TargetDef): { r: CheckReport; reported: Set<string>; baseline: Set<string> } {
  const bytes = new Uint8Array(readFileSync(exe));
  const r = checkElf(bytes, exe, target);
  const reported = new Set(r.syscalls.map((s) => s.name));
  const elf = readElf(bytes, exe);
  const ctx = { arch: 'x86_64' as const, libc: r.libc?.name as Libc | undefined, version: r.libc?.version ?? '', startup: new Map() };
  const all = collectObject(elf, inMemory(bytes), ctx, 'baseline');
  return { r, reported, baseline: new Set([...reported, ...all.reaches.map((x) => x.name)]) };
}

/** Names of the numbered sites in the file, and of those the graph reaches. */
function siteNames(file: string): { all: Set<string>; reached: Set<string>; sites: number; kept: number } {
  const bytes = readFileSync(file);
  const elf = readElf(bytes, file);
  const reach = staticReach(elf, inMemory(bytes));
  const sites = findSyscallSites(elf, bytes).filter((s) => s.number !== null);
  const kept = sites.filter((s) => !reach || reach.counts(s.address));
  const names = (l: typeof sites) => new Set(l.map((s) => syscallName('x86_64', s.number!) ?? `#${s.number}`));
  return { all: names(sites), reached: names(kept), sites: sites.length, kept: kept.length };
}

describe('static reachability (x86-64 call graph of a static program)', function () {
  this.timeout(600000);
  let enclave: TargetDef;
  let dir: string;
  const rows: string[] = [];
  const built = new Map<string, string>();
  before(async () => {
    enclave = await loadTarget('enclave-x86_64');
    dir = mkdtempSync(join(tmpdir(), 'sysgate-static-reach-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    if (rows.length)
      console.log(`      sites and reported calls, before -> after reachability (nothing traced lost):\n${rows.map((r) => `        ${r}`).join('\n')}`);
  });
  const build = (b: Build, name: string): string => {
    const key = `${name}-${b.link}`;
    let out = built.get(key);
    if (!out) {
      out = join(dir, key);
      execFileSync(b.cc, ['-O2', ...b.flags, '-o', out, join(FIXTURES, `${name}.c`)], { stdio: 'pipe' });
      built.set(key, out);
    }
    return out;
  };

  for (const b of BUILDS) {
    for (const name of FIXTURE_NAMES) {
      it(`${name} ${b.link}: no traced call lost to reachability`, function () {
        requireTool(this, b.cc, b.pkg);
        requireTool(this, 'strace', 'strace');
        const exe = build(b, name);
        const seen = traced(exe, dir);
        assert.ok(seen.size >= 3, `${exe}: only ${[...seen].join(' ')} traced`);
        const { reported, baseline } = reportAndBaseline(exe, enclave);
        // Reachability drops nothing a run makes: what every site would report, it still does.
        const lost = [...seen].filter((n) => baseline.has(n) && !reported.has(n));
        assert.deepEqual(lost, [], `traced, reported without reachability, and not with it: ${lost.join(' ')}`);
        // What check misses without the graph too (musl's cancellable calls, numbered at
        // callers of __syscall_cp that are not recovered) is listed, not hidden.
        const before = [...seen].filter((n) => !baseline.has(n));
        if (b.cc === 'gcc') assert.deepEqual(before, [], `glibc: traced but not reported: ${before.join(' ')}`);
        const s = siteNames(exe);
        const elf = readElf(readFileSync(exe), exe);
        assert.equal(staticReach(elf, inMemory(readFileSync(exe))) !== undefined, b.graph, 'whether the graph applies');
        for (const n of seen) if (s.all.has(n)) assert.ok(s.reached.has(n), `${n}: traced, its sites not reached`);
        const gone = [...baseline].filter((n) => !reported.has(n));
        if (!b.graph) assert.deepEqual(gone, [], 'without extents everything counts');
        rows.push(
          `${`${name} ${b.link}`.padEnd(30)} sites ${s.sites} -> ${s.kept}, calls reported ${baseline.size} -> ${reported.size}` +
            `${gone.length ? ` (gone: ${gone.join(' ')})` : ''}${before.length ? `; traced, unresolved without the graph too: ${before.join(' ')}` : ''}`,
        );
      });
    }
  }

  it('a function linked in and never called: its calls are gone (umask), the ones reached through pointers stay', function () {
    requireTool(this, 'gcc', 'gcc');
    requireTool(this, 'strace', 'strace');
    for (const b of BUILDS) {
      if (!hasTool(b.cc)) continue;
      const exe = build(b, 'reach');
      const seen = traced(exe, dir);
      // What reach.c makes only through a constructor, an atexit handler, a data object, a
      // const table, an object another points at, and a __start_/__stop_ array.
      for (const n of ['getppid', 'getuid', 'getegid', 'getresuid', 'getsid', 'getpriority', 'times']) assert.ok(seen.has(n), `${b.link}: ${n} not traced`);
      assert.ok(seen.has('getpgrp') || seen.has('getpgid'), `${b.link}: getpgrp not traced`);
      assert.ok(!seen.has('umask'));
      const { reported, baseline } = reportAndBaseline(exe, enclave);
      const s = siteNames(exe);
      assert.ok(s.all.has('umask'), `${b.link}: umask's site is in the file`);
      for (const n of seen) assert.ok(reported.has(n) || !baseline.has(n), `${b.link}: ${n} traced and lost`);
      assert.equal(reported.has('umask'), !b.graph, `${b.link}: umask reported: ${reported.has('umask')}`);
    }
  });

  it("musl's neighbours from one source file are gone (umount2 beside mount, epoll_ctl beside epoll_create1)", function () {
    requireTool(this, 'musl-gcc', 'musl-tools');
    const exe = build(BUILDS.find((b) => b.link === 'musl-static')!, 'calls');
    const r = checkElf(new Uint8Array(readFileSync(exe)), exe, enclave);
    const reported = new Set(r.syscalls.map((s) => s.name));
    const s = siteNames(exe);
    for (const n of ['umount2', 'epoll_ctl']) {
      assert.ok(s.all.has(n), `${n} has a site`);
      assert.ok(!reported.has(n), `${n} still reported`);
    }
    // umount2 is a FAIL (dies) at the enclave: one false FAIL fewer.
    for (const n of ['mount', 'chroot', 'ptrace']) assert.ok(reported.has(n), `${n} (called) not reported`);
  });

  it('fail closed: no graph for a dynamic program, a foreign ISA, or code without extents', function () {
    requireTool(this, 'gcc', 'gcc');
    const dyn = join(dir, 'dyn');
    execFileSync('gcc', ['-O2', '-o', dyn, join(FIXTURES, 'hello.c')], { stdio: 'pipe' });
    const d = readFileSync(dyn);
    assert.equal(staticReach(readElf(d, dyn), inMemory(d)), undefined);
    if (hasTool('aarch64-linux-gnu-gcc')) {
      const a = join(dir, 'a64');
      execFileSync('aarch64-linux-gnu-gcc', ['-O2', '-static', '-o', a, join(FIXTURES, 'hello.c')], { stdio: 'pipe' });
      const ab = readFileSync(a);
      assert.equal(staticReach(readElf(ab, a), inMemory(ab)), undefined);
    }
    // A stripped static program whose section headers are gone too: no symbols, no .eh_frame
    // found (gcc -static makes no PT_GNU_EH_FRAME), so nothing says where functions are.
    const bytes = Buffer.from(readFileSync(build(BUILDS[1]!, 'hello')));
    bytes.writeBigUInt64LE(0n, 40);
    bytes.writeUInt16LE(0, 60);
    bytes.writeUInt16LE(0, 62);
    const elf = readElf(bytes, 'sstripped');
    assert.equal(elf.frames?.length, 0);
    assert.equal(staticReach(elf, inMemory(bytes)), undefined);
  });
});
