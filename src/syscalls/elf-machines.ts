/**
 * ELF e_machine values (the System V gABI's registry, include/uapi/linux/elf-em.h), the one
 * declaration of them: the arch record, the ELF reader and the per-ISA scanners import these.
 */
export const EM_386 = 3;
export const EM_PPC = 20;
export const EM_PPC64 = 21;
export const EM_ARM = 40;
export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;
