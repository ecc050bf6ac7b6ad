/**
 * The dynamic section's tags and relocations, read from the program headers (PT_LOAD,
 * PT_DYNAMIC) the way ld.so sees the file, so stripped section headers do not matter.
 * Malformed tables give fewer entries rather than an error: `readElf` has already validated
 * what reports depend on, and has read (for a lazily read file) the dynamic section, symbols,
 * strings and relocation tables this looks at.
 */
import { Buffer } from 'node:buffer';
import type { ElfInfo } from './types.ts';

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const DT_NULL = 0;
const DT_PLTRELSZ = 2;
const DT_STRTAB = 5;
const DT_SYMTAB = 6;
const DT_RELA = 7;
const DT_RELASZ = 8;
const DT_RELAENT = 9;
const DT_STRSZ = 10;
export const DT_INIT = 12;
export const DT_FINI = 13;
const DT_REL = 17;
const DT_RELSZ = 18;
const DT_RELENT = 19;
const DT_PLTREL = 20;
const DT_JMPREL = 23;

/** The symbol a relocation names. */
export interface RelocSymbol {
  name: string;
  value: number;
  /** st_shndx: 0 for an import. */
  shndx: number;
  /** STT_*. */
  type: number;
}

export interface Reloc {
  /** r_offset: the address the loader writes. */
  offset: number;
  type: number;
  sym: RelocSymbol | null;
  /** r_addend of a RELA entry; undefined for REL (the addend is the word at `offset`). */
  addend?: number;
}

export interface DynamicInfo {
  /** First value of each tag. */
  tags: Map<number, number>;
  relocs: Reloc[];
}

const EMPTY: DynamicInfo = { tags: new Map(), relocs: [] };

/** The dynamic tags and every dynamic relocation (RELA, REL, JMPREL) of a program or library. */
export function readDynamic(elf: ElfInfo, bytes: Uint8Array): DynamicInfo {
  try {
    return parse(elf, bytes);
  } catch {
    return EMPTY;
  }
}

function parse(elf: ElfInfo, bytes: Uint8Array): DynamicInfo {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = elf.endian === 'little';
  const is64 = elf.class === 64;
  const word = (o: number): number => (is64 ? Number(dv.getBigUint64(o, le)) : dv.getUint32(o, le));
  const phoff = word(is64 ? 0x20 : 0x1c);
  const phentsize = dv.getUint16(is64 ? 0x36 : 0x2a, le);
  const phnum = dv.getUint16(is64 ? 0x38 : 0x2c, le);
  const loads: { vaddr: number; offset: number; filesz: number }[] = [];
  let dyn: { vaddr: number; size: number } | undefined;
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    if (p + phentsize > bytes.byteLength) break;
    const type = dv.getUint32(p, le);
    const offset = is64 ? word(p + 8) : dv.getUint32(p + 4, le);
    const vaddr = is64 ? word(p + 16) : dv.getUint32(p + 8, le);
    const filesz = is64 ? word(p + 32) : dv.getUint32(p + 16, le);
    if (type === PT_LOAD) loads.push({ vaddr, offset, filesz });
    else if (type === PT_DYNAMIC) dyn = { vaddr, size: filesz };
  }
  if (!dyn) return EMPTY;
  const off = (vaddr: number): number | undefined => {
    for (const l of loads) if (vaddr >= l.vaddr && vaddr < l.vaddr + l.filesz) return l.offset + (vaddr - l.vaddr);
    return undefined;
  };
  // ld.so finds the dynamic section by PT_DYNAMIC's address, never its p_offset.
  const dynOff = off(dyn.vaddr);
  if (dynOff === undefined) return EMPTY;
  const tags = new Map<number, number>();
  const entSize = is64 ? 16 : 8;
  for (let p = dynOff; p + entSize <= Math.min(bytes.byteLength, dynOff + dyn.size); p += entSize) {
    const tag = word(p);
    if (tag === DT_NULL) break;
    if (!tags.has(tag)) tags.set(tag, word(p + entSize / 2));
  }
  const symtab = off(tags.get(DT_SYMTAB) ?? -1);
  const strtab = off(tags.get(DT_STRTAB) ?? -1);
  const strsz = strtab === undefined ? 0 : Math.min(tags.get(DT_STRSZ) ?? bytes.byteLength - strtab, bytes.byteLength - strtab);
  const symSize = is64 ? 24 : 16;
  const syms = new Map<number, RelocSymbol | null>();
  const symbol = (idx: number): RelocSymbol | null => {
    if (idx === 0 || symtab === undefined || strtab === undefined) return null;
    let s = syms.get(idx);
    if (s !== undefined) return s;
    s = null;
    const at = symtab + idx * symSize;
    if (at + symSize <= bytes.byteLength) {
      const nameOff = dv.getUint32(at, le);
      const info = is64 ? bytes[at + 4]! : bytes[at + 12]!;
      const shndx = dv.getUint16(is64 ? at + 6 : at + 14, le);
      const value = is64 ? word(at + 8) : dv.getUint32(at + 4, le);
      let name = '';
      if (nameOff < strsz) {
        const end = bytes.indexOf(0, strtab + nameOff);
        if (end >= 0 && end < strtab + strsz) name = Buffer.from(bytes.buffer, bytes.byteOffset + strtab + nameOff, end - strtab - nameOff).toString('latin1');
      }
      s = { name, value, shndx, type: info & 0xf };
    }
    syms.set(idx, s);
    return s;
  };
  const relocs: Reloc[] = [];
  const table = (addr: number | undefined, size: number | undefined, rela: boolean, ent?: number): void => {
    if (addr === undefined || !size) return;
    const start = off(addr);
    if (start === undefined) return;
    const step = ent || (is64 ? (rela ? 24 : 16) : rela ? 12 : 8);
    for (let p = start; p + step <= Math.min(bytes.byteLength, start + size); p += step) {
      const info = word(p + (is64 ? 8 : 4));
      const symIdx = is64 ? Math.floor(info / 2 ** 32) : info >>> 8;
      const type = is64 ? info % 2 ** 32 : info & 0xff;
      const r: Reloc = { offset: word(p), type, sym: symbol(symIdx) };
      if (rela) r.addend = is64 ? Number(dv.getBigInt64(p + 16, le)) : dv.getInt32(p + 8, le);
      relocs.push(r);
    }
  };
  table(tags.get(DT_RELA), tags.get(DT_RELASZ), true, tags.get(DT_RELAENT));
  table(tags.get(DT_REL), tags.get(DT_RELSZ), false, tags.get(DT_RELENT));
  table(tags.get(DT_JMPREL), tags.get(DT_PLTRELSZ), tags.get(DT_PLTREL) === DT_RELA);
  return { tags, relocs };
}
