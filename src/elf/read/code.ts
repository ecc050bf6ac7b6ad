/**
 * The code pass: the executable regions a scanner reads. For a program, the PF_X PT_LOAD
 * segments, each byte once; for an object file, its SHF_EXECINSTR sections, each byte once.
 */
import type { ElfExecRegion } from '../types.ts';
import type { Bin, Section, Segment } from './bin.ts';
import type { Image } from './layout.ts';

const PF_X = 1;
const SHT_NOBITS = 8;
const SHF_EXECINSTR = 4;

/** `read`: load the regions' bytes (a lazily read file); `entry` only for the disagreement warning. */
export function readCode(img: Image, entry: number, read: boolean): ElfExecRegion[] {
  const b: Bin = img.b;
  const { loads, sections, program } = img;
  // Executable regions: for a program, the PF_X PT_LOAD segments, each byte once.
  const exec: ElfExecRegion[] = program ? execSegments(b, loads, read) : [];
  if (!program) {
    // Each byte of the file once: a code section whose bytes an earlier one (by offset)
    // already covers, duplicates and overlaps (65,535 of them in a hostile file), is skipped.
    const code = sections.filter((s) => (s.flags & SHF_EXECINSTR) !== 0 && s.type !== SHT_NOBITS && s.size > 0);
    const keep = new Map<Section, number>(); // section -> bytes at its start already covered
    let end = -1;
    for (const s of [...code].sort((x, y) => x.offset - y.offset || x.index - y.index)) {
      if (s.offset + s.size <= end) continue;
      keep.set(s, Math.max(0, end - s.offset));
      end = s.offset + s.size;
    }
    for (const s of code) {
      const skip = keep.get(s);
      if (skip === undefined) continue;
      const name = img.sectionName(s);
      if (!(s.offset >= 0 && s.offset + s.size <= b.len)) b.fail(`section ${name} extends past the end of the file`);
      const r = { name, addr: s.addr + skip, offset: s.offset + skip, size: s.size - skip, shndx: s.index };
      if (read) b.check(r.offset, r.size, `section ${name}`);
      exec.push(r);
    }
  } else if (sections.length > 0) {
    // Code the section headers hide, or claim, is a disagreement worth a line.
    const inExec = (a: number): boolean => exec.some((r) => a >= r.addr && a < r.addr + r.size);
    const atEntry = sections.find((s) => s.type !== SHT_NOBITS && s.addr !== 0 && entry >= s.addr && entry < s.addr + s.size);
    if (atEntry && (atEntry.flags & SHF_EXECINSTR) === 0 && inExec(entry)) {
      img.disagree(`${img.sectionName(atEntry)}, which holds the entry point, is not SHF_EXECINSTR; scanning the executable segments`);
    }
    const outside = sections.filter((s) => (s.flags & SHF_EXECINSTR) !== 0 && s.type !== SHT_NOBITS && s.size > 0 && !inExec(s.addr));
    if (outside.length > 0)
      img.disagree(
        `${outside
          .slice(0, 3)
          .map((s) => img.sectionName(s))
          .join(', ')}${outside.length > 3 ? ', ...' : ''} SHF_EXECINSTR outside every executable segment; not code at run time`,
      );
  }

  return exec;
}

/**
 * The PF_X PT_LOAD segments as regions of file bytes, sorted by address, with overlaps cut so
 * that each virtual address (and so each byte of code) is scanned once, however many segments
 * claim it: an input with 65,535 overlapping segments costs one pass over its code.
 */
function execSegments(b: Bin, loads: Segment[], read: boolean): ElfExecRegion[] {
  const xs = loads
    .map((s, i) => ({ s, i }))
    .filter(({ s }) => (s.flags & PF_X) !== 0 && s.filesz > 0)
    .sort((x, y) => x.s.vaddr - y.s.vaddr || x.i - y.i);
  const out: ElfExecRegion[] = [];
  let covered = -Infinity; // end of the address range already taken
  for (const { s, i } of xs) {
    if (!(s.offset >= 0 && s.offset + s.filesz <= b.len)) b.fail(`PT_LOAD segment ${i} extends past the end of the file`);
    const end = s.vaddr + s.filesz;
    if (end <= covered) continue;
    const skip = covered > s.vaddr ? covered - s.vaddr : 0;
    const region = { name: `LOAD#${i}`, addr: s.vaddr + skip, offset: s.offset + skip, size: s.filesz - skip, shndx: -1 };
    if (read) b.check(region.offset, region.size, `PT_LOAD segment ${i}`);
    out.push(region);
    covered = end;
  }
  return out;
}

/**
 * The SHF_EXECINSTR sections of a program that lie in its executable regions, as address
 * ranges sorted by address: which parts of a PF_X segment the linker put code in (the rest holds
 * the symbol tables, .rodata, .eh_frame, which the call graph of a fixed-width ISA does not
 * decode, src/elf/graph/refs.ts). Undefined without section headers or such sections.
 */
export function codeSections(img: Image, exec: readonly ElfExecRegion[]): { addr: number; size: number }[] | undefined {
  if (!img.program) return undefined;
  const inExec = (a: number, n: number): boolean => exec.some((r) => a >= r.addr && a + n <= r.addr + r.size);
  const out = img.sections
    .filter((s) => (s.flags & SHF_EXECINSTR) !== 0 && s.type !== SHT_NOBITS && s.size > 0 && inExec(s.addr, s.size))
    .map((s) => ({ addr: s.addr, size: s.size }))
    .sort((x, y) => x.addr - y.addr);
  return out.length ? out : undefined;
}
