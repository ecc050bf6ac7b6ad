/**
 * The Debian kernels `sysgate run` boots ARM and AArch64 programs in (qemu-system), fetched by
 * scripts/fetch-kernels.sh into <cache>/kernels/<arch>/vmlinuz (cache: $SYSGATE_CACHE_DIR, else
 * $XDG_CACHE_HOME/sysgate, else ~/.cache/sysgate). Nothing is downloaded at run time: a missing
 * kernel is one line naming the command that fetches it.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { defaultCacheDir } from '../buildsys/shim-cache.ts';
import { InputError } from '../errors.ts';
import type { ArchName } from '../syscalls/arches.ts';
import { packageRoot } from '../util/package-root.ts';

export type VmArch = 'arm' | 'aarch64';

export interface VmMachine {
  arch: VmArch;
  /** qemu-system binary and its Debian package. */
  qemu: string;
  qemuPackage: string;
  machine: string[];
  console: string;
  /** Cross compiler for the guest's static /init and supervisor, and its Debian package. */
  cc: string;
  ccPackage: string;
  triplet: string;
  /** The Debian package holding the guest's C library (the default sysroot /usr/<triplet>). */
  libcDevPackage: string;
  /** The Debian package the kernel comes from (the meta package; the script resolves its version). */
  kernelPackage: string;
}

export const VM_MACHINES: Readonly<Record<VmArch, VmMachine>> = {
  arm: {
    arch: 'arm',
    qemu: 'qemu-system-arm',
    qemuPackage: 'qemu-system-arm',
    machine: ['-M', 'virt', '-cpu', 'cortex-a15'],
    console: 'ttyAMA0',
    cc: 'arm-linux-gnueabihf-gcc',
    ccPackage: 'gcc-arm-linux-gnueabihf',
    triplet: 'arm-linux-gnueabihf',
    libcDevPackage: 'libc6-dev-armhf-cross',
    kernelPackage: 'linux-image-armmp:armhf',
  },
  aarch64: {
    arch: 'aarch64',
    qemu: 'qemu-system-aarch64',
    qemuPackage: 'qemu-system-arm',
    machine: ['-M', 'virt', '-cpu', 'cortex-a57'],
    console: 'ttyAMA0',
    cc: 'aarch64-linux-gnu-gcc',
    ccPackage: 'gcc-aarch64-linux-gnu',
    triplet: 'aarch64-linux-gnu',
    libcDevPackage: 'libc6-dev-arm64-cross',
    kernelPackage: 'linux-image-arm64:arm64',
  },
};

export function isVmArch(a: ArchName): a is VmArch {
  return a === 'arm' || a === 'aarch64';
}

export function kernelDir(arch: VmArch, env: Readonly<Record<string, string | undefined>>, cacheDir?: string): string {
  return join(cacheDir ?? defaultCacheDir(env), 'kernels', arch);
}

/** The command that fetches the kernel, as a user would type it. */
export function fetchCommand(arch: VmArch, env: Readonly<Record<string, string | undefined>>, cacheDir?: string): string {
  // The script lives in the repository (scripts/ is not packed): name it where it is, if here.
  const script = join(packageRoot(), 'scripts', 'fetch-kernels.sh');
  const custom = cacheDir ?? env.SYSGATE_CACHE_DIR;
  const cmd = `${custom ? `SYSGATE_CACHE_DIR=${quote(custom)} ` : ''}${existsSync(script) ? quote(script) : 'scripts/fetch-kernels.sh'} ${arch}`;
  return existsSync(script) ? cmd : `${cmd} (from the sysgate repository)`;
}

export interface Kernel {
  path: string;
  /** e.g. 6.1.0-57-armmp (what the script recorded), or "unknown". */
  version: string;
}

/** The cached kernel, or an InputError (one line) naming the fetch command. */
export function findKernel(arch: VmArch, env: Readonly<Record<string, string | undefined>>, cacheDir?: string): Kernel {
  const dir = kernelDir(arch, env, cacheDir);
  const path = join(dir, 'vmlinuz');
  if (!existsSync(path) || !statSync(path).isFile() || statSync(path).size === 0) {
    throw new InputError(`no ${arch} kernel in ${dir}: fetch it with ${fetchCommand(arch, env, cacheDir)}`);
  }
  const vf = join(dir, 'version');
  const version = existsSync(vf) ? readFileSync(vf, 'utf8').trim() || 'unknown' : 'unknown';
  return { path, version };
}

function quote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
