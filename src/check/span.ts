/**
 * Where in the file a way of reaching a syscall sits, as bytes: the trap or call instruction
 * of a site, the Elf_Sym entry of an import. Reports that point into a binary (SARIF regions:
 * byteOffset/byteLength) need file offsets, while the scanners speak virtual addresses.
 */
import type { ElfInfo } from '../elf/types.ts';
import { ARCHES } from '../syscalls/arches.ts';

export interface ByteSpan {
  /** File offset of the first byte. */
  offset: number;
  length: number;
}

/** Length of a call to syscall() (ArchInfo.callLength); only arches we scan have such calls. */
export function callLength(elf: ElfInfo): number {
  if (elf.arch === undefined) throw new Error(`callLength: e_machine ${elf.machine} is no arch of ours, so no call was found in it`);
  return ARCHES[elf.arch].callLength;
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
