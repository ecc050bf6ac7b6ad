/**
 * The dynamic relocation tables (DT_RELA, DT_REL, DT_JMPREL), read by address the way ld.so
 * reads them: which symbol each one binds, and where (r_offset: a GOT slot, for instance).
 *
 * Two readers share the entry layout here. `relocSymbolEnd` sizes a DT_GNU_HASH-only symbol
 * table (ld.so binds by the indices relocations name), so a table it cannot read is an error.
 * `readRelocations` lists every relocation for `ElfInfo.dynamicRelocations` (and, those naming
 * a symbol, `ElfInfo.relocations`): a table outside its segment is read as far as the
 * segment's file image goes (or not at all) and said in a warning, since what is reported
 * about the program does not depend on it alone.
 */
import type { ElfDynamicRelocation, ElfDynamicRelocations, ElfRelocation } from '../types.ts';
import type { Bin, RawSym } from './bin.ts';
import { DT_JMPREL, DT_PLTREL, DT_PLTRELSZ, DT_REL, DT_RELA, DT_RELAENT, DT_RELASZ, DT_RELENT, DT_RELSZ } from './dynamic.ts';
import type { Image } from './layout.ts';

/** One dynamic relocation table as the dynamic section describes it. */
interface Table {
  what: 'DT_RELA' | 'DT_REL' | 'DT_JMPREL';
  addr: number | undefined;
  size: number | undefined;
  rela: boolean;
  /** DT_RELAENT / DT_RELENT, where the dynamic section gives one (DT_JMPREL has none). */
  ent: number | undefined;
}

/** The three tables, in the order ld.so processes them (and so the order of the list). */
function tables(dyn: Map<number, number>): Table[] {
  return [
    { what: 'DT_RELA', addr: dyn.get(DT_RELA), size: dyn.get(DT_RELASZ), rela: true, ent: dyn.get(DT_RELAENT) },
    { what: 'DT_REL', addr: dyn.get(DT_REL), size: dyn.get(DT_RELSZ), rela: false, ent: dyn.get(DT_RELENT) },
    { what: 'DT_JMPREL', addr: dyn.get(DT_JMPREL), size: dyn.get(DT_PLTRELSZ), rela: dyn.get(DT_PLTREL) === DT_RELA, ent: undefined },
  ];
}

/** sizeof(Elf_Rela) / sizeof(Elf_Rel): ld.so asserts DT_RELAENT / DT_RELENT equal it. */
function entrySize(b: Bin, rela: boolean): number {
  return b.is64 ? (rela ? 24 : 16) : rela ? 12 : 8;
}

/** r_info's symbol index: the high 32 bits (ELF64) or all but the low byte (ELF32). */
function symIndex(b: Bin, entry: number): number {
  const o = entry + (b.is64 ? 8 : 4);
  return b.is64 ? b.dv.getUint32(b.le ? o + 4 : o, b.le) : b.u32(o) >>> 8;
}

/** r_info's type: the low 32 bits (ELF64) or the low byte (ELF32). */
function relocType(b: Bin, entry: number): number {
  const o = entry + (b.is64 ? 8 : 4);
  return b.is64 ? b.dv.getUint32(b.le ? o : o + 4, b.le) : b.u32(o) & 0xff;
}

/** One past the highest symbol index any dynamic relocation names (0 without relocations). */
export function relocSymbolEnd(img: Image, dyn: Map<number, number>): number {
  const b = img.b;
  let end = 0;
  for (const t of tables(dyn)) {
    if (t.addr === undefined || !t.size) continue;
    const { off, room } = img.vaddrRoom(t.addr, t.what);
    const step = entrySize(b, t.rela);
    const n = Math.floor(Math.min(t.size, room) / step);
    b.check(off, n * step, t.what);
    for (let i = 0, o = off; i < n; i++, o += step) {
      const sym = symIndex(b, o);
      if (sym >= end) end = sym + 1;
    }
  }
  return end;
}

/** st_info's type (STT_*): its low four bits. */
const STT_MASK = 0xf;

/** The tables by their index in ElfDynamicRelocations.table. */
export const RELOCATION_TABLES = ['DT_RELA', 'DT_REL', 'DT_JMPREL'] as const;

/** What can be read of one table, and what was said about it before its entries. */
interface Plan {
  t: Table;
  off: number;
  n: number;
  step: number;
  warnings: string[];
}

function plan(img: Image, t: Table): Plan | undefined {
  if (t.addr === undefined || !t.size) return undefined;
  const b = img.b;
  const warnings: string[] = [];
  const step = entrySize(b, t.rela);
  if (t.ent !== undefined && t.ent !== step) {
    warnings.push(`${t.what === 'DT_RELA' ? 'DT_RELAENT' : 'DT_RELENT'} is ${t.ent}, not ${step} (ld.so refuses that); reading ${step}-byte entries`);
  }
  const seg = img.loads.find((l) => t.addr! >= l.vaddr && t.addr! - l.vaddr < l.filesz);
  if (!seg) {
    warnings.push(`${t.what} address 0x${t.addr.toString(16)} is not in any loaded segment; its relocations are not read`);
    return { t, off: 0, n: 0, step, warnings };
  }
  const off = seg.offset + (t.addr - seg.vaddr);
  const room = Math.max(0, Math.min(seg.filesz - (t.addr - seg.vaddr), b.len - off));
  if (t.size > room)
    warnings.push(`${t.what} extends past its segment's file image; ${Math.floor(room / step)} of its ${Math.floor(t.size / step)} relocations read`);
  const n = Math.floor(Math.min(t.size, room) / step);
  if (n > 0) b.check(off, n * step, t.what);
  return { t, off, n, step, warnings };
}

/**
 * Every dynamic relocation, table by table in ld.so's order, with its addend (RELA) and the
 * symbol it names (none for index 0, R_*_RELATIVE, or an index past the table, which is
 * counted in a warning).
 */
export function readRelocations(img: Image, dyn: Map<number, number>, dynsyms: RawSym[]): ElfDynamicRelocations {
  const b = img.b;
  const plans = tables(dyn).map((t) => plan(img, t));
  const length = plans.reduce((n, p) => n + (p?.n ?? 0), 0);
  const out = columns(length);
  // One entry in `symbols` per dynamic symbol, however many relocations name it.
  const named = new Map<number, number>();
  let k = 0;
  plans.forEach((p, ti) => {
    if (!p) return;
    img.warnings.push(...p.warnings);
    const { t, step } = p;
    let outside = 0;
    for (let i = 0, o = p.off; i < p.n; i++, o += step, k++) {
      out.offset[k] = b.word(o);
      out.type[k] = relocType(b, o);
      out.table[k] = ti;
      // r_addend follows r_offset and r_info (one word each).
      if (t.rela) out.addend[k] = b.is64 ? b.i64(o + 16) : b.dv.getInt32(o + 8, b.le);
      const sym = symIndex(b, o);
      if (sym !== 0) {
        const s = dynsyms[sym];
        if (!s) {
          outside++;
          continue;
        }
        let at = named.get(sym);
        if (at === undefined) {
          at = out.symbols.push({ name: s.name, value: s.value, shndx: s.shndx, type: s.info & STT_MASK }) - 1;
          named.set(sym, at);
        }
        out.symbol[k] = at;
      }
    }
    if (outside > 0)
      img.warnings.push(
        `${t.what}: ${outside} relocation${outside === 1 ? ' names a symbol' : 's name symbols'} past the ${dynsyms.length} of the dynamic symbol table; not read`,
      );
  });
  return out;
}

/** `length` relocations, each with no addend and no symbol until read. */
function columns(length: number): ElfDynamicRelocations {
  return {
    length,
    offset: new Float64Array(length),
    type: new Uint32Array(length),
    addend: new Float64Array(length).fill(Number.NaN),
    symbol: new Int32Array(length).fill(-1),
    symbols: [],
    table: new Uint8Array(length),
  };
}

/** The relocations of a file that has none (an object file: the linker's are not the loader's). */
export function noRelocations(): ElfDynamicRelocations {
  return columns(0);
}

/** Relocation `i` of `all` as one object (for readers that want rows, not columns). */
export function relocationAt(all: ElfDynamicRelocations, i: number): ElfDynamicRelocation {
  const r: ElfDynamicRelocation = { offset: all.offset[i]!, type: all.type[i]!, table: RELOCATION_TABLES[all.table[i]!]! };
  if (!Number.isNaN(all.addend[i]!)) r.addend = all.addend[i]!;
  const s = all.symbol[i]!;
  if (s >= 0) r.symbol = all.symbols[s]!;
  return r;
}

/** The relocations that name a symbol (`ElfInfo.relocations`: what binds imports, and where). */
export function symbolRelocations(all: ElfDynamicRelocations): ElfRelocation[] {
  const out: ElfRelocation[] = [];
  for (let i = 0; i < all.length; i++) {
    const s = all.symbol[i]!;
    if (s >= 0) out.push({ offset: all.offset[i]!, symbol: all.symbols[s]!.name, type: all.type[i]!, table: RELOCATION_TABLES[all.table[i]!]! });
  }
  return out;
}
