/**
 * Types of the ELF layer: what `readElf` extracts from a binary and what the syscall-site
 * scanners report. Everything here is plain data (JSON-friendly except nothing is a bigint).
 *
 * Addresses and sizes are JS numbers. User-space addresses on every arch we support fit in
 * 2^53; a 64-bit value above that (kernel images, garbage) is kept but loses low bits.
 */
import type { ArchName } from '../syscalls/arches.ts';

/** An undefined dynamic symbol the binary expects a library to provide. */
export interface ElfImport {
  name: string;
  /** Version required through .gnu.version / .gnu.version_r, e.g. `GLIBC_2.25`. */
  version?: string;
  /** STB_WEAK: the program runs (with a null address) when nothing provides it. */
  weak: boolean;
  /** The library the version belongs to (vn_file of the vernaux entry), e.g. `libc.so.6`. */
  library?: string;
  /** STT_* of the symbol: imports of data (`object`) and TLS are listed too. */
  type: ElfSymbolType;
  /** File offset of its Elf_Sym entry (16 bytes in ELF32, 24 in ELF64): where reports point. */
  symbolOffset?: number;
}

export type ElfSymbolType = 'func' | 'object' | 'tls' | 'other';

/** A defined symbol from .symtab or .dynsym, used to name syscall sites. */
export interface ElfSymbol {
  name: string;
  /** st_value; on ARM the Thumb bit is cleared (see `thumb`). Section-relative in ET_REL files. */
  value: number;
  size: number;
  type: ElfSymbolType;
  bind: 'local' | 'global' | 'weak';
  /** Section index (st_shndx), needed to place symbols of relocatable objects. */
  shndx: number;
  /** ARM only: bit 0 of st_value was set, the function is Thumb code. */
  thumb?: boolean;
  /** Whether it came from .dynsym (exported) rather than only .symtab. */
  dynamic: boolean;
}

/** ARM/AArch64 mapping symbol ($a ARM code, $t Thumb code, $d data, $x A64 code), sorted by addr. */
export interface ElfMappingSymbol {
  addr: number;
  kind: 'a' | 't' | 'd' | 'x';
  shndx: number;
}

/** A region of executable code: a PF_X PT_LOAD segment (programs) or a SHF_EXECINSTR section (object files). */
export interface ElfExecRegion {
  name: string;
  /** Virtual address (sh_addr / p_vaddr). 0 in relocatable objects. */
  addr: number;
  /** Offset of the bytes in the file. */
  offset: number;
  /** Bytes present in the file. */
  size: number;
  /** Section index, or -1 for a segment. */
  shndx: number;
}

export interface ElfVersionNeed {
  /** Library name (vn_file), e.g. `libc.so.6`. */
  file: string;
  versions: string[];
}

/** A dynamic relocation that names a symbol (DT_RELA, DT_REL or DT_JMPREL). */
export interface ElfRelocation {
  /** r_offset: the address it writes, e.g. the GOT slot a PLT stub jumps through. */
  offset: number;
  /** Name of the dynamic symbol it binds. */
  symbol: string;
  /** R_* type (arch-specific), from r_info. */
  type: number;
  table: 'DT_RELA' | 'DT_REL' | 'DT_JMPREL';
}

/** The dynamic symbol a relocation's r_info names, as the loader resolves it. */
export interface ElfRelocationSymbol {
  name: string;
  value: number;
  /** st_shndx: 0 (SHN_UNDEF) for an import. */
  shndx: number;
  /** STT_* from st_info. */
  type: number;
}

/**
 * Every dynamic relocation, whatever it names (R_*_RELATIVE too), in ld.so's order, column by
 * column: relocation i is offset[i], type[i], ... (relocationAt in src/elf/read/relocs.ts gives
 * it as an ElfDynamicRelocation). A library has 10^5 of them: an object each was 160 bytes,
 * and a directory check read 2 million (issue 13).
 */
export interface ElfDynamicRelocations {
  readonly length: number;
  /** r_offset: the address the loader writes. */
  readonly offset: Float64Array;
  /** R_* type (arch-specific), from r_info. */
  readonly type: Uint32Array;
  /** r_addend of a RELA entry; NaN for REL (the addend is the word at `offset`). */
  readonly addend: Float64Array;
  /**
   * Where in `symbols` the symbol r_info names is; -1 for symbol index 0 (R_*_RELATIVE) and
   * for an index past the dynamic symbol table.
   */
  readonly symbol: Int32Array;
  /** The symbols named, one entry per dynamic symbol however many relocations name it. */
  readonly symbols: ElfRelocationSymbol[];
  /** Which table each came from: an index in RELOCATION_TABLES (DT_RELA, DT_REL, DT_JMPREL). */
  readonly table: Uint8Array;
}

/** One dynamic relocation as an object (relocationAt). */
export interface ElfDynamicRelocation {
  /** r_offset: the address the loader writes. */
  offset: number;
  /** R_* type (arch-specific), from r_info. */
  type: number;
  table: 'DT_RELA' | 'DT_REL' | 'DT_JMPREL';
  /** r_addend of a RELA entry; absent for REL (the addend is the word at `offset`). */
  addend?: number;
  /** Absent for symbol index 0 (R_*_RELATIVE) and for an index past the dynamic symbol table. */
  symbol?: ElfRelocationSymbol;
}

/**
 * The code ranges [start, end) of the FDEs of `.eh_frame`, column by column: range i is
 * start[i], end[i], signal[i], sorted by start (then end). A large program has 10^5 of them,
 * and every one lived through its file's check: as an object each they were an eighth of what
 * a directory check's scavenges promoted (issue 13).
 */
export interface ElfFrames {
  readonly length: number;
  readonly start: Float64Array;
  readonly end: Float64Array;
  /**
   * 1: its CIE's augmentation has 'S': a signal frame (the sigreturn trampoline), whose range
   * by convention starts a byte before the code (the unwinder looks up return address - 1), so
   * `start` is no instruction boundary.
   */
  readonly signal: Uint8Array;
}

export type ElfType = 'exec' | 'dyn' | 'rel' | 'core' | 'other';

export interface ElfInfo {
  file: string;
  class: 32 | 64;
  endian: 'little' | 'big';
  /** e_machine. */
  machine: number;
  /** Our arch record name, or undefined when the machine/class is not one we support. */
  arch?: ArchName;
  type: ElfType;
  entry: number;
  /** e_flags (ARM: EABI version and float ABI). */
  flags: number;
  /** PT_INTERP, e.g. `/lib64/ld-linux-x86-64.so.2`. */
  interp?: string;
  /** DT_NEEDED in order. */
  needed: string[];
  soname?: string;
  rpath?: string;
  runpath?: string;
  /**
   * Statically linked: no PT_INTERP, and either no PT_DYNAMIC or a static-pie
   * (DF_1_PIE without DT_NEEDED). Nothing is loaded beside it at run time.
   */
  static: boolean;
  /** Position-independent executable (ET_DYN marked DF_1_PIE, or ET_DYN with an interpreter and no soname). */
  pie: boolean;
  /** Whether the file still has section headers. */
  hasSections: boolean;
  /** Undefined dynamic symbols, in .dynsym order. */
  imports: ElfImport[];
  /** Names of defined global/weak dynamic symbols, in .dynsym order. */
  exports: string[];
  /** Version definitions (.gnu.version_d) other than the file's base name, e.g. `GLIBC_2.34`. */
  versionDefs: string[];
  /** Version needs from .gnu.version_r (or DT_VERNEED). */
  versionNeeds: ElfVersionNeed[];
  /** Defined symbols of .symtab and .dynsym (deduplicated), sorted by value. */
  symbols: ElfSymbol[];
  /** ARM/AArch64 mapping symbols from .symtab, sorted by address. Empty elsewhere. */
  mappingSymbols: ElfMappingSymbol[];
  /**
   * Executable code regions: for a program, the PF_X PT_LOAD segments (what the kernel maps
   * executable), overlaps cut so each byte is in one region; for an object file, its
   * SHF_EXECINSTR sections.
   */
  exec: ElfExecRegion[];
  /**
   * A program's SHF_EXECINSTR sections inside `exec`, sorted by address (read with the code;
   * absent without section headers): where in its executable segments the linker put code.
   * Only a hint (section headers can lie): the call graph of a fixed-width ISA decodes just
   * these and gives up when code branches outside them (src/elf/graph/refs.ts).
   */
  codeSections?: { addr: number; size: number }[];
  /**
   * The dynamic relocations that name a symbol, in ld.so's order (programs; none for object
   * files). Read with the code: absent when `readElf` was told not to read it.
   */
  relocations?: ElfRelocation[];
  /**
   * Every dynamic relocation in ld.so's order, read with the loader's bounds (the same read
   * as `relocations`, which are the ones of these that name a symbol). Read with the code.
   */
  dynamicRelocations?: ElfDynamicRelocations;
  /**
   * The code ranges [start, end) of the FDEs of `.eh_frame` (read with the code; programs only),
   * sorted by start: where functions begin and end when no symbol says so (a stripped file).
   */
  frames?: ElfFrames;
  /** DT_INIT / DT_FINI: code the loader runs before and after the program (programs only). */
  init?: number;
  fini?: number;
  /** The PT_LOAD segments' file images (vaddr -> offset), to read data the loader maps. */
  loads: { vaddr: number; offset: number; filesz: number }[];
  /**
   * Where the file's section headers disagree with its program headers (the segments won), or
   * were ignored; one line each, for the report.
   */
  warnings: string[];
  /** Why the kernel would refuse to execute the file (e.g. `e_type 0x7fff is neither ET_EXEC nor ET_DYN`). */
  cannotRun?: string;
}

/** Instruction set a syscall site was found in. */
export type SiteIsa = 'x86_64' | 'i386' | 'arm' | 'thumb' | 'aarch64' | 'ppc';

/**
 * How the site enters the kernel:
 * - `syscall`: x86 `syscall`; `int80`: x86 `int $0x80` (even in 64-bit code its number is an
 *   i386 syscall number); `vsyscall`: i386 `call *%gs:0x10`
 *   (glibc's way into the vDSO's __kernel_vsyscall, number in eax);
 * - `svc`: ARM/Thumb/AArch64 `svc`; `sc`: PowerPC `sc`;
 * - `libc_do_syscall`: glibc ARM Thumb `bl __libc_do_syscall`, number in ip (r12);
 * - `syscall_wrapper`: a trap whose number is copied from the first argument register
 *   (the C library's `syscall()`), so callers decide the number.
 */
export type SiteKind = 'syscall' | 'int80' | 'vsyscall' | 'svc' | 'sc' | 'libc_do_syscall' | 'syscall_wrapper';

export interface SyscallSite {
  /** Virtual address of the trap (or of the `bl`), section-relative in ET_REL files. */
  address: number;
  /**
   * The syscall number when recovered from the instructions before the site; null otherwise. A
   * site the paths into which give different constants is listed once per number.
   */
  number: number | null;
  isa: SiteIsa;
  kind: SiteKind;
  /** Enclosing function, when symbols say so. */
  function?: string;
  /** Why `number` is null. */
  reason?: string;
}
