/**
 * ELF reader: headers, dynamic section, dynamic symbols with versions, .symtab, executable regions.
 *
 * Every read is bounds-checked against the file; tables are validated as a whole (offset, entry
 * size, count) before their entries are read without further checks. Counts taken from headers
 * are only trusted once the bytes they describe are known to be inside the file, so no
 * allocation is ever sized by an untrusted field. Any inconsistency throws `InputError` with a
 * one-line `${file}: reason` message.
 *
 * `readElf` runs the passes of src/elf/read/ in order, each reading what the earlier ones found.
 * The order matters: once the headers show the kernel would refuse the file, every later error
 * is reported as that.
 */
import { archByElfMachine } from '../syscalls/arches.ts';
import { codeSections, readCode } from './read/code.ts';
import { DT_FINI, DT_INIT, readDynamic } from './read/dynamic.ts';
import { readDynamicSymbols } from './read/dynsym.ts';
import { readFrames } from './read/eh-frame.ts';
import { Image, readHeader, readInterp, readSections, readSegments } from './read/layout.ts';
import { noRelocations, readRelocations, symbolRelocations } from './read/relocs.ts';
import { readCodeSymbols, readImports } from './read/symbols.ts';
import { readVersions } from './read/versions.ts';
import { whyCannotRun } from './loadable.ts';
import { type ElfBytes, inMemory } from './source.ts';
import type { ElfInfo, ElfType } from './types.ts';

const DF_1_PIE = 0x08000000;

const TYPES: Record<number, ElfType> = { 1: 'rel', 2: 'exec', 3: 'dyn', 4: 'core' };

/** Options of `readElf`. */
export interface ReadElfOptions {
  /**
   * Read the bytes of the executable regions (default true). False for callers that need only
   * the dynamic information (imports, versions, needed libraries): with a lazy `ElfFile` the
   * code is then never read from disk, so such an ElfInfo must not be given to a scanner.
   */
  code?: boolean;
}

/**
 * Reads an ELF file; throws `InputError` on anything malformed.
 *
 * A program (anything with program headers) is read the way the kernel and ld.so read it:
 * the dynamic section through PT_DYNAMIC's virtual address, every dynamic table (symbols,
 * strings, hash, versions) by the address its DT_* tag gives, and code = the PF_X PT_LOAD
 * segments. Section headers, which neither ever reads, only add .symtab (function names, ARM
 * mapping symbols); where they disagree with the segments, the segments win and
 * `warnings` says so. A relocatable object has no program headers: its sections are all there is.
 */
/**
 * Reads an ELF file; throws `InputError` on anything malformed.
 *
 * A program (anything with program headers) is read the way the kernel and ld.so read it:
 * the dynamic section through PT_DYNAMIC's virtual address, every dynamic table (symbols,
 * strings, hash, versions) by the address its DT_* tag gives, and code = the PF_X PT_LOAD
 * segments. Section headers, which neither ever reads, only add .symtab (function names, ARM
 * mapping symbols); where they disagree with the segments, the segments win and
 * `warnings` says so. A relocatable object has no program headers: its sections are all there is.
 */
export function readElf(input: Uint8Array | ElfBytes, file: string, opts: ReadElfOptions = {}): ElfInfo {
  const src = input instanceof Uint8Array ? inMemory(input) : input;
  const hdr = readHeader(src, file);
  const { b, eType, machine, entry, flags, isRel } = hdr;
  const is64 = b.is64;
  const warnings: string[] = [];
  const segments = readSegments(hdr);
  // A program is whatever the loader would map; an object file (or a program without program
  // headers, which cannot run anyway) is read through its sections.
  const program = !isRel && segments.length > 0;
  const { sections, shstr, symtabRaw } = readSections(hdr, program, warnings);
  const img = new Image(b, segments, program, sections, shstr, warnings);
  const { loads } = img;
  const { interp, facts: interpFacts } = readInterp(b, segments);

  // What the kernel refuses is decided by the headers alone; once it is known, any later
  // problem is reported as that (a file that cannot run has nothing else worth saying).
  const cannot = whyCannotRun({
    eType,
    machine,
    class: is64 ? 64 : 32,
    phentsize: hdr.phentsize,
    phnum: hdr.phnum,
    loads: loads.length,
    ...(interpFacts ? { interp: interpFacts } : {}),
  });
  if (cannot && !isRel) b.cannot = cannot;

  const d = readDynamic(img);
  const { dyn, hasDynamic, needed, soname, rpath, runpath, flags1 } = d;
  const ds = readDynamicSymbols(img, d);
  const versions = readVersions(b, ds);
  const { versionNeeds, versionDefs } = versions;
  const { imports, exports } = readImports(b, ds, versions);
  const { symbols, mappingSymbols, codeEntry } = readCodeSymbols(hdr, img, ds.dynsyms, symtabRaw);

  // The relocations come in with the code (a caller that reads no code binds nothing).
  const dynamicRelocations = opts.code === false ? undefined : program ? readRelocations(img, dyn, ds.dynsyms) : noRelocations();
  const exec = readCode(img, entry, opts.code !== false);
  // Function extents from the unwind tables, for code no symbol describes (read with the code).
  const frames = opts.code !== false && program && !cannot ? readFrames(img, exec) : undefined;

  const type: ElfType = TYPES[eType] ?? 'other';
  const isStaticPie = hasDynamic && (flags1 & DF_1_PIE) !== 0 && needed.length === 0;
  const arch = archByElfMachine(machine, is64 ? 64 : 32)?.name;
  const codeRanges = opts.code !== false ? codeSections(img, exec) : undefined;
  const init = program ? dyn.get(DT_INIT) : undefined;
  const fini = program ? dyn.get(DT_FINI) : undefined;
  // Every key in one literal, in one order, absent ones undefined: every ElfInfo then has the
  // same hidden class. With the optional keys added one by one, files gave dozens of shapes,
  // and the optimised scanners that read elf.type deoptimised on each new one (205 times a
  // directory check: --trace-deopt, "wrong map").
  const info: ElfInfo = {
    file,
    class: is64 ? 64 : 32,
    endian: b.le ? 'little' : 'big',
    machine,
    type,
    entry: codeEntry,
    flags,
    needed,
    static: interp === undefined && (type === 'exec' || type === 'dyn') && (!hasDynamic || isStaticPie),
    pie: type === 'dyn' && ((flags1 & DF_1_PIE) !== 0 || (interp !== undefined && soname === undefined)),
    hasSections: sections.length > 0,
    imports,
    exports,
    versionDefs,
    versionNeeds,
    symbols,
    mappingSymbols,
    exec,
    loads: loads.map((s) => ({ vaddr: s.vaddr, offset: s.offset, filesz: s.filesz })),
    warnings,
    dynamicRelocations,
    relocations: dynamicRelocations && symbolRelocations(dynamicRelocations),
    frames,
    codeSections: codeRanges,
    init,
    fini,
    cannotRun: cannot || undefined,
    arch,
    interp,
    soname,
    rpath,
    runpath,
  };
  return info;
}
