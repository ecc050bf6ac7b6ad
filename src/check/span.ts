/**
 * Where in the file a way of reaching a syscall sits, as bytes: the trap or call instruction
 * of a site, the Elf_Sym entry of an import. Reports that point into a binary (SARIF regions:
 * byteOffset/byteLength) need file offsets, while the scanners speak virtual addresses.
 */
import type { ElfInfo, SiteIsa, SiteKind } from '../elf/types.ts';

export interface ByteSpan {
  /** File offset of the first byte. */
  offset: number;
  length: number;
}

/** Length of the instruction a site names (the trap, or the `bl` into __libc_do_syscall). */
export function siteLength(kind: SiteKind, isa: SiteIsa): number {
  if (kind === 'vsyscall') return 7; // call *%gs:0x10 (65 ff 15 10 00 00 00)
  if (kind === 'libc_do_syscall') return 4; // Thumb-2 bl
  if (isa === 'x86_64' || isa === 'i386' || isa === 'thumb') return 2; // syscall, int $0x80, Thumb svc
  return 4; // ARM/A64 svc, PowerPC sc
}

/** Length of a call to syscall(): x86 `call rel32`, a `bl` elsewhere. */
export function callLength(elf: ElfInfo): number {
  return elf.arch === 'x86_64' || elf.arch === 'i386' ? 5 : 4;
}

/**
 * The file bytes of an instruction at a virtual address, when an executable region holds
 * them. Not in relocatable objects: their addresses are section-relative, so ambiguous.
 */
export function codeSpan(elf: ElfInfo, address: number, length: number): ByteSpan | undefined {
  if (elf.type === 'rel') return undefined;
  for (const r of elf.exec) {
    if (address >= r.addr && address - r.addr + length <= r.size) return { offset: r.offset + (address - r.addr), length };
  }
  return undefined;
}

/** The Elf_Sym entry of an import. */
export function importSpan(elf: ElfInfo, symbolOffset: number | undefined): ByteSpan | undefined {
  return symbolOffset === undefined ? undefined : { offset: symbolOffset, length: elf.class === 64 ? 24 : 16 };
}
