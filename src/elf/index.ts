/** ELF layer: reader and syscall-site scanners. */
export { readElf } from './reader.ts';
export { findSyscallSites, SCANNABLE_MACHINES } from './sites/index.ts';
export type * from './types.ts';
