/**
 * Issue 4's figures, side by side in one run:
 * - imports of a large ELF (readElf) vs `readelf --dyn-syms -W` on the same file;
 * - the static scan (sites + syscall() call sites) vs `objdump -d` on the same static binary;
 * - `sysgate check` over directories of 1,000+ ELFs on 2 worker threads: files per second
 *   (goal: under 5 s for 1,000 files).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findSyscallSites, readElf } from '../src/elf/index.ts';
import { ElfFile } from '../src/elf/source.ts';
import { findSyscallCalls } from '../src/elf/calls/index.ts';
import type { Section } from './section-type.ts';
import { median, ms, timeFn } from './stats.ts';

function wall(cmd: string, args: string[], runs: number): number {
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: 'ignore', maxBuffer: 1 << 30 });
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.error) throw r.error;
  }
  return median(t);
}

const has = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;

const LARGE = [
  '/usr/lib/x86_64-linux-gnu/libLLVM-15.so.1',
  '/usr/lib/x86_64-linux-gnu/libLLVM-14.so.1',
  '/usr/lib/x86_64-linux-gnu/libcrypto.so.3',
  '/usr/lib/x86_64-linux-gnu/libc.so.6',
];
const DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/arm-linux-gnueabihf/lib', '/usr/aarch64-linux-gnu/lib', '/usr/powerpc-linux-gnu/lib'];

export const elfSection: Section = {
  name: 'elf',
  title: 'check: imports vs readelf, static scan vs objdump -d (goal: faster than both); directories of 1,000+ ELFs on 2 cores (goal: < 5 s per 1,000 files)',
  run({ root, cli }) {
    const runs = 5;
    // 1. Imports of a large ELF.
    const big = LARGE.find(existsSync);
    if (big && has('readelf')) {
      const bytes = readFileSync(big);
      const n = readElf(new Uint8Array(bytes), big).imports.length;
      // What check does for a sysroot library's versions, and what readelf --dyn-syms reads:
      // the headers and dynamic tables, not the code.
      const lazy = (code: boolean): number => {
        const f = ElfFile.open(big);
        try {
          readElf(f, big, { code });
          return f.loadedBytes();
        } finally {
          f.close();
        }
      };
      const readBytes = lazy(false);
      const readWithCode = lazy(true);
      const ours = timeFn(() => lazy(false), 1, runs);
      const withCode = timeFn(() => lazy(true), 1, runs);
      const whole = timeFn(() => readElf(new Uint8Array(readFileSync(big)), big).imports, 1, runs);
      const parse = timeFn(() => readElf(new Uint8Array(bytes), big).imports, 1, runs);
      const theirs = wall('readelf', ['--dyn-syms', '-W', big], runs);
      const mb = (x: number): string => `${(x / 2 ** 20).toFixed(1)} MB`;
      console.log(`  imports of ${big} (${mb(bytes.byteLength)}, ${n} imports)`);
      console.log(`    readElf, bytes already in memory      ${ms(parse).padStart(10)}`);
      console.log(`    readElf, whole file read first        ${ms(whole).padStart(10)}`);
      console.log(`    readElf + code (as check reads it)    ${ms(withCode).padStart(10)}   reads ${mb(readWithCode)}`);
      console.log(`    readElf, reading what it needs        ${ms(ours).padStart(10)}   reads ${mb(readBytes)}`);
      console.log(
        `    readelf --dyn-syms -W                 ${ms(theirs).padStart(10)}   ${ours < theirs ? `OK (${(theirs / ours).toFixed(1)}x faster)` : 'SLOWER'}`,
      );
    } else console.log('  imports: no large ELF or readelf here, skipped');

    // 2. Static scan vs objdump -d.
    if (has('gcc') && has('objdump')) {
      const dir = mkdtempSync(join(tmpdir(), 'sysgate-bench-elf-'));
      try {
        const exe = join(dir, 'calls-static');
        const cc = spawnSync('gcc', ['-O2', '-static', '-o', exe, join(root, 'test/fixtures/check/calls.c')], { encoding: 'utf8' });
        if (cc.status === 0) {
          const scan = () => {
            const b = new Uint8Array(readFileSync(exe));
            const e = readElf(b, exe);
            return [findSyscallSites(e, b), findSyscallCalls(e, b)];
          };
          const [sites] = scan() as [unknown[]];
          const ours = timeFn(scan, 1, runs);
          const theirs = wall('objdump', ['-d', exe], runs);
          console.log(`  static scan of a gcc -static x86_64 binary (${(readFileSync(exe).byteLength / 1024).toFixed(0)} kB, ${sites.length} sites)`);
          console.log(`    readElf + sites + syscall() calls     ${ms(ours).padStart(10)}`);
          console.log(
            `    objdump -d                            ${ms(theirs).padStart(10)}   ${ours < theirs ? `OK (${(theirs / ours).toFixed(1)}x faster)` : 'SLOWER'}`,
          );
        }
        if (big) {
          const b = new Uint8Array(readFileSync(big));
          const e = readElf(b, big);
          const ours = timeFn(() => [findSyscallSites(e, b), findSyscallCalls(e, b)], 1, 3);
          const theirs = wall('objdump', ['-d', big], 1);
          console.log(`  scan of ${big}`);
          console.log(`    sites + syscall() calls               ${ms(ours).padStart(10)}`);
          console.log(
            `    objdump -d                            ${ms(theirs).padStart(10)}   ${ours < theirs ? `OK (${(theirs / ours).toFixed(1)}x faster)` : 'SLOWER'}`,
          );
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }

    // 3. Directories, through the built CLI with 2 worker threads.
    const dirs = DIRS.filter(existsSync);
    if (!dirs.length) return console.log('  directories: none of the library directories exist here, skipped');
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [cli, 'check', ...dirs, '--target', 'codesafe5', '--json', '--jobs', '2'], { encoding: 'utf8', maxBuffer: 1 << 30 });
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const list = JSON.parse(r.stdout) as { error?: string; summary?: { fatal: number } }[];
    const files = list.length;
    const errors = list.filter((x) => x.error).length;
    const fatal = list.filter((x) => x.summary && x.summary.fatal > 0).length;
    const per1000 = (secs / files) * 1000;
    console.log(`  sysgate check ${dirs.join(' ')} --jobs 2`);
    console.log(
      `    ${files} ELF files (${errors} not checkable, ${fatal} with fatal findings) in ${secs.toFixed(2)} s: ` +
        `${(files / secs).toFixed(0)} files/s, ${per1000.toFixed(2)} s per 1,000 files   ${per1000 < 5 ? 'OK' : 'OVER GOAL'}`,
    );
  },
};
