/** Architecture records: what a filter and an ELF reader need to know about each ABI. */
import { EM_386, EM_AARCH64, EM_ARM, EM_PPC, EM_PPC64, EM_X86_64 } from './elf-machines.ts';

export const ARCH_NAMES = ['arm', 'aarch64', 'x86_64', 'i386', 'ppc', 'ppc64'] as const;
export type ArchName = (typeof ARCH_NAMES)[number];

export interface ArchInfo {
  name: ArchName;
  /** AUDIT_ARCH_* value the kernel puts in seccomp_data.arch. */
  auditArch: number;
  bits: 32 | 64;
  endian: 'little' | 'big';
  /** ELF e_machine. */
  elfMachine: number;
  /** Syscalls every program on this arch makes before main, whatever the allow list says. */
  essentials: readonly string[];
  /** Why each essential is needed. */
  essentialsWhy: string;
  /** Other spellings accepted on the command line. */
  aliases: readonly string[];
  /**
   * The kernel syscall table the arch's numbers come from. 32- and 64-bit PowerPC share one
   * (arch/powerpc/kernel/syscalls/syscall.tbl): a 32-bit process on a 64-bit PowerPC kernel meets
   * a filter's numbers as they are, so a list of ppc64 names is no translation there.
   */
  kernelTable: string;
  /**
   * True when the x32 ABI shares this arch's AUDIT_ARCH value and marks its numbers with
   * X32_SYSCALL_BIT: a filter must treat those numbers as a foreign arch (fail closed).
   */
  x32: boolean;
  /** libseccomp's SCMP_ARCH_* token, also the OCI runtime-spec's `architectures` spelling. */
  scmpArch: string;
  /** systemd's SystemCallArchitectures= name (src/shared/seccomp-util.c's table). */
  systemdArch: string;
  /**
   * True for the enclave jail's host arch: the jail runs every target's program on this arch
   * (emulating the HSM's own), so a policy for it is resolvable from any target, whatever arches
   * the target lists.
   */
  jailHost: boolean;
  /**
   * How `sysgate run` runs a program of this arch: natively under the host's kernel, in a
   * qemu-system guest with the arch's own kernel (src/run/kernels.ts), or observed under qemu-user
   * without enforcement. undefined: not runnable yet.
   */
  runner: 'host' | 'vm' | 'observed' | undefined;
  /**
   * GNU triplets of the arch's Debian multiarch library dirs (lib/<triplet>, usr/lib/<triplet>),
   * searched in this order: armhf before armel, since CodeSafe's toolchain is hard-float.
   */
  triplets: readonly string[];
  /** The biarch library dir a sysroot may keep this arch's libraries in (lib64 or lib32). */
  multilibDir: 'lib64' | 'lib32';
  /**
   * The ABI `int $0x80` enters when it is not this arch's own: on x86_64 the i386 compat ABI, so
   * such a call is a foreign arch for this arch's filter. undefined: no such second entry.
   */
  int80Abi: ArchName | undefined;
  /** Bytes of a direct call (x86 `call rel32`: 5; `bl`: 4), for the span of a call to syscall(). */
  callLength: 4 | 5;
  /**
   * The CPU field of a GNU triplet (`cc -dumpmachine`) that builds for this arch: armv7l and
   * armeb are arm, powerpc64le is ppc64's syscall table. A CPU no pattern matches is looked up as
   * an arch name or alias.
   */
  gnuCpu: RegExp;
}

// __AUDIT_ARCH_64BIT 0x80000000, __AUDIT_ARCH_LE 0x40000000 (include/uapi/linux/audit.h).
export const ARCHES: Readonly<Record<ArchName, ArchInfo>> = {
  arm: {
    name: 'arm',
    auditArch: 0x40000028,
    bits: 32,
    endian: 'little',
    elfMachine: EM_ARM,
    essentials: ['set_tls'],
    essentialsWhy: 'glibc and musl set the TLS register through the ARM-private set_tls (0xf0005) before main',
    aliases: ['armhf', 'armel', 'arm-eabi', 'armv7'],
    kernelTable: 'arm',
    x32: false,
    scmpArch: 'SCMP_ARCH_ARM',
    systemdArch: 'arm',
    jailHost: false,
    runner: 'vm',
    triplets: ['arm-linux-gnueabihf', 'arm-linux-gnueabi'],
    multilibDir: 'lib32',
    int80Abi: undefined,
    callLength: 4,
    gnuCpu: /^arm/,
  },
  aarch64: {
    name: 'aarch64',
    auditArch: 0xc00000b7,
    bits: 64,
    endian: 'little',
    elfMachine: EM_AARCH64,
    essentials: [],
    essentialsWhy: 'TLS is a user-writable register (tpidr_el0): no syscall needed',
    aliases: ['arm64'],
    kernelTable: 'asm-generic',
    x32: false,
    scmpArch: 'SCMP_ARCH_AARCH64',
    systemdArch: 'arm64',
    jailHost: false,
    runner: 'vm',
    triplets: ['aarch64-linux-gnu'],
    multilibDir: 'lib64',
    int80Abi: undefined,
    callLength: 4,
    gnuCpu: /^aarch64$/,
  },
  x86_64: {
    name: 'x86_64',
    auditArch: 0xc000003e,
    bits: 64,
    endian: 'little',
    elfMachine: EM_X86_64,
    essentials: ['arch_prctl'],
    essentialsWhy: 'the C library sets the %fs base for TLS with arch_prctl(ARCH_SET_FS) before main',
    aliases: ['amd64', 'x86-64', 'x64'],
    kernelTable: 'x86_64',
    x32: true,
    scmpArch: 'SCMP_ARCH_X86_64',
    systemdArch: 'x86-64',
    jailHost: true,
    runner: 'host',
    triplets: ['x86_64-linux-gnu'],
    multilibDir: 'lib64',
    int80Abi: 'i386',
    callLength: 5,
    gnuCpu: /^x86_64$/,
  },
  i386: {
    name: 'i386',
    auditArch: 0x40000003,
    bits: 32,
    endian: 'little',
    elfMachine: EM_386,
    essentials: ['set_thread_area'],
    essentialsWhy: 'the C library sets up the %gs TLS segment with set_thread_area before main',
    aliases: ['x86', 'i686', 'ia32'],
    kernelTable: 'i386',
    x32: false,
    scmpArch: 'SCMP_ARCH_X86',
    systemdArch: 'x86',
    jailHost: false,
    runner: undefined,
    triplets: ['i386-linux-gnu'],
    multilibDir: 'lib32',
    int80Abi: undefined,
    callLength: 5,
    gnuCpu: /^i[3-6]86$/,
  },
  ppc: {
    name: 'ppc',
    auditArch: 0x00000014,
    bits: 32,
    endian: 'big',
    elfMachine: EM_PPC,
    essentials: [],
    essentialsWhy: 'TLS lives in r2, set from user space: no syscall needed',
    aliases: ['powerpc', 'ppc32'],
    kernelTable: 'powerpc',
    x32: false,
    scmpArch: 'SCMP_ARCH_PPC',
    systemdArch: 'ppc',
    jailHost: false,
    runner: 'observed',
    triplets: ['powerpc-linux-gnu'],
    multilibDir: 'lib32',
    int80Abi: undefined,
    callLength: 4,
    gnuCpu: /^(powerpc|ppc)$/,
  },
  ppc64: {
    name: 'ppc64',
    auditArch: 0x80000015,
    bits: 64,
    endian: 'big',
    elfMachine: EM_PPC64,
    essentials: [],
    essentialsWhy: 'TLS lives in r13, set from user space: no syscall needed',
    aliases: ['powerpc64'],
    kernelTable: 'powerpc',
    x32: false,
    scmpArch: 'SCMP_ARCH_PPC64',
    systemdArch: 'ppc64',
    jailHost: false,
    runner: 'observed',
    triplets: ['powerpc64-linux-gnu'],
    multilibDir: 'lib64',
    int80Abi: undefined,
    callLength: 4,
    gnuCpu: /^powerpc64/,
  },
};

/** x86_64's x32 ABI shares AUDIT_ARCH_X86_64 and marks its numbers with this bit. */
export const X32_SYSCALL_BIT = 0x40000000;

export function isArchName(s: string): s is ArchName {
  return (ARCH_NAMES as readonly string[]).includes(s);
}

/** Canonical arch for a name or alias, or undefined. */
export function lookupArch(s: string): ArchInfo | undefined {
  const key = s.toLowerCase();
  if (isArchName(key)) return ARCHES[key];
  return ARCH_NAMES.map((n) => ARCHES[n]).find((a) => a.aliases.includes(key));
}

export function archByAudit(audit: number): ArchInfo | undefined {
  return ARCH_NAMES.map((n) => ARCHES[n]).find((a) => a.auditArch === audit >>> 0);
}

export function archByElfMachine(machine: number, bits: 32 | 64): ArchInfo | undefined {
  return ARCH_NAMES.map((n) => ARCHES[n]).find((a) => a.elfMachine === machine && a.bits === bits);
}
