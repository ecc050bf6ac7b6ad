/**
 * check at scale (issue 13): a finding lists a bounded few of the ways that reach its call
 * (every way still judged), and --sysroot analyses each library once per run, however many
 * workers share the run; the call graph walked once per program means what rounds of walks
 * from scratch meant.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { deserialize, serialize } from 'node:v8';
import { join } from 'node:path';
import { checkElf } from '../src/check/analyze.ts';
import { collectObject } from '../src/check/collect.ts';
import { renderReport } from '../src/check/report-text.ts';
import type { CheckReport, Finding, Via } from '../src/check/types.ts';
import { isCheckError, judgementRank } from '../src/check/types.ts';
import { boundVias, type RankedVia, VIA_LIMIT } from '../src/check/via-bound.ts';
import { LibraryStore } from '../src/check/library-store.ts';
import { checkPaths } from '../src/check/walk.ts';
import { readElf } from '../src/elf/reader.ts';
import { ElfFile, inMemory } from '../src/elf/source.ts';
import { buildCallGraph, CallGraph, type CallGraphData, type Reached, reachAcross } from '../src/elf/callgraph.ts';
import { loadTarget } from '../src/policy/load.ts';
import type { TargetDef } from '../src/policy/types.ts';
import { buildFixture, checkTempDir, TOOLCHAINS, type Toolchain } from './helpers/check-build.ts';
import { requireTool } from './helpers/tools.ts';

const x86 = (): Toolchain => TOOLCHAINS.find((t) => t.arch === 'x86_64')!;

let enclave: TargetDef;
before(async () => {
  enclave = await loadTarget('enclave-x86_64');
});

const site = (address: number, verdict: Via['verdict'], how?: 'killed' | 'sigsys' | 'aborts', library: string | null = 'libx.so'): Via => ({
  kind: 'site',
  library,
  address,
  siteKind: 'syscall',
  verdict,
  ...(how ? { how } : {}),
});
const ranked = (via: Via): RankedVia => ({ via, rank: judgementRank(via) });

describe('check: the ways a finding lists are bounded (via-bound)', () => {
  it('lists the worst first, one of each verdict and how, repeats dropped, and counts the rest', () => {
    const all: RankedVia[] = [];
    // 30 depends sites, each found twice; then one site of each other judgement, found last.
    for (let k = 0; k < 30; k++) all.push(ranked(site(0x1000 + k, 'depends')), ranked(site(0x1000 + k, 'depends')));
    all.push(ranked(site(0x9000, 'allowed')), ranked(site(0x9001, 'falls-back')), ranked(site(0x9002, 'dies', 'aborts')));
    all.push(ranked(site(0x9003, 'degrades')), ranked(site(0x9004, 'dies', 'killed')));
    const { via, omitted } = boundVias(all);
    assert.equal(via.length, VIA_LIMIT);
    assert.equal(omitted, 35 - VIA_LIMIT); // 35 distinct ways
    assert.deepEqual(
      via.map((v) => judgementRank(v)),
      [...via].map((v) => judgementRank(v)).sort((a, b) => a - b),
    );
    // Every judgement present is shown, however late it was found.
    for (const j of ['dies/killed', 'dies/aborts', 'depends/', 'degrades/', 'falls-back/', 'allowed/'])
      assert.ok(
        via.some((v) => `${v.verdict}/${v.how ?? ''}` === j),
        j,
      );
    // The depends sites listed are the first found, each once.
    const dep = via.filter((v) => v.verdict === 'depends').map((v) => (v.kind === 'site' ? v.address : -1));
    assert.deepEqual(dep, [...new Set(dep)]);
    assert.deepEqual(
      dep,
      Array.from({ length: dep.length }, (_, k) => 0x1000 + k),
    );
  });

  it('keeps the first way in the file itself with bytes (SARIF points there), even past the limit', () => {
    const all = Array.from({ length: 40 }, (_, k) => ranked(site(0x1000 + k, 'depends')));
    const own: Via = { ...site(0x5000, 'depends', undefined, null), span: { offset: 0x5000, length: 2 } } as Via;
    all.push(ranked(own));
    const { via, omitted } = boundVias(all);
    assert.ok(via.includes(own));
    assert.equal(via.length, VIA_LIMIT);
    assert.equal(omitted, 41 - VIA_LIMIT);
  });

  it('a few ways are listed as they are, nothing omitted', () => {
    const all = [ranked(site(1, 'allowed')), ranked(site(2, 'dies', 'killed')), ranked(site(1, 'allowed'))];
    const { via, omitted } = boundVias(all);
    assert.deepEqual(
      via.map((v) => (v.kind === 'site' ? v.address : 0)),
      [2, 1],
    );
    assert.equal(omitted, 0);
  });

  it('one object twice is one way, one place with two judgements is two, among few ways or many', () => {
    const a = ranked(site(7, 'allowed'));
    const one = boundVias([a]);
    assert.deepEqual(one, { via: [a.via], omitted: 0 });
    for (const filler of [0, 20]) {
      // `filler` other ways first: none, or more than VIA_LIMIT.
      const all = Array.from({ length: filler }, (_, k) => ranked(site(0x100 + k, 'depends')));
      const b = ranked(site(7, 'dies', 'killed')); // the same place as a, another judgement
      all.push(a, b, a, ranked(site(7, 'allowed')));
      const { via, omitted } = boundVias(all);
      assert.equal(via.length + omitted, filler + 2, `${filler}: ${JSON.stringify(via)}`);
      assert.deepEqual(via[0], b.via, 'the worst first');
      assert.ok(via.includes(a.via));
    }
  });

  it('a program importing many allocating functions: brk lists VIA_LIMIT ways and counts every other one', function () {
    requireTool(this, x86().cc, x86().pkg);
    const exe = buildFixture(x86(), 'malloc-many');
    const bytes = new Uint8Array(readFileSync(exe));
    const r = checkElf(bytes, exe, enclave);
    for (const f of r.syscalls) assert.ok(f.via.length <= VIA_LIMIT, `${f.name}: ${f.via.length} ways listed`);
    const brk = r.syscalls.find((f) => f.name === 'brk')!;
    assert.equal(brk.via.length, VIA_LIMIT);
    // Every distinct way, counted without the report: the file's own reaches of brk (through
    // the knowledge base) and the C library's start-up.
    const elf = readElf(inMemory(bytes), exe);
    const own = collectObject(elf, inMemory(bytes), { arch: 'x86_64', libc: 'glibc', version: r.libc.version!, startup: new Map() }, null);
    const distinct = new Set(own.reaches.filter((x) => x.name === 'brk').map((x) => JSON.stringify(x.via))).size;
    const startup = brk.via.filter((v) => v.kind === 'startup').length;
    assert.ok(distinct > VIA_LIMIT, `only ${distinct} ways: the fixture no longer overflows the list`);
    assert.equal(brk.via.length + (brk.viasOmitted ?? 0), distinct + startup);
    // The text report says how many more there are.
    assert.ok(/\(\+\d+ more\)/.test(renderReport({ ...r, syscalls: r.syscalls.map((f) => (f.name === 'brk' ? { ...f, verdict: 'depends' } : f)) })));
  });
});

describe('check --sysroot: each library is analysed once per run', function () {
  this.timeout(180000);
  let dir: string;
  let sysroot: string;
  before(function () {
    requireTool(this, x86().cc, x86().pkg);
    sysroot = join(checkTempDir(), 'sysroot-once');
    mkdirSync(join(sysroot, 'usr/lib/x86_64-linux-gnu'), { recursive: true });
    const lib = buildFixture(x86(), 'libuse', ['-shared', '-fPIC']);
    copyFileSync(lib, join(sysroot, 'usr/lib/x86_64-linux-gnu/libuse.so'));
    const app = buildFixture(x86(), 'app', [], [`-L${join(sysroot, 'usr/lib/x86_64-linux-gnu')}`, '-luse']);
    // Enough programs for two workers, each needing libuse.so.
    dir = join(checkTempDir(), 'apps-once');
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < 14; i++) copyFileSync(app, join(dir, `app${i}`));
  });

  it('two workers share one analysis of libuse.so, and report what one thread reports', async () => {
    const stats = { libraryAnalyses: -1 };
    const two = await checkPaths([dir], enclave, { sysroot, jobs: 2, stats });
    assert.equal(stats.libraryAnalyses, 1);
    assert.equal(two.length, 14);
    const one = await checkPaths([dir], enclave, { sysroot, jobs: 1 });
    assert.deepEqual(two, one);
    for (const r of two) {
      assert.ok(!isCheckError(r));
      assert.equal((r as CheckReport).libraries.find((l) => l.name === 'libuse.so')?.status, 'analysed');
      // What the library reaches is counted: its getentropy's getrandom.
      const g = (r as CheckReport).syscalls.find((f: Finding) => f.name === 'getrandom');
      assert.ok(g?.via.some((v) => v.library === 'libuse.so'));
    }
  });
});

describe('callgraph: the shared, incremental walk means what the rounds from scratch meant', function () {
  this.timeout(120000);
  const LIBS = ['/lib/x86_64-linux-gnu/libssl.so.3', '/lib/x86_64-linux-gnu/libcrypto.so.3', '/lib/x86_64-linux-gnu/libz.so.1'];

  it('reachAcross equals a fixed point of reach() rounds, also on graphs that crossed a thread', function () {
    const present = LIBS.filter((p) => existsSync(p));
    if (present.length < 2) this.skip();
    const libs = present.map((p) => {
      const f = ElfFile.open(p);
      try {
        const elf = readElf(f, p);
        const graph = buildCallGraph(elf, f)!;
        // As a worker gets it from the run's store: serialized and back.
        const copy = new CallGraph(deserialize(serialize(graph.data)) as CallGraphData);
        return { graph, copy, imports: elf.imports.map((i) => i.name), exports: elf.exports };
      } finally {
        f.close();
      }
    });
    const program = ['SSL_CTX_new', 'SSL_connect', 'EVP_DigestInit_ex', 'deflate', 'malloc'];
    // The definition: every round reaches from scratch with every name used so far.
    const used = new Set(program);
    let rounds: Reached[] = [];
    for (let changed = true; changed; ) {
      changed = false;
      rounds = libs.map((l) => l.graph.reach(used));
      for (const r of rounds) {
        for (const u of r.uses) {
          if (!used.has(u)) {
            used.add(u);
            changed = true;
          }
        }
      }
    }
    const fast = reachAcross(
      program,
      libs.map((l) => ({ graph: l.copy, imports: l.imports, exports: l.exports })),
    );
    libs.forEach((l, i) => {
      const a = rounds[i]!;
      const b = fast[i]!;
      assert.deepEqual([...b.uses].sort(), [...a.uses].sort());
      const { starts, ends } = l.graph.data;
      let reached = 0;
      for (let k = 0; k < starts.length; k++) {
        for (const addr of [starts[k]!, ends[k]! - 1]) {
          assert.equal(b.counts(addr), a.counts(addr), `${present[i]} at ${addr.toString(16)}`);
          if (a.counts(addr)) reached++;
        }
      }
      // Not everything is reached: the comparison is not between two "all of it"s.
      assert.ok(reached > 0 && reached < 2 * starts.length, `${present[i]}: ${reached} of ${2 * starts.length}`);
    });
  });
});

describe('check: the run-wide library store', () => {
  /** The next message on `port`, or undefined after `ms`. */
  const next = (port: import('node:worker_threads').MessagePort, ms = 500): Promise<unknown> =>
    new Promise((resolve) => {
      const t = setTimeout(() => {
        port.off('message', on);
        resolve(undefined);
      }, ms);
      const on = (m: unknown): void => {
        clearTimeout(t);
        port.off('message', on);
        resolve(m);
      };
      port.on('message', on);
    });

  it('one worker makes an analysis, the others wait and get it; a maker that ends gives it up to a waiter', async () => {
    const store = new LibraryStore();
    const [a, b, c] = [store.link(), store.link(), store.link()];
    try {
      a.port.postMessage({ get: 'libz.so.1' });
      assert.deepEqual(await next(a.port), { compute: true });
      b.port.postMessage({ get: 'libz.so.1' });
      assert.equal(await next(b.port, 200), undefined, 'b waits while a makes it');
      a.port.postMessage({ put: 'libz.so.1', value: serialize({ n: 1 }) });
      const got = (await next(b.port)) as { value: Uint8Array };
      assert.deepEqual(deserialize(got.value), { n: 1 });
      // a ends while it makes the next one: c, waiting, is told to make it instead of waiting forever.
      a.port.postMessage({ get: 'libc.so.6' });
      assert.deepEqual(await next(a.port), { compute: true });
      c.port.postMessage({ get: 'libc.so.6' });
      assert.equal(await next(c.port, 200), undefined, 'c waits while a makes it');
      a.port.close();
      assert.deepEqual(await next(c.port), { compute: true });
      assert.equal(store.analyses, 3);
    } finally {
      for (const l of [b, c]) l.port.close();
      store.close();
    }
  });
});
