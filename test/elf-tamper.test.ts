/**
 * check reads what the loader reads (issue 9). Real programs that call getrandom, compiled here
 * for x86_64, ARM, AArch64 and PowerPC, are tampered where the kernel and ld.so never look:
 * section headers (types, flags, offsets, sizes, names, links), e_shoff/e_shnum/e_shstrndx,
 * bytes outside every PT_LOAD, PT_DYNAMIC's p_offset. Every mutant is RUN (natively, or under
 * qemu-user) and only those that still run as the original did are kept; for each of them
 * check's findings must equal the original's, so getrandom stays a FAIL.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkElf } from '../src/check/analyze.ts';
import type { CheckReport } from '../src/check/types.ts';
import { readElf } from '../src/elf/reader.ts';
import { loadTarget } from '../src/policy/load.ts';
import type { TargetDef } from '../src/policy/types.ts';
import { RUNNERS, TOOLCHAINS, type Toolchain } from './helpers/check-build.ts';
import { FIXTURE_SRC } from './helpers/elf-build.ts';
import { prng } from './helpers/prng.ts';
import { hasTool, requireTool } from './helpers/tools.ts';

const SRC = `#include <stdio.h>
#include <sys/random.h>
int main(void) {
  unsigned char b[8];
  if (getrandom(b, sizeof b, 0) != (long)sizeof b) return 1;
  puts("ran");
  return 0;
}
`;

const SHT_PROGBITS = 1;
const SHT_DYNSYM = 11;
const SHF_EXECINSTR = 4;

/** What a report says about the program's calls (function names, which come from .symtab, aside). */
function findings(r: CheckReport): unknown {
  return {
    fatal: r.fatal,
    static: r.static,
    libc: r.libc,
    syscalls: r.syscalls.map(
      (f) =>
        `${f.name} ${f.verdict} ${f.action} ${f.via
          .map((v) => `${v.kind}:${v.verdict}`)
          .sort()
          .join(',')}`,
    ),
    unresolved: r.unresolved.map((u) => `${u.address} ${u.kind}`),
    unknownImports: r.unknownImports,
  };
}

/** getrandom (denied on codesafe5, its error reaching main: depends) is still found. */
function flagged(r: CheckReport): boolean {
  return r.syscalls.some((f) => f.name === 'getrandom' && f.severity !== 'ok');
}

/** The calls a report finds, and the sites left unresolved, without verdicts. */
function reached(r: CheckReport): unknown {
  return { syscalls: r.syscalls.map((f) => f.name).sort(), unresolved: r.unresolved.map((u) => `${u.address} ${u.kind}`) };
}

/** Byte-level view of an ELF's headers, enough to tamper with them. */
class Elf {
  readonly dv: DataView;
  readonly le: boolean;
  readonly is64: boolean;
  constructor(readonly b: Uint8Array) {
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    this.le = b[5] === 1;
    this.is64 = b[4] === 2;
  }
  word(o: number): number {
    return this.is64 ? Number(this.dv.getBigUint64(o, this.le)) : this.dv.getUint32(o, this.le);
  }
  setWord(o: number, v: number): void {
    if (this.is64) this.dv.setBigUint64(o, BigInt(v), this.le);
    else this.dv.setUint32(o, v >>> 0, this.le);
  }
  get shoff(): number {
    return this.word(this.is64 ? 40 : 32);
  }
  get shentsize(): number {
    return this.dv.getUint16(this.is64 ? 58 : 46, this.le);
  }
  get shnum(): number {
    return this.dv.getUint16(this.is64 ? 60 : 48, this.le);
  }
  get phoff(): number {
    return this.word(this.is64 ? 32 : 28);
  }
  get phnum(): number {
    return this.dv.getUint16(this.is64 ? 56 : 44, this.le);
  }
  get phentsize(): number {
    return this.dv.getUint16(this.is64 ? 54 : 42, this.le);
  }
  /** Offset of a field of section header i: type 4, flags 8, addr, offset, size, link, info, entsize. */
  sh(i: number, field: 'name' | 'type' | 'flags' | 'addr' | 'offset' | 'size' | 'link' | 'info' | 'entsize'): { at: number; width: 4 | 8 } {
    const base = this.shoff + i * this.shentsize;
    const f64 = {
      name: [0, 4],
      type: [4, 4],
      flags: [8, 8],
      addr: [16, 8],
      offset: [24, 8],
      size: [32, 8],
      link: [40, 4],
      info: [44, 4],
      entsize: [56, 8],
    } as const;
    const f32 = {
      name: [0, 4],
      type: [4, 4],
      flags: [8, 4],
      addr: [12, 4],
      offset: [16, 4],
      size: [20, 4],
      link: [24, 4],
      info: [28, 4],
      entsize: [36, 4],
    } as const;
    const [o, w] = (this.is64 ? f64 : f32)[field];
    return { at: base + o, width: w };
  }
  get(f: { at: number; width: 4 | 8 }): number {
    return f.width === 8 ? Number(this.dv.getBigUint64(f.at, this.le)) : this.dv.getUint32(f.at, this.le);
  }
  set(f: { at: number; width: 4 | 8 }, v: number): void {
    if (f.width === 8) this.dv.setBigUint64(f.at, BigInt(v), this.le);
    else this.dv.setUint32(f.at, v >>> 0, this.le);
  }
  /** [type, offset, vaddr, filesz, offset-of-p_offset] of each program header. */
  segments(): { type: number; offset: number; filesz: number; offAt: number }[] {
    const out = [];
    for (let i = 0; i < this.phnum; i++) {
      const p = this.phoff + i * this.phentsize;
      out.push(
        this.is64
          ? { type: this.dv.getUint32(p, this.le), offset: this.word(p + 8), filesz: this.word(p + 32), offAt: p + 8 }
          : { type: this.dv.getUint32(p, this.le), offset: this.word(p + 4), filesz: this.word(p + 16), offAt: p + 4 },
      );
    }
    return out;
  }
  /** File bytes no PT_LOAD maps and that are not the ELF or program headers: the loader never reads them. */
  unloaded(): [number, number][] {
    const covered: [number, number][] = [
      [0, this.is64 ? 64 : 52],
      [this.phoff, this.phoff + this.phnum * this.phentsize],
    ];
    for (const s of this.segments()) if (s.type === 1 || s.type === 3) covered.push([s.offset, s.offset + s.filesz]);
    covered.sort((a, b) => a[0] - b[0]);
    const out: [number, number][] = [];
    let at = 0;
    for (const [s, e] of covered) {
      if (s > at) out.push([at, s]);
      at = Math.max(at, e);
    }
    if (at < this.b.length) out.push([at, this.b.length]);
    return out;
  }
  sectionIndex(pred: (type: number, flags: number) => boolean): number {
    for (let i = 1; i < this.shnum; i++) if (pred(this.get(this.sh(i, 'type')), this.get(this.sh(i, 'flags')))) return i;
    return -1;
  }
}

const qemuOf = (tc: Toolchain): string[] => {
  const r = RUNNERS[tc.arch];
  return r ? [r.qemu, '-L', r.root] : [];
};

/** Runs the file: stdout and status, the behaviour a mutant must keep. */
function runs(tc: Toolchain, path: string): string {
  const [cmd, ...pre] = [...qemuOf(tc), path];
  const r = spawnSync(cmd!, pre, { encoding: 'utf8', timeout: 20000 });
  return `${r.status} ${r.signal ?? ''} ${r.stdout}`;
}

/** One random change the loader does not see. */
function mutate(e: Elf, rnd: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const value = (): number => pick([0, 1, 2, 3, 6, 8, 11, 0x6ffffff6, 0xffffffff, Math.floor(rnd() * 0x100000000), Math.floor(rnd() * e.b.length)]);
  const kind = rnd();
  if (kind < 0.55 && e.shnum > 1 && e.shoff + e.shnum * e.shentsize <= e.b.length) {
    const i = 1 + Math.floor(rnd() * (e.shnum - 1));
    const field = pick(['name', 'type', 'flags', 'addr', 'offset', 'size', 'link', 'info', 'entsize'] as const);
    const v = value();
    e.set(e.sh(i, field), v);
    return `section ${i} ${field} = ${v}`;
  }
  if (kind < 0.7) {
    const which = pick(['shoff', 'shnum', 'shstrndx', 'shentsize'] as const);
    const at = { shoff: e.is64 ? 40 : 32, shentsize: e.is64 ? 58 : 46, shnum: e.is64 ? 60 : 48, shstrndx: e.is64 ? 62 : 50 }[which];
    if (which === 'shoff') e.setWord(at, pick([0, Math.floor(rnd() * e.b.length), 0xffffffff]));
    else e.dv.setUint16(at, pick([0, 1, 0xffff, Math.floor(rnd() * 0x10000)]), e.le);
    return `e_${which} changed`;
  }
  if (kind < 0.8) {
    // e_ident padding and e_version: the kernel reads neither.
    const at = pick([9, 10, 11, 12, 13, 14, 15, 20, 21, 22, 23]);
    e.b[at] = Math.floor(rnd() * 256);
    return `header byte ${at}`;
  }
  const gaps = e.unloaded().filter(([s, end]) => end > s);
  const [s, end] = pick(gaps);
  const n = 1 + Math.floor(rnd() * Math.min(64, end - s));
  const at = s + Math.floor(rnd() * (end - s - n + 1));
  for (let k = 0; k < n; k++) e.b[at + k] = Math.floor(rnd() * 256);
  return `${n} unloaded bytes at ${at}`;
}

describe('check reads what the loader reads (tampered section headers)', function () {
  this.timeout(240000);
  let codesafe: TargetDef;
  let dir: string;
  before(async () => {
    codesafe = await loadTarget('codesafe5');
    dir = mkdtempSync(join(tmpdir(), 'sysgate-tamper-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const build = (tc: Toolchain, name: string, flags: string[]): string => {
    const src = join(dir, 'getrandom.c');
    writeFileSync(src, SRC);
    const out = join(dir, `${tc.arch}-${name}`);
    const r = spawnSync(tc.cc, ['-O2', ...flags, '-o', out, src], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return out;
  };
  const requireRunner = (ctx: Mocha.Context, tc: Toolchain): void => {
    requireTool(ctx, tc.cc, tc.pkg);
    const r = RUNNERS[tc.arch];
    if (r) requireTool(ctx, r.qemu, r.pkg);
  };
  /** Writes `bytes` as an executable next to the original and says whether it behaves the same. */
  const stillRuns = (tc: Toolchain, bytes: Uint8Array, name: string, expected: string): boolean => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    chmodSync(p, 0o755);
    return runs(tc, p) === expected;
  };
  const report = (bytes: Uint8Array, name: string): CheckReport => checkElf(bytes, name, codesafe);

  const x86 = TOOLCHAINS.find((t) => t.arch === 'x86_64')!;

  it('.dynsym re-typed SHT_PROGBITS (4 bytes): still imports getrandom, and says the sections disagree', function () {
    requireRunner(this, x86);
    const exe = build(x86, 'dyn', []);
    const orig = new Uint8Array(readFileSync(exe));
    const expected = runs(x86, exe);
    assert.match(expected, /^0 +ran/);
    const m = orig.slice();
    const e = new Elf(m);
    const i = e.sectionIndex((t) => t === SHT_DYNSYM);
    assert.ok(i > 0);
    e.set(e.sh(i, 'type'), SHT_PROGBITS);
    assert.ok(stillRuns(x86, m, 'dynsym-progbits', expected), 'the tampered binary must still run');
    const r = report(m, 'dynsym-progbits');
    assert.ok(flagged(r), 'getrandom must stay a finding');
    assert.deepEqual(findings(r), findings(report(orig, 'orig')));
    assert.ok(
      r.warnings?.some((w) => /\.dynsym is not SHT_DYNSYM; using the dynamic segment/.test(w)),
      JSON.stringify(r.warnings),
    );
  });

  it('.text without SHF_EXECINSTR (static binary): its getrandom site is still scanned', function () {
    requireRunner(this, x86);
    const exe = build(x86, 'static', ['-static']);
    const orig = new Uint8Array(readFileSync(exe));
    const expected = runs(x86, exe);
    const m = orig.slice();
    const e = new Elf(m);
    for (let i = 1; i < e.shnum; i++) {
      const f = e.sh(i, 'flags');
      e.set(f, e.get(f) & ~SHF_EXECINSTR); // every code section at once
    }
    assert.ok(stillRuns(x86, m, 'noexec', expected));
    const r = report(m, 'noexec');
    const base = report(orig, 'orig');
    assert.ok(
      base.syscalls.some((f) => f.name === 'getrandom' && f.via.some((v) => v.kind === 'site')),
      'the original has a getrandom site',
    );
    assert.ok(flagged(r), 'getrandom must stay a finding');
    assert.deepEqual(findings(r), findings(base));
    assert.ok(
      r.warnings?.some((w) => /holds the entry point, is not SHF_EXECINSTR/.test(w)),
      JSON.stringify(r.warnings),
    );
  });

  it('PT_DYNAMIC p_offset moved, section headers gone: imports come from its address', function () {
    requireRunner(this, x86);
    const exe = build(x86, 'dyn', []);
    const orig = new Uint8Array(readFileSync(exe));
    const expected = runs(x86, exe);
    const m = orig.slice();
    const e = new Elf(m);
    const dyn = e.segments().find((s) => s.type === 2)!;
    e.setWord(dyn.offAt, 0); // the ELF header: garbage as a dynamic section
    e.setWord(40, 0); // e_shoff
    e.dv.setUint16(60, 0, true); // e_shnum
    e.dv.setUint16(62, 0, true); // e_shstrndx
    assert.ok(stillRuns(x86, m, 'dynoff', expected));
    const r = report(m, 'dynoff');
    assert.ok(flagged(r), 'getrandom must stay a finding');
    assert.deepEqual(findings(r), findings(report(orig, 'orig')));
    assert.ok(
      r.warnings?.some((w) => /PT_DYNAMIC's p_offset 0x0 .*using the address/.test(w)),
      JSON.stringify(r.warnings),
    );
  });

  it('PT_DYNAMIC p_offset moved (sections kept): syscall() callers are still found through the PLT', function () {
    requireRunner(this, x86);
    const exe = join(dir, 'prog');
    const r0 = spawnSync('gcc', ['-O2', '-o', exe, FIXTURE_SRC], { encoding: 'utf8' });
    assert.equal(r0.status, 0, r0.stderr);
    const orig = new Uint8Array(readFileSync(exe));
    const expected = runs(x86, exe);
    const base = report(orig, 'orig');
    assert.ok(
      base.syscalls.some((f) => f.via.some((v) => v.kind === 'syscall()')),
      'the original has syscall() calls',
    );
    const m = orig.slice();
    const e = new Elf(m);
    e.setWord(e.segments().find((s) => s.type === 2)!.offAt, 0);
    assert.ok(stillRuns(x86, m, 'prog-dynoff', expected));
    assert.deepEqual(findings(report(m, 'prog-dynoff')), findings(base));
  });

  for (const tc of TOOLCHAINS) {
    for (const link of ['dyn', 'static'] as const) {
      // Static cross binaries run under qemu too, but one static arch keeps the run time down.
      if (link === 'static' && tc.arch !== 'x86_64') continue;
      it(`${tc.arch} ${link}: every seeded mutant that still runs gets the original's findings`, function () {
        requireRunner(this, tc);
        if (!hasTool(tc.cc)) this.skip();
        const exe = build(tc, link, link === 'static' ? ['-static'] : []);
        const orig = new Uint8Array(readFileSync(exe));
        const expected = runs(tc, exe);
        assert.match(expected, /^0 +ran/, `the original must run: ${expected}`);
        const origReport = report(orig, 'orig');
        const base = findings(origReport);
        const symbols = readElf(orig, 'orig').symbols.length;
        let lostNames = 0;
        assert.ok(
          report(orig, 'orig').syscalls.some((f) => f.name === 'getrandom' && f.verdict !== 'allowed'),
          'getrandom is a FAIL to begin with',
        );
        const rnd = prng(0x7a3 + tc.machine + (link === 'static' ? 1 : 0));
        const total = RUNNERS[tc.arch] ? 25 : 60;
        let ran = 0;
        for (let k = 0; k < total; k++) {
          const m = orig.slice();
          const e = new Elf(m);
          const what: string[] = [];
          const n = 1 + Math.floor(rnd() * 4);
          for (let j = 0; j < n; j++) what.push(mutate(e, rnd));
          if (!stillRuns(tc, m, `mutant-${tc.arch}-${link}`, expected)) continue;
          ran++;
          let r: CheckReport;
          try {
            r = report(m, `mutant ${k}`);
          } catch (err) {
            throw new Error(`mutant ${k} (${what.join('; ')}) still runs but check fails: ${(err as Error).message}`);
          }
          if (link === 'static' && readElf(m, 'm').symbols.length !== symbols) {
            // .symtab is gone (the loader never needs it): sites lose their function names, and
            // with them what the C library does on ENOSYS; every call must still be found.
            lostNames++;
            assert.deepEqual(reached(r), reached(origReport), `mutant ${k}: ${what.join('; ')}`);
          } else {
            assert.deepEqual(findings(r), base, `mutant ${k}: ${what.join('; ')}`);
          }
        }
        if (link === 'static') assert.ok(lostNames < ran, 'some static mutants must keep their symbols');
        assert.ok(ran >= total / 2, `only ${ran} of ${total} mutants still ran: the mutations hit what the loader reads`);
      });
    }
  }
});
