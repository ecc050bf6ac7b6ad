/**
 * Builds the ELF test programs (test/fixtures/elf/prog.c) once per test process with every
 * compiler present, dynamic and -static, into a temp dir removed at exit.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArchName } from '../../src/syscalls/arches.ts';
import { ROOT } from './paths.ts';
import { hasTool } from './tools.ts';

export interface Toolchain {
  arch: ArchName;
  cc: string;
  /** Debian package providing cc. */
  pkg: string;
  /** objdump that understands this arch. */
  objdump: string;
  /** Where the target's libc.so.6 lives, if installed. */
  libc: string;
  machine: number;
  class: 32 | 64;
  endian: 'little' | 'big';
  interp: string;
}

export const TOOLCHAINS: readonly Toolchain[] = [
  {
    arch: 'x86_64',
    cc: 'gcc',
    pkg: 'gcc',
    objdump: 'objdump',
    libc: '/usr/lib/x86_64-linux-gnu/libc.so.6',
    machine: 62,
    class: 64,
    endian: 'little',
    interp: '/lib64/ld-linux-x86-64.so.2',
  },
  {
    arch: 'arm',
    cc: 'arm-linux-gnueabihf-gcc',
    pkg: 'gcc-arm-linux-gnueabihf',
    objdump: 'arm-linux-gnueabihf-objdump',
    libc: '/usr/arm-linux-gnueabihf/lib/libc.so.6',
    machine: 40,
    class: 32,
    endian: 'little',
    interp: '/lib/ld-linux-armhf.so.3',
  },
  {
    arch: 'aarch64',
    cc: 'aarch64-linux-gnu-gcc',
    pkg: 'gcc-aarch64-linux-gnu',
    objdump: 'aarch64-linux-gnu-objdump',
    libc: '/usr/aarch64-linux-gnu/lib/libc.so.6',
    machine: 183,
    class: 64,
    endian: 'little',
    interp: '/lib/ld-linux-aarch64.so.1',
  },
  {
    arch: 'ppc64',
    cc: 'powerpc64-linux-gnu-gcc',
    pkg: 'gcc-powerpc64-linux-gnu',
    objdump: 'powerpc64-linux-gnu-objdump',
    libc: '/usr/powerpc64-linux-gnu/lib/libc.so.6',
    machine: 21,
    class: 64,
    endian: 'big',
    interp: '/lib64/ld64.so.1',
  },
  {
    arch: 'ppc',
    cc: 'powerpc-linux-gnu-gcc',
    pkg: 'gcc-powerpc-linux-gnu',
    objdump: 'powerpc-linux-gnu-objdump',
    libc: '/usr/powerpc-linux-gnu/lib/libc.so.6',
    machine: 20,
    class: 32,
    endian: 'big',
    interp: '/lib/ld.so.1',
  },
];

export interface Built {
  dyn: string;
  static: string;
  /** Dynamic, linked with --hash-style=sysv (DT_HASH instead of DT_GNU_HASH). */
  sysv: string;
}

let dir: string | undefined;
const built = new Map<ArchName, Built>();

export const FIXTURE_SRC = join(ROOT, 'test/fixtures/elf/prog.c');

/** Compiles the fixture for `tc` (once); callers check `hasTool(tc.cc)` first. */
export function buildFor(tc: Toolchain): Built {
  let b = built.get(tc.arch);
  if (b) return b;
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), 'sysgate-elf-'));
    const d = dir;
    process.once('exit', () => rmSync(d, { recursive: true, force: true }));
  }
  const base = join(dir, tc.arch);
  b = { dyn: `${base}-dyn`, static: `${base}-static`, sysv: `${base}-sysv` };
  execFileSync(tc.cc, ['-O2', '-o', b.dyn, FIXTURE_SRC], { stdio: 'pipe' });
  execFileSync(tc.cc, ['-O2', '-static', '-o', b.static, FIXTURE_SRC], { stdio: 'pipe' });
  execFileSync(tc.cc, ['-O2', '-Wl,--hash-style=sysv', '-o', b.sysv, FIXTURE_SRC], { stdio: 'pipe' });
  built.set(tc.arch, b);
  return b;
}

export function available(tc: Toolchain): boolean {
  return hasTool(tc.cc);
}

export function read(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}

export { prng } from './prng.ts';

export interface ReadelfSym {
  name: string;
  version?: string;
  /** true for `@@` (default version of a definition). */
  defaultVersion: boolean;
  bind: string;
  type: string;
  ndx: string;
}

/** Parses `readelf --dyn-syms -W` output. */
export function readelfDynSyms(path: string): ReadelfSym[] {
  const out = execFileSync('readelf', ['--dyn-syms', '-W', path], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const syms: ReadelfSym[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*\d+:\s+[0-9a-f]+\s+\S+\s+(\S+)\s+(\S+)\s+\S+\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    let name = m[4]!.replace(/ \(\d+\)$/, '');
    let version: string | undefined;
    let defaultVersion = false;
    const at = name.indexOf('@');
    if (at > 0) {
      defaultVersion = name.startsWith('@@', at);
      version = name.slice(at + (defaultVersion ? 2 : 1));
      name = name.slice(0, at);
    }
    const s: ReadelfSym = { name, defaultVersion, type: m[1]!, bind: m[2]!, ndx: m[3]! };
    if (version !== undefined) s.version = version;
    syms.push(s);
  }
  return syms;
}
