/** ELF layer: reader, syscall-site scanners and syscall() call recovery. */
export { readElf } from './reader.ts';
export { findSyscallSites, SCANNABLE_MACHINES } from './sites/index.ts';
export { findSyscallCalls, type WrapperCall } from './calls/index.ts';
export type * from './types.ts';
