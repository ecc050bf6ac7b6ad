/** Architecture records: what a filter and an ELF reader need to know about each ABI. */
import { EM_386, EM_AARCH64, EM_ARM, EM_PPC, EM_PPC64, EM_X86_64 } from './elf-machines.ts';

export const ARCH_NAMES = ['arm', 'aarch64', 'x86_64', 'i386', 'ppc', 'ppc64'] as const;
export type ArchName = (typeof ARCH_NAMES)[number];

/**
 * How a program enters the kernel on an arch (the kernel's entry code; syscall(2)'s tables):
 * what the shim's raw system call is generated from, and the one place a register of the
 * convention is named.
 */
export interface SyscallConvention {
  /** The trap, as GNU as spells it. */
  instruction: string;
  /** The register the kernel reads the number from. */
  nr: string;
  /** The six argument registers, in order. */
  args: readonly [string, string, string, string, string, string];
  /** The register the result comes back in. */
  ret: string;
  /**
   * How a failure comes back: 'negative', -errno in `ret` (-4095..-1); 'summary-overflow', errno
   * positive in `ret` with CR0's summary-overflow bit set (PowerPC `sc`).
   */
  error: 'negative' | 'summary-overflow';
  /**
   * Registers besides `ret` the kernel or the trap changes. 'args': the number and argument
   * registers too (PowerPC's are volatile across `sc`), so none of them keeps its value.
   */
  clobbers: readonly string[];
  argsClobbered: boolean;
}

/**
 * How the libc shim (src/shim/) spells an arch in C. undefined on a record: no shim for the arch.
 * The convention's registers come from `ArchInfo.syscall`; these are the C-only facts.
 */
export interface ShimFacts {
  /**
   * The arch's place among the shim arches: their order in `shim --help` and in the shim's
   * `#if` chain of raw calls. The guards exclude each other, so it means nothing to a compiler;
   * it is kept because the shim's bytes are (the order the arches were added in).
   */
  order: number;
  /** True exactly when the compiler builds for this arch: a shim refuses to compile otherwise. */
  cppTest: string;
  /**
   * The test that selects this arch's raw system call in the shim. Arches of one convention
   * share it (ppc, ppc64: the registers are `long` wide either way) and the C under it.
   */
  rawGuard: string;
  /** Why the raw call is written as it is, printed above it (line breaks as printed). */
  rawNote?: string;
  /**
   * GCC machine constraints that name a register directly (x86: "a" is rax, "D" rdi): such a
   * register is an operand by its letter, the others through `register ... __asm__("reg")`.
   */
  constraints: Readonly<Record<string, string>>;
  /**
   * The number register cannot be an asm operand (ARM: r7 may be Thumb's frame pointer, which
   * GCC refuses to give up): the number travels in `via` and is moved into place around the
   * trap, the number register's own value saved in `save` and restored after.
   */
  nrCarrier?: { via: string; save: string };
  /** The --sigsys handler's access to the saved registers (SigsysFacts). */
  sigsys: SigsysFacts;
  /** The kernel's stat structs the shim passes to fstat and fstatat (KstatFacts). */
  kstat: KstatFacts;
}

/** The fields of a kernel stat struct the shim may read: st_<name> in the uapi header. */
export const KSTAT_FIELDS = ['dev', 'ino', 'mode', 'uid', 'gid', 'rdev'] as const;
export type KstatField = (typeof KSTAT_FIELDS)[number];

/** Where a field lies in a kernel struct, and its width: the shim reads it as uint<8*bytes>_t. */
export interface KernelField {
  offset: number;
  bytes: 2 | 4 | 8;
}

/**
 * A stat struct as the kernel writes it (the arch's uapi <asm/stat.h>), not libc's struct stat,
 * whose layout depends on _FILE_OFFSET_BITS and the C library. The shim declares the fields
 * the kernel header names st_<field> at these offsets, padded to `size`, and refuses to compile
 * when the compiler lays them out otherwise (test/arch-record.test.ts holds them against the
 * cross toolchains' <asm/stat.h>).
 */
export interface KstatLayout {
  /** The uapi header that declares the struct, as a path in the kernel tree. */
  header: string;
  /** sizeof the kernel's struct: the buffer the kernel writes. */
  size: number;
  fields: Readonly<Record<KstatField, KernelField>>;
}

/** The kernel's stat structs of an arch, by the calls that write them. */
export interface KstatFacts {
  /** struct stat: what fstat and newfstatat write. */
  stat: KstatLayout;
  /** struct stat64: what fstat64 and fstatat64 write; only arches with those calls (32-bit) have it. */
  stat64?: KstatLayout;
}

/**
 * How the shim's SIGSYS handler reads a denied call's arguments and writes its result in the
 * ucontext_t the kernel saved: C expressions in the C library's own spelling of the saved
 * registers (glibc's gregs[REG_*], arm_r*, regs[], gp_regs[]; musl spells some differently,
 * hence the guards name __GLIBC__ where they must).
 */
export interface SigsysFacts {
  /**
   * The arch's place in the handler's `#if` chain. Unlike the raw call's, these guards overlap
   * (__powerpc__ holds on ppc64 too), so the more specific one must come first.
   */
  order: number;
  guard: string;
  /** Printed above the branch. */
  note?: string;
  /** SG_ARG(uc, i): argument i (0..5) as a long. */
  arg: string;
  /** SG_SET_RET(uc, r): the call's result r (a negative errno on failure) stored as the convention wants it. */
  setRet: string;
}

/**
 * The dynamic relocation types (elf.h's R_<ARCH>_*) the call graph reads (src/elf/callgraph.ts):
 * which relocations fill a slot code reads an address from, and which hold a code address.
 */
export interface RelocTypes {
  /** GLOB_DAT: a GOT slot code loads a symbol's address from. */
  globDat: number;
  /** JUMP_SLOT (JMP_SLOT): the slot a PLT stub jumps through. */
  jumpSlot: number;
  /** RELATIVE: the load base plus the addend (REL: plus the word in place), no symbol. */
  relative: number;
  /** IRELATIVE: the loader calls the resolver at the addend, so it runs whatever holds the slot. */
  irelative: number;
}

/** A qemu-system guest of the arch's own kernel (src/run/vm.ts). */
export interface VmFacts {
  /** The qemu-system binary and the Debian package that ships it. */
  qemu: string;
  qemuPackage: string;
  /** -M and -cpu: a board Debian's kernel for the arch boots on, and a CPU of the arch's ISA level. */
  machine: string;
  cpu: string;
  /** The board's serial console, as the kernel names it (ttyAMA0: virt's PL011 UART). */
  console: string;
  /** Debian's kernel flavour for the arch: the meta package linux-image-<flavour>:<debianArch>. */
  kernelFlavour: string;
}

/**
 * How `sysgate run` runs a program of the arch: natively under the host's kernel, in a
 * qemu-system guest with the arch's own kernel (src/run/vm.ts, kernels.ts), or observed under
 * qemu-user without enforcement (src/run/observe.ts). undefined on a record: not runnable yet.
 */
export type ArchRunner = { kind: 'host' } | { kind: 'vm'; vm: VmFacts } | { kind: 'observed'; qemuUser: string };

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
  /** How `sysgate run` runs a program of this arch (ArchRunner); undefined: not runnable yet. */
  runner: ArchRunner | undefined;
  /**
   * GNU triplets of the arch's Debian multiarch library dirs (lib/<triplet>, usr/lib/<triplet>),
   * searched in this order: armhf before armel, since CodeSafe's toolchain is hard-float.
   */
  triplets: readonly string[];
  /**
   * Debian's name for the arch (dpkg --print-architecture) whose cross packages build and hold
   * programs of the triplet first listed: libc6-dev-<debianArch>-cross is the default sysroot.
   */
  debianArch: string;
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
  /**
   * True when the plain id calls (getuid, setgid, getgroups, ...) carry 16-bit ids, the kernel's
   * CONFIG_UID16 ABI: the *32 calls (getuid32, ...) are the full ones there.
   */
  uid16: boolean;
  /** How a program enters the kernel (SyscallConvention). */
  syscall: SyscallConvention;
  /** The dynamic relocation types the call graph reads (RelocTypes). */
  relocs: RelocTypes;
  /** How the libc shim spells the arch in C; undefined: no shim for the arch. */
  shim: ShimFacts | undefined;
}

/** PowerPC `sc`, one convention for 32- and 64-bit (registers are `long` wide either way). */
const PPC_SC: SyscallConvention = {
  instruction: 'sc',
  nr: 'r0',
  args: ['r3', 'r4', 'r5', 'r6', 'r7', 'r8'],
  ret: 'r3',
  error: 'summary-overflow',
  // The volatile registers sc may leave changed (r0 and r4..r8 too: argsClobbered).
  clobbers: ['r9', 'r10', 'r11', 'r12', 'cr0', 'ctr'],
  argsClobbered: true,
};

/** ppc and ppc64 share the raw call's C (PPC_SC); each has its own preprocessor test. */
const PPC_SHIM = {
  rawGuard: 'defined(__powerpc__)',
  rawNote: 'sc: number in r0, arguments in r3..r8; on error CR0.SO is set and r3 holds errno.',
  constraints: {},
} as const;

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
    runner: {
      kind: 'vm',
      vm: { qemu: 'qemu-system-arm', qemuPackage: 'qemu-system-arm', machine: 'virt', cpu: 'cortex-a15', console: 'ttyAMA0', kernelFlavour: 'armmp' },
    },
    triplets: ['arm-linux-gnueabihf', 'arm-linux-gnueabi'],
    debianArch: 'armhf',
    multilibDir: 'lib32',
    int80Abi: undefined,
    callLength: 4,
    gnuCpu: /^arm/,
    // EABI; the OABI (number in the swi instruction) is not supported.
    uid16: true,
    syscall: { instruction: 'svc #0', nr: 'r7', args: ['r0', 'r1', 'r2', 'r3', 'r4', 'r5'], ret: 'r0', error: 'negative', clobbers: [], argsClobbered: false },
    relocs: { globDat: 21, jumpSlot: 22, relative: 23, irelative: 160 },
    shim: {
      order: 2,
      cppTest: 'defined(__arm__) && defined(__ARM_EABI__) && !defined(__aarch64__)',
      rawGuard: 'defined(__arm__) && defined(__ARM_EABI__)',
      rawNote: 'EABI: number in r7. r7 may be the Thumb frame pointer, so it is saved in ip around the\ncall instead of being named as an operand.',
      constraints: {},
      nrCarrier: { via: 'r6', save: 'ip' },
      sigsys: {
        order: 2,
        guard: 'defined(__arm__)',
        arg: '((long)((i) == 0 ? (uc)->uc_mcontext.arm_r0 : (i) == 1 ? (uc)->uc_mcontext.arm_r1 : (i) == 2 ? (uc)->uc_mcontext.arm_r2 : (i) == 3 ? (uc)->uc_mcontext.arm_r3 : (i) == 4 ? (uc)->uc_mcontext.arm_r4 : (uc)->uc_mcontext.arm_r5))',
        setRet: '((uc)->uc_mcontext.arm_r0 = (unsigned long)(r))',
      },
      // The header's little-endian branch (__ARMEB__ makes st_dev and st_rdev 16-bit). In stat64,
      // st_ino is the full inode number at the end, not the truncated __st_ino after st_dev.
      kstat: {
        stat: {
          header: 'arch/arm/include/uapi/asm/stat.h',
          size: 64,
          fields: {
            dev: { offset: 0, bytes: 4 },
            ino: { offset: 4, bytes: 4 },
            mode: { offset: 8, bytes: 2 },
            uid: { offset: 12, bytes: 2 },
            gid: { offset: 14, bytes: 2 },
            rdev: { offset: 16, bytes: 4 },
          },
        },
        stat64: {
          header: 'arch/arm/include/uapi/asm/stat.h',
          size: 104,
          fields: {
            dev: { offset: 0, bytes: 8 },
            ino: { offset: 96, bytes: 8 },
            mode: { offset: 16, bytes: 4 },
            uid: { offset: 24, bytes: 4 },
            gid: { offset: 28, bytes: 4 },
            rdev: { offset: 32, bytes: 8 },
          },
        },
      },
    },
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
    runner: {
      kind: 'vm',
      vm: { qemu: 'qemu-system-aarch64', qemuPackage: 'qemu-system-arm', machine: 'virt', cpu: 'cortex-a57', console: 'ttyAMA0', kernelFlavour: 'arm64' },
    },
    triplets: ['aarch64-linux-gnu'],
    debianArch: 'arm64',
    multilibDir: 'lib64',
    int80Abi: undefined,
    callLength: 4,
    gnuCpu: /^aarch64$/,
    uid16: false,
    syscall: { instruction: 'svc #0', nr: 'x8', args: ['x0', 'x1', 'x2', 'x3', 'x4', 'x5'], ret: 'x0', error: 'negative', clobbers: [], argsClobbered: false },
    relocs: { globDat: 1025, jumpSlot: 1026, relative: 1027, irelative: 1032 },
    shim: {
      order: 1,
      cppTest: 'defined(__aarch64__) && !defined(__ILP32__)',
      rawGuard: 'defined(__aarch64__)',
      constraints: {},
      sigsys: {
        order: 1,
        guard: 'defined(__aarch64__)',
        arg: '((long)(uc)->uc_mcontext.regs[(i)])',
        setRet: '((uc)->uc_mcontext.regs[0] = (unsigned long)(r))',
      },
      // arch/arm64/include/uapi/asm/stat.h is asm-generic's.
      kstat: {
        stat: {
          header: 'include/uapi/asm-generic/stat.h',
          size: 128,
          fields: {
            dev: { offset: 0, bytes: 8 },
            ino: { offset: 8, bytes: 8 },
            mode: { offset: 16, bytes: 4 },
            uid: { offset: 24, bytes: 4 },
            gid: { offset: 28, bytes: 4 },
            rdev: { offset: 32, bytes: 8 },
          },
        },
      },
    },
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
    runner: { kind: 'host' },
    triplets: ['x86_64-linux-gnu'],
    debianArch: 'amd64',
    multilibDir: 'lib64',
    int80Abi: 'i386',
    callLength: 5,
    gnuCpu: /^x86_64$/,
    // `syscall` itself writes the return address to rcx and the flags to r11.
    uid16: false,
    syscall: {
      instruction: 'syscall',
      nr: 'rax',
      args: ['rdi', 'rsi', 'rdx', 'r10', 'r8', 'r9'],
      ret: 'rax',
      error: 'negative',
      clobbers: ['rcx', 'r11'],
      argsClobbered: false,
    },
    relocs: { globDat: 6, jumpSlot: 7, relative: 8, irelative: 37 },
    shim: {
      order: 0,
      cppTest: 'defined(__x86_64__) && !defined(__ILP32__)',
      rawGuard: 'defined(__x86_64__)',
      constraints: { rax: 'a', rdi: 'D', rsi: 'S', rdx: 'd' },
      sigsys: {
        order: 0,
        guard: 'defined(__x86_64__)',
        arg: '((long)(uc)->uc_mcontext.gregs[(i) == 0 ? REG_RDI : (i) == 1 ? REG_RSI : (i) == 2 ? REG_RDX : (i) == 3 ? REG_R10 : (i) == 4 ? REG_R8 : REG_R9])',
        setRet: '((uc)->uc_mcontext.gregs[REG_RAX] = (r))',
      },
      kstat: {
        stat: {
          header: 'arch/x86/include/uapi/asm/stat.h',
          size: 144,
          fields: {
            dev: { offset: 0, bytes: 8 },
            ino: { offset: 8, bytes: 8 },
            mode: { offset: 24, bytes: 4 },
            uid: { offset: 28, bytes: 4 },
            gid: { offset: 32, bytes: 4 },
            rdev: { offset: 40, bytes: 8 },
          },
        },
      },
    },
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
    debianArch: 'i386',
    multilibDir: 'lib32',
    int80Abi: undefined,
    callLength: 5,
    gnuCpu: /^i[3-6]86$/,
    // The legacy trap; glibc enters through the vDSO's __kernel_vsyscall, with the same registers.
    uid16: true,
    syscall: {
      instruction: 'int $0x80',
      nr: 'eax',
      args: ['ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp'],
      ret: 'eax',
      error: 'negative',
      clobbers: [],
      argsClobbered: false,
    },
    relocs: { globDat: 6, jumpSlot: 7, relative: 8, irelative: 42 },
    shim: undefined,
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
    runner: { kind: 'observed', qemuUser: 'qemu-ppc' },
    triplets: ['powerpc-linux-gnu'],
    debianArch: 'powerpc',
    multilibDir: 'lib32',
    int80Abi: undefined,
    callLength: 4,
    gnuCpu: /^(powerpc|ppc)$/,
    uid16: false,
    syscall: PPC_SC,
    relocs: { globDat: 20, jumpSlot: 21, relative: 22, irelative: 248 },
    shim: {
      ...PPC_SHIM,
      order: 3,
      cppTest: 'defined(__powerpc__) && !defined(__powerpc64__)',
      sigsys: {
        order: 4,
        guard: 'defined(__powerpc__) && defined(__GLIBC__)',
        arg: '((long)(uc)->uc_mcontext.uc_regs->gregs[3 + (i)])',
        setRet: 'sg_ppc_set_ret((uc)->uc_mcontext.uc_regs->gregs, (r))',
      },
      // The header's !__powerpc64__ branch: st_mode before a 16-bit st_nlink.
      kstat: {
        stat: {
          header: 'arch/powerpc/include/uapi/asm/stat.h',
          size: 72,
          fields: {
            dev: { offset: 0, bytes: 4 },
            ino: { offset: 4, bytes: 4 },
            mode: { offset: 8, bytes: 4 },
            uid: { offset: 16, bytes: 4 },
            gid: { offset: 20, bytes: 4 },
            rdev: { offset: 24, bytes: 4 },
          },
        },
        stat64: {
          header: 'arch/powerpc/include/uapi/asm/stat.h',
          size: 104,
          fields: {
            dev: { offset: 0, bytes: 8 },
            ino: { offset: 8, bytes: 8 },
            mode: { offset: 16, bytes: 4 },
            uid: { offset: 24, bytes: 4 },
            gid: { offset: 28, bytes: 4 },
            rdev: { offset: 32, bytes: 8 },
          },
        },
      },
    },
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
    runner: { kind: 'observed', qemuUser: 'qemu-ppc64' },
    triplets: ['powerpc64-linux-gnu'],
    debianArch: 'ppc64',
    multilibDir: 'lib64',
    int80Abi: undefined,
    callLength: 4,
    gnuCpu: /^powerpc64/,
    uid16: false,
    syscall: PPC_SC,
    relocs: { globDat: 20, jumpSlot: 21, relative: 22, irelative: 248 },
    shim: {
      ...PPC_SHIM,
      order: 4,
      cppTest: 'defined(__powerpc64__)',
      sigsys: {
        order: 3,
        guard: 'defined(__powerpc64__) && defined(__GLIBC__)',
        note: 'sc convention: errno positive in r3 and CR0.SO (0x10000000 in the saved CCR, index 38).',
        arg: '((long)(uc)->uc_mcontext.gp_regs[3 + (i)])',
        setRet: 'sg_ppc_set_ret((uc)->uc_mcontext.gp_regs, (r))',
      },
      // The header's __powerpc64__ branch: a 64-bit st_nlink before st_mode (x86_64's layout).
      kstat: {
        stat: {
          header: 'arch/powerpc/include/uapi/asm/stat.h',
          size: 144,
          fields: {
            dev: { offset: 0, bytes: 8 },
            ino: { offset: 8, bytes: 8 },
            mode: { offset: 24, bytes: 4 },
            uid: { offset: 28, bytes: 4 },
            gid: { offset: 32, bytes: 4 },
            rdev: { offset: 40, bytes: 8 },
          },
        },
      },
    },
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
