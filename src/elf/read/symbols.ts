/**
 * The symbol passes: imports and exports (.dynsym's undefined and defined globals), and the
 * symbols that name code: .dynsym and .symtab deduplicated, ARM/AArch64 mapping symbols apart,
 * Thumb bits cleared, 64-bit PowerPC ELFv1 descriptors followed to their code.
 */
import type { ElfImport, ElfMappingSymbol, ElfSymbol } from '../types.ts';
import { type Bin, type RawSym, symType } from './bin.ts';
import type { DynamicSymbols } from './dynsym.ts';
import type { Header, Image } from './layout.ts';
import type { Versions } from './versions.ts';
import { EM_AARCH64, EM_ARM, EM_PPC64 } from '../../syscalls/elf-machines.ts';

const SHN_UNDEF = 0;
const STB_LOCAL = 0;
const STB_WEAK = 2;
const STT_NOTYPE = 0;
const STT_SECTION = 3;
const STT_FILE = 4;

export function readImports(b: Bin, { dynsyms, versym }: DynamicSymbols, { versionNames }: Versions): { imports: ElfImport[]; exports: string[] } {
  const imports: ElfImport[] = [];
  const exports: string[] = [];
  for (let i = 1; i < dynsyms.length; i++) {
    const s = dynsyms[i]!;
    const bind = s.info >> 4;
    if (bind === STB_LOCAL || s.name === '') continue;
    if (s.shndx === SHN_UNDEF) {
      const imp: ElfImport = { name: s.name, weak: bind === STB_WEAK, type: symType(s.info & 0xf), symbolOffset: s.at };
      if (versym && i < versym.count) {
        const v = versionNames.get(b.u16(versym.off + 2 * i) & 0x7fff);
        if (v && v.file !== undefined) {
          imp.version = v.name;
          imp.library = v.file;
        }
      }
      imports.push(imp);
    } else {
      exports.push(s.name);
    }
  }

  return { imports, exports };
}

export interface NamedCode {
  symbols: ElfSymbol[];
  mappingSymbols: ElfMappingSymbol[];
  /** e_entry, or on 64-bit PowerPC ELFv1 the code address its descriptor holds. */
  codeEntry: number;
}

export function readCodeSymbols(hdr: Header, img: Image, dynsyms: RawSym[], symtabRaw: RawSym[] | undefined): NamedCode {
  const b: Bin = hdr.b;
  const { machine, flags, eType, entry } = hdr;
  const { loads } = img;
  const is64 = b.is64;
  // ELFv1 (e_flags 1, or 0: unspecified, the old ABI) has function descriptors; ELFv2 (2) does not.
  const opdDescriptors = machine === EM_PPC64 && is64 && (flags & 3) !== 2 && eType !== 1 /* ET_REL: values are section-relative */;
  const descriptorEntry = (addr: number): number | undefined => {
    for (const s of loads) {
      if (addr >= s.vaddr && addr - s.vaddr + 8 <= s.filesz) {
        const off = s.offset + (addr - s.vaddr);
        if (off + 8 > b.len) return undefined;
        b.check(off, 8, 'function descriptor'); // loads it when the file is read lazily
        return b.u64(off);
      }
    }
    return undefined;
  };
  // ELFv1's e_entry is a descriptor too: the kernel starts at the address it holds.
  const codeEntry = opdDescriptors ? (descriptorEntry(entry) ?? entry) : entry;
  const symbols: ElfSymbol[] = [];
  const mappingSymbols: ElfMappingSymbol[] = [];
  const isArm = machine === EM_ARM;
  /** (name, value) pairs seen: the first value per name, and any further pairs as `name\0value`. */
  const seen = new Map<string, number>();
  const seenMore = new Set<string>();
  const addSym = (s: RawSym, dynamic: boolean): void => {
    if (s.shndx === SHN_UNDEF || s.name === '') return;
    const t = s.info & 0xf;
    if (t === STT_SECTION || t === STT_FILE) return;
    if ((isArm || machine === EM_AARCH64) && s.name.charCodeAt(0) === 36 /* $ */ && t === STT_NOTYPE) {
      const k = s.name.charAt(1);
      if ((k === 'a' || k === 't' || k === 'd' || k === 'x') && (s.name.length === 2 || s.name.charAt(2) === '.')) {
        if (!dynamic) mappingSymbols.push({ addr: s.value, kind: k, shndx: s.shndx });
        return;
      }
    }
    const type = symType(t);
    let value = s.value;
    let thumb: boolean | undefined;
    if (isArm && type === 'func' && value % 2 === 1) {
      value -= 1;
      thumb = true;
    }
    if (opdDescriptors && type === 'func') {
      // 64-bit PowerPC ELFv1: a function symbol's value is the address of its descriptor in .opd
      // (entry point, TOC, environment); the code starts at the descriptor's first doubleword.
      const entry = descriptorEntry(value);
      if (entry === undefined) return;
      value = entry;
    }
    const first = seen.get(s.name);
    if (first === undefined) seen.set(s.name, value);
    else if (first === value) return;
    else {
      const key = `${s.name}\0${value}`;
      if (seenMore.has(key)) return;
      seenMore.add(key);
    }
    const bind = s.info >> 4;
    const sym: ElfSymbol = {
      name: s.name,
      value,
      size: s.size,
      type,
      bind: bind === STB_LOCAL ? 'local' : bind === STB_WEAK ? 'weak' : 'global',
      shndx: s.shndx,
      dynamic,
    };
    if (thumb) sym.thumb = true;
    symbols.push(sym);
  };
  for (let i = 1; i < dynsyms.length; i++) addSym(dynsyms[i]!, true);
  if (symtabRaw) for (let i = 1; i < symtabRaw.length; i++) addSym(symtabRaw[i]!, false);
  symbols.sort((x, y) => x.value - y.value);
  mappingSymbols.sort((x, y) => x.addr - y.addr);

  return { symbols, mappingSymbols, codeEntry };
}
