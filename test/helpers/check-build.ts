/**
 * Builds the `sysgate check` fixtures (test/fixtures/check/*.c) once per test process with each
 * compiler present, dynamic and -static, and records what they really call: qemu-user -strace
 * for the cross builds, strace -f for x86_64 (the ground truth the soundness test compares to).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArchName } from '../../src/syscalls/arches.ts';
import { syscallName } from '../../src/syscalls/table.ts';
import { TOOLCHAINS, type Toolchain } from './elf-build.ts';
import { ROOT } from './paths.ts';
import { hasTool } from './tools.ts';

export { TOOLCHAINS, type Toolchain };

export const FIXTURES = join(ROOT, 'test/fixtures/check');

/** qemu-user binary and guest root for each cross arch; x86_64 runs natively under strace. */
export const RUNNERS: Partial<Record<ArchName, { qemu: string; pkg: string; root: string }>> = {
  arm: { qemu: 'qemu-arm', pkg: 'qemu-user', root: '/usr/arm-linux-gnueabihf' },
  aarch64: { qemu: 'qemu-aarch64', pkg: 'qemu-user', root: '/usr/aarch64-linux-gnu' },
  ppc: { qemu: 'qemu-ppc', pkg: 'qemu-user', root: '/usr/powerpc-linux-gnu' },
  ppc64: { qemu: 'qemu-ppc64', pkg: 'qemu-user', root: '/usr/powerpc64-linux-gnu' },
};

let dir: string | undefined;
const built = new Map<string, string>();

export function checkTempDir(): string {
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), 'sysgate-check-'));
    const d = dir;
    process.once('exit', () => rmSync(d, { recursive: true, force: true }));
  }
  return dir;
}

/** Compiles fixture `name` (.c) for `tc`, once; `flags` e.g. ['-static']. */
export function buildFixture(tc: Toolchain, name: string, flags: string[] = [], extra: string[] = []): string {
  const tag = `${tc.arch}-${name}${flags.join('')}${extra.length ? `-${extra.join('').replace(/[^a-z0-9]/gi, '')}` : ''}`;
  let out = built.get(tag);
  if (out) return out;
  out = join(checkTempDir(), tag);
  const r = spawnSync(tc.cc, ['-O2', ...flags, '-o', out, join(FIXTURES, `${name}.c`), ...extra], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${tc.cc} ${name}.c: ${r.stderr}`);
  built.set(tag, out);
  return out;
}

export function canRun(tc: Toolchain): boolean {
  const runner = RUNNERS[tc.arch];
  return runner ? hasTool(runner.qemu) : hasTool('strace');
}

/** Syscall names a run of `exe` makes, as qemu -strace or strace -f sees them. */
export function observe(tc: Toolchain, exe: string): Set<string> {
  const runner = RUNNERS[tc.arch];
  const names = new Set<string>();
  if (runner) {
    const args = ['-strace', exe];
    const r = spawnSync(runner.qemu, ['-L', runner.root, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
    for (const line of `${r.stdout}\n${r.stderr}`.split('\n')) {
      // "1234 openat(...) = 3" or "1234 Unknown syscall 398"
      const unknown = /^\d+ Unknown syscall (\d+)/.exec(line);
      if (unknown) {
        const n = syscallName(tc.arch, Number(unknown[1]));
        names.add(n ?? `#${unknown[1]}`);
        continue;
      }
      const m = /^\d+ ([a-z_][a-z0-9_]*)\(/.exec(line);
      if (m) names.add(m[1]!);
    }
  } else {
    const log = join(checkTempDir(), `strace-${built.size}-${Date.now()}.txt`);
    spawnSync('strace', ['-f', '-qq', '-o', log, exe], { encoding: 'utf8' });
    const text = spawnSync('cat', [log], { encoding: 'utf8' }).stdout;
    for (const line of text.split('\n')) {
      const m = /^\d+\s+([a-z_][a-z0-9_]*)\(/.exec(line);
      if (m) names.add(m[1]!);
    }
  }
  return names;
}
