/**
 * Function extents from .eh_frame (src/elf/read/eh-frame.ts) against binutils: every FDE
 * `readelf --debug-dump=frames` prints for the loaded .eh_frame, on stripped static programs of
 * every toolchain here (glibc gcc -static -s and -static-pie -s, musl-gcc -static -s, the
 * AArch64 and ARM cross compilers) and on this machine's stripped dynamic programs; then the
 * reader under damage: every mutant of the unwind bytes is read without an exception, and what
 * it gives lies inside the code.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findSyscallSites } from '../src/elf/index.ts';
import { readElf } from '../src/elf/reader.ts';
import type { ElfInfo } from '../src/elf/types.ts';
import { prng } from './helpers/prng.ts';
import { hasTool, requireTool } from './helpers/tools.ts';

const SRC = `#include <stdio.h>
#include <stdlib.h>
static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
int main(int argc, char **argv) {
  int v[4] = {3, 1, argc, 2};
  qsort(v, 4, sizeof v[0], cmp);
  printf("%d %s\\n", v[0], argv[0]);
  return 0;
}
`;

/** The FDE ranges readelf prints for the .eh_frame section, those inside `elf`'s code. */
function readelfFrames(file: string, elf: ElfInfo): string[] {
  const text = execFileSync('readelf', ['--debug-dump=frames', file], { encoding: 'utf8', maxBuffer: 1 << 28 });
  // readelf also decodes .debug_frame (not loaded, never read by the unwinder): only .eh_frame's part.
  const parts = text.split(/^Contents of the (\S+) section:/m);
  const out: string[] = [];
  for (let i = 1; i + 1 < parts.length; i += 2) {
    if (parts[i] !== '.eh_frame') continue;
    for (const m of parts[i + 1]!.matchAll(/ FDE cie=\S+ pc=([0-9a-f]+)\.\.([0-9a-f]+)/g)) {
      const s = Number.parseInt(m[1]!, 16);
      const e = Number.parseInt(m[2]!, 16);
      if (e > s && elf.exec.some((x) => s >= x.addr && e <= x.addr + x.size)) out.push(`${s.toString(16)}..${e.toString(16)}`);
    }
  }
  return out.sort();
}

/** The frames' columns as rows. */
const rows = (elf: ElfInfo): { start: number; end: number; signal: boolean }[] =>
  Array.from({ length: elf.frames?.length ?? 0 }, (_, i) => ({ start: elf.frames!.start[i]!, end: elf.frames!.end[i]!, signal: elf.frames!.signal[i] === 1 }));

const ours = (elf: ElfInfo): string[] =>
  rows(elf)
    .map((r) => `${r.start.toString(16)}..${r.end.toString(16)}`)
    .sort();

describe('eh_frame function starts', function () {
  this.timeout(240000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sysgate-ehframe-'));
    writeFileSync(join(dir, 'p.c'), SRC);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const builds: { name: string; cc: string; pkg: string; flags: string[]; min: number }[] = [
    // min: FDEs a build of this program has at least (glibc's are unwind-table builds; musl's are not).
    { name: 'glibc gcc -static -s', cc: 'gcc', pkg: 'gcc', flags: ['-static', '-s'], min: 500 },
    { name: 'glibc gcc -static-pie -s', cc: 'gcc', pkg: 'gcc', flags: ['-static-pie', '-s'], min: 500 },
    { name: 'musl-gcc -static -s', cc: 'musl-gcc', pkg: 'musl-tools', flags: ['-static', '-s'], min: 1 },
    { name: 'aarch64 gcc -static -s', cc: 'aarch64-linux-gnu-gcc', pkg: 'gcc-aarch64-linux-gnu', flags: ['-static', '-s'], min: 500 },
    // ARM EHABI unwinds through .ARM.exidx: its .eh_frame is empty, and so is what we read.
    { name: 'arm gcc -static -s', cc: 'arm-linux-gnueabihf-gcc', pkg: 'gcc-arm-linux-gnueabihf', flags: ['-static', '-s'], min: 0 },
  ];
  for (const b of builds) {
    it(`every FDE readelf lists, and no other: ${b.name}`, function () {
      requireTool(this, b.cc, b.pkg);
      requireTool(this, 'readelf', 'binutils');
      const out = join(dir, b.name.replace(/\W+/g, '_'));
      execFileSync(b.cc, ['-O2', ...b.flags, '-o', out, join(dir, 'p.c')], { stdio: 'pipe' });
      const elf = readElf(readFileSync(out), out);
      assert.equal(elf.symbols.filter((s) => !s.dynamic).length, 0, 'stripped');
      assert.deepEqual(elf.warnings, []);
      const want = readelfFrames(out, elf);
      assert.ok(want.length >= b.min, `${want.length} FDEs`);
      assert.deepEqual(ours(elf), want);
    });
  }

  it('a signal frame starts a byte before its code: no function is cut there (glibc __restore_rt keeps rt_sigreturn)', function () {
    requireTool(this, 'gcc', 'gcc');
    const out = join(dir, 'sigframe');
    execFileSync('gcc', ['-O2', '-static', '-s', '-o', out, join(dir, 'p.c')], { stdio: 'pipe' });
    const bytes = readFileSync(out);
    const elf = readElf(bytes, out);
    const sig = rows(elf).filter((f) => f.signal);
    assert.equal(sig.length, 1, 'glibc has one signal frame (__restore_rt)');
    // The FDE starts at the nop before `mov $15,%rax; syscall`; decoded from there the move is lost.
    const site = findSyscallSites(elf, bytes).find((x) => x.address > sig[0]!.start && x.address < sig[0]!.end);
    assert.equal(site?.number, 15, JSON.stringify(site));
  });

  it("this machine's stripped dynamic programs (through PT_GNU_EH_FRAME's table)", function () {
    requireTool(this, 'readelf', 'binutils');
    const progs = ['/usr/bin/ls', '/usr/bin/bash', '/usr/bin/tar', '/usr/bin/find', '/usr/bin/python3'].filter(existsSync);
    if (!progs.length) this.skip();
    for (const p of progs) {
      const elf = readElf(readFileSync(p), p);
      const want = readelfFrames(p, elf);
      assert.ok(want.length > 50, `${p}: ${want.length} FDEs`);
      assert.deepEqual(ours(elf), want, p);
    }
  });

  it('damaged unwind tables: warnings, never an exception; every range read lies in the code', function () {
    requireTool(this, 'gcc', 'gcc');
    const cases: { file: string; name: string }[] = [];
    for (const flags of [
      ['-static', '-s'],
      ['-static-pie', '-s'],
    ]) {
      const out = join(dir, `damage${flags[0]}`);
      execFileSync('gcc', ['-O2', ...flags, '-o', out, join(dir, 'p.c')], { stdio: 'pipe' });
      cases.push({ file: out, name: flags.join(' ') });
    }
    for (const { file, name } of cases) {
      const orig = readFileSync(file);
      const elf = readElf(orig, file);
      const full = elf.frames!.length;
      // The bytes of .eh_frame_hdr and .eh_frame, from the section headers (what the reader
      // must cope with is whatever the loaded bytes hold).
      const text = spawnSync('readelf', ['-SW', file], { encoding: 'utf8' }).stdout;
      const ranges: [number, number][] = [];
      for (const m of text.matchAll(/\.(eh_frame(?:_hdr)?)\s+PROGBITS\s+[0-9a-f]+ ([0-9a-f]+) ([0-9a-f]+)/g)) {
        ranges.push([Number.parseInt(m[2]!, 16), Number.parseInt(m[3]!, 16)]);
      }
      assert.ok(ranges.length >= 1, `${name}: ${text}`);
      const rnd = prng(13);
      let warned = 0;
      let fewer = 0;
      for (let k = 0; k < 300; k++) {
        const bytes = Buffer.from(orig);
        const [off, size] = ranges[Math.floor(rnd() * ranges.length)]!;
        // A few bytes flipped, or one length/pointer word replaced with an extreme value.
        const at = off + Math.floor(rnd() * size);
        if (k % 3 === 0) bytes.writeUInt32LE([0xffffffff, 0x7fffffff, 0xfffffff0, 0][k % 4]!, Math.min(at, off + size - 4));
        else for (let j = 0; j < 1 + (k % 4); j++) bytes[at + j] = Math.floor(rnd() * 256);
        const m = readElf(bytes, file);
        for (const r of rows(m)) {
          assert.ok(
            m.exec.some((x) => r.start >= x.addr && r.end <= x.addr + x.size) && r.end > r.start,
            `${name} mutant ${k}: ${r.start.toString(16)}..${r.end.toString(16)}`,
          );
        }
        if (m.warnings.some((w) => w.startsWith('unwind table'))) warned++;
        if (m.frames!.length < full) fewer++;
      }
      // Damage is noticed (a mutant that still parses may describe other ranges, which is all it can say).
      assert.ok(warned > 50 && fewer > 50, `${name}: ${warned} warned, ${fewer} read fewer`);
    }
  });

  it('a missing table is no error: without PT_GNU_EH_FRAME and section headers there are no extents', function () {
    requireTool(this, 'gcc', 'gcc');
    if (!hasTool('readelf')) this.skip();
    const out = join(dir, 'nosections');
    execFileSync('gcc', ['-O2', '-static', '-s', '-o', out, join(dir, 'p.c')], { stdio: 'pipe' });
    const bytes = Buffer.from(readFileSync(out));
    // e_shoff = 0, e_shnum = 0: what a section-header stripper (sstrip) leaves.
    bytes.writeBigUInt64LE(0n, 40);
    bytes.writeUInt16LE(0, 60);
    const elf = readElf(bytes, out);
    assert.equal(elf.frames?.length, 0);
    assert.deepEqual(elf.warnings, []);
  });
});
