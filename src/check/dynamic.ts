/**
 * The few things `check` needs from an ELF file beyond `readElf`: the dynamic relocations
 * that name a symbol (to find the GOT slot, and so the PLT stub, of `syscall`). Read from the
 * program headers (PT_LOAD, PT_DYNAMIC), the way the loader sees the file, so stripped
 * section headers do not matter. Malformed tables give no slots rather than an error:
 * `readElf` has already validated what the report depends on, and has read (for a lazily read
 * file) the dynamic section, symbols, strings and relocation tables this looks at.
 */
import type { ElfInfo } from '../elf/types.ts';

interface Load {
  vaddr: number;
  offset: number;
  filesz: number;
}

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
const DT_REL = 17;
const DT_RELSZ = 18;
const DT_RELENT = 19;
const DT_PLTREL = 20;
const DT_JMPREL = 23;

/** GOT addresses (r_offset) of every dynamic relocation against a symbol named `name` (null: any symbol). */
export function relocatedSlots(elf: ElfInfo, bytes: Uint8Array, name: string | null): number[] {
  try {
    return slots(elf, bytes, name);
  } catch {
    return [];
  }
}

function slots(elf: ElfInfo, bytes: Uint8Array, name: string | null): number[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = elf.endian === 'little';
  const is64 = elf.class === 64;
  const word = (o: number): number => (is64 ? Number(dv.getBigUint64(o, le)) : dv.getUint32(o, le));
  const phoff = word(is64 ? 0x20 : 0x1c);
  const phentsize = dv.getUint16(is64 ? 0x36 : 0x2a, le);
  const phnum = dv.getUint16(is64 ? 0x38 : 0x2c, le);
  const loads: Load[] = [];
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
  if (!dyn) return [];
  const off = (vaddr: number): number | undefined => {
    for (const l of loads) if (vaddr >= l.vaddr && vaddr < l.vaddr + l.filesz) return l.offset + (vaddr - l.vaddr);
    return undefined;
  };
  // ld.so finds the dynamic section by PT_DYNAMIC's address, never its p_offset.
  const dynOff = off(dyn.vaddr);
  if (dynOff === undefined) return [];
  const d = new Map<number, number>();
  const entSize = is64 ? 16 : 8;
  for (let p = dynOff; p + entSize <= Math.min(bytes.byteLength, dynOff + dyn.size); p += entSize) {
    const tag = word(p);
    if (tag === DT_NULL) break;
    if (!d.has(tag)) d.set(tag, word(p + entSize / 2));
  }
  const symtab = off(d.get(DT_SYMTAB) ?? -1);
  const strtab = off(d.get(DT_STRTAB) ?? -1);
  if (symtab === undefined || strtab === undefined) return [];
  const strsz = d.get(DT_STRSZ) ?? bytes.byteLength - strtab;
  const symSize = is64 ? 24 : 16;
  const names = new Map<number, boolean>();
  const matches = (idx: number): boolean => {
    if (name === null) return true;
    let m = names.get(idx);
    if (m !== undefined) return m;
    const s = symtab + idx * symSize;
    if (s + symSize > bytes.byteLength) return false;
    const nameOff = dv.getUint32(s, le);
    m = false;
    if (nameOff + name.length < strsz) {
      const at = strtab + nameOff;
      m = bytes[at + name.length] === 0;
      for (let i = 0; m && i < name.length; i++) if (bytes[at + i] !== name.charCodeAt(i)) m = false;
    }
    names.set(idx, m);
    return m;
  };
  const out: number[] = [];
  const table = (addr: number | undefined, size: number | undefined, rela: boolean, ent?: number): void => {
    if (addr === undefined || !size) return;
    const start = off(addr);
    if (start === undefined) return;
    const step = ent ?? (is64 ? (rela ? 24 : 16) : rela ? 12 : 8);
    for (let p = start; p + step <= Math.min(bytes.byteLength, start + size); p += step) {
      const info = word(p + (is64 ? 8 : 4));
      const sym = is64 ? Math.floor(info / 2 ** 32) : info >>> 8;
      if (sym !== 0 && matches(sym)) out.push(word(p));
    }
  };
  table(d.get(DT_RELA), d.get(DT_RELASZ), true, d.get(DT_RELAENT));
  table(d.get(DT_REL), d.get(DT_RELSZ), false, d.get(DT_RELENT));
  table(d.get(DT_JMPREL), d.get(DT_PLTRELSZ), d.get(DT_PLTREL) === DT_RELA);
  return [...new Set(out)];
}
