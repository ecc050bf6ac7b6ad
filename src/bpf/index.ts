/** seccomp-BPF: lowering, assembly, encoding, emulation, disassembly and audit. */
export * from './types.ts';
export { AsmBuilder, assemble, type Assembled, type AsmItem, type Label } from './assemble.ts';
export { encodeFilter, decodeFilter } from './encode.ts';
export {
  validateFilter,
  assertValidFilter,
  runFilter,
  seccompDataBytes,
  type FilterCheck,
  type RunResult,
  type SeccompInput,
} from './emulate.ts';
export { explore, longestPath, type KnownInputs, type Reach } from './analyze.ts';
export { compileFilter, type ArchStats, type CompiledFilter, type FilterStats } from './compile.ts';
export { disassemble, fieldName, type DisasmOptions } from './disasm.ts';
export {
  auditFilter,
  cacheAnalysis,
  formatAudit,
  isConstAllow,
  type AuditOptions,
  type AuditReport,
  type CacheReport,
} from './audit.ts';
