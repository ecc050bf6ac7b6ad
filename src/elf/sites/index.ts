/**
 * Syscall sites: where a binary enters the kernel, and with which number when the instructions
 * before the site say so. Unresolved sites are listed with a reason, never guessed.
 */
import type { ElfInfo, SiteIsa, SiteKind, SyscallSite } from '../types.ts';
import { A64_TRAP_LENGTH, scanAarch64 } from './aarch64.ts';
import { ARM_TRAP_LENGTH, scanArm, THUMB_TRAP_LENGTH } from './arm.ts';
import { ScanContext } from './common.ts';
import { EM_386, EM_AARCH64, EM_ARM, EM_PPC, EM_PPC64, EM_X86_64 } from '../../syscalls/elf-machines.ts';
import { PPC_TRAP_LENGTH, scanPpc } from './ppc.ts';
import { scanX86, X86_TRAP_LENGTH, X86_VSYSCALL_LENGTH } from './x86.ts';

/** Machines `findSyscallSites` can scan (e_machine values). */
export const SCANNABLE_MACHINES: readonly number[] = [EM_386, EM_PPC, EM_PPC64, EM_ARM, EM_X86_64, EM_AARCH64];

/**
 * Finds the syscall instructions in the executable code of `elf` (as returned by `readElf` for
 * the same `bytes`), sorted by address. Returns [] for machines it does not know. `context`: a
 * ScanContext for the same elf and bytes, to share its function index with other passes.
 */
export function findSyscallSites(elf: ElfInfo, bytes: Uint8Array, context?: ScanContext): SyscallSite[] {
  const ctx = context ?? new ScanContext(elf, bytes);
  const out: SyscallSite[] = [];
  for (const region of elf.exec) {
    if (region.offset + region.size > bytes.byteLength) continue; // readElf guarantees this for its own bytes
    switch (elf.machine) {
      case EM_X86_64:
        scanX86(ctx, region, elf.class === 64, out);
        break;
      case EM_386:
        scanX86(ctx, region, false, out);
        break;
      case EM_AARCH64:
        scanAarch64(ctx, region, out);
        break;
      case EM_ARM:
        scanArm(ctx, region, out);
        break;
      case EM_PPC:
      case EM_PPC64:
        scanPpc(ctx, region, out);
        break;
      default:
        return [];
    }
  }
  out.sort((a, b) => a.address - b.address);
  return out;
}

const TRAP_LENGTH: Readonly<Record<SiteIsa, number>> = {
  x86_64: X86_TRAP_LENGTH,
  i386: X86_TRAP_LENGTH,
  arm: ARM_TRAP_LENGTH,
  thumb: THUMB_TRAP_LENGTH,
  aarch64: A64_TRAP_LENGTH,
  ppc: PPC_TRAP_LENGTH,
};

/** Bytes of the instruction a site names (the trap, or the call that stands for one). */
export function siteLength(kind: SiteKind, isa: SiteIsa): number {
  if (kind === 'vsyscall') return X86_VSYSCALL_LENGTH;
  if (kind === 'libc_do_syscall') return ARM_TRAP_LENGTH;
  return TRAP_LENGTH[isa];
}
