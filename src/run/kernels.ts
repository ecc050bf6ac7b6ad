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
import { ARCH_NAMES, ARCHES, type ArchName } from '../syscalls/arches.ts';
import { packageRoot } from '../util/package-root.ts';

/** A qemu-system guest for one arch, as vm.ts runs it: the record's facts (ArchInfo.runner.vm) and what follows from them. */
export interface VmMachine {
  arch: ArchName;
  /** qemu-system binary and its Debian package. */
  qemu: string;
  qemuPackage: string;
  /** qemu's -M and -cpu arguments. */
  machine: string[];
  console: string;
  /** Cross compiler for the guest's static /init and supervisor, and its Debian package. */
  cc: string;
  ccPackage: string;
  triplet: string;
  /** The Debian package holding the guest's C library (the default sysroot /usr/<triplet>). */
  libcDevPackage: string;
  /** Debian's name for the arch (the record's debianArch): the architecture of the kernel package. */
  debianArch: string;
  /** The kernel's meta package, linux-image-<flavour> (the script resolves the versioned image it depends on). */
  kernelMeta: string;
  /** The Debian package the kernel comes from: kernelMeta:debianArch. */
  kernelPackage: string;
}

/** Arches whose programs run in a qemu-system guest, in ARCH_NAMES order. */
export const VM_ARCHES: readonly ArchName[] = ARCH_NAMES.filter((a) => ARCHES[a].runner?.kind === 'vm');

/**
 * The guest for an arch, or an InputError for an arch that has none. Debian's cross toolchain
 * for a triplet is the package gcc-<triplet> with the command <triplet>-gcc, and its C library
 * libc6-dev-<debian arch>-cross installed under /usr/<triplet>: the record's first triplet
 * (armhf before armel) and Debian arch name them.
 */
export function vmMachine(arch: ArchName): VmMachine {
  const a = ARCHES[arch];
  if (a.runner?.kind !== 'vm') throw new InputError(`no qemu-system guest for ${arch} programs (${VM_ARCHES.join(' and ')} run in a VM)`);
  const { vm } = a.runner;
  const triplet = a.triplets[0]!;
  const kernelMeta = `linux-image-${vm.kernelFlavour}`;
  return {
    arch,
    qemu: vm.qemu,
    qemuPackage: vm.qemuPackage,
    machine: ['-M', vm.machine, '-cpu', vm.cpu],
    console: vm.console,
    cc: `${triplet}-gcc`,
    ccPackage: `gcc-${triplet}`,
    triplet,
    libcDevPackage: `libc6-dev-${a.debianArch}-cross`,
    debianArch: a.debianArch,
    kernelMeta,
    kernelPackage: `${kernelMeta}:${a.debianArch}`,
  };
}

export function kernelDir(arch: ArchName, env: Readonly<Record<string, string | undefined>>, cacheDir?: string): string {
  return join(cacheDir ?? defaultCacheDir(env), 'kernels', arch);
}

/** The command that fetches the kernel, as a user would type it. */
export function fetchCommand(arch: ArchName, env: Readonly<Record<string, string | undefined>>, cacheDir?: string): string {
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
export function findKernel(arch: ArchName, env: Readonly<Record<string, string | undefined>>, cacheDir?: string): Kernel {
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
