/**
 * Whether the kernel would start this file at all. A file Linux refuses to execute has no
 * syscalls to judge, and calling it PASS would be a lie: `check` reports it as "cannot run".
 *
 * The rules are the cheap ones of fs/binfmt_elf.c (load_elf_binary, load_elf_phdrs) and
 * elf_check_arch: e_type, e_machine for the class, e_phentsize, the size of the program header
 * table, PT_INTERP's length and NUL, and at least one PT_LOAD (without one nothing is mapped
 * and the entry point faults).
 */

const ET_REL = 1;
const ET_EXEC = 2;
const ET_DYN = 3;
const ET_CORE = 4;

/** Machines whose kernel entry accepts only one class (x86_64 also takes ELFCLASS32: x32). */
const CLASS_OF: Record<number, 32 | 64> = { 3: 32, 20: 32, 21: 64, 40: 32, 183: 64 };
/** binfmt_elf refuses program header tables above 64 KiB. */
const MAX_PHDRS_BYTES = 65536;
/** PATH_MAX: binfmt_elf refuses a longer PT_INTERP. */
const PATH_MAX = 4096;

export interface LoadFacts {
  eType: number;
  machine: number;
  class: 32 | 64;
  phentsize: number;
  phnum: number;
  loads: number;
  /** PT_INTERP's p_filesz and its last byte, when there is one. */
  interp?: { filesz: number; last: number | undefined };
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/** Why the kernel would refuse to execute the file, or undefined when it would load it. */
export function whyCannotRun(f: LoadFacts): string | undefined {
  if (f.eType === ET_REL) return 'e_type ET_REL: an object file, not a program (check the executable or library it is linked into)';
  if (f.eType === ET_CORE) return 'e_type ET_CORE: a core dump, not a program';
  if (f.eType !== ET_EXEC && f.eType !== ET_DYN) return `e_type ${hex(f.eType)} is neither ET_EXEC nor ET_DYN`;
  const cls = CLASS_OF[f.machine];
  if (cls !== undefined && cls !== f.class) return `e_machine ${f.machine} is a ${cls}-bit machine in an ELFCLASS${f.class} file`;
  const std = f.class === 64 ? 56 : 32;
  if (f.phentsize !== std) return `e_phentsize ${f.phentsize} is not ${std}`;
  if (f.phnum === 0) return 'no program headers';
  if (f.phnum * f.phentsize > MAX_PHDRS_BYTES) return `program header table of ${f.phnum * f.phentsize} bytes is over the kernel's ${MAX_PHDRS_BYTES}`;
  if (f.loads === 0) return 'no PT_LOAD segment';
  if (f.interp) {
    if (f.interp.filesz < 2 || f.interp.filesz > PATH_MAX) return `PT_INTERP of ${f.interp.filesz} bytes (the kernel takes 2 to ${PATH_MAX})`;
    if (f.interp.last !== 0) return 'PT_INTERP is not NUL-terminated';
  }
  return undefined;
}
