/**
 * `sysgate check`'s API: will this binary survive the target's syscall policy?
 *
 *   import { checkElf, checkPaths } from './check/index.ts';
 *   const report = checkElf(bytes, 'app', await loadTarget('codesafe5'), { firmware: '13.7' });
 *   report.syscalls.filter((f) => f.severity === 'fatal');
 */
export { checkElf } from './analyze.ts';
export { checkFile, isElfFile } from './file.ts';
export { checkPaths, expandPaths, type WalkOptions } from './walk.ts';
export { findSyscallCalls, type WrapperCall } from '../elf/calls/index.ts';
export { renderText, renderReport, describeVia, PLAIN, type TextStyle } from './report-text.ts';
export { toJson } from './report-json.ts';
export { toSarif, SARIF_SCHEMA } from './report-sarif.ts';
export { severityOf, isCheckError, incomplete, judgementRank, VERDICT_ORDER, DEATH_ORDER } from './types.ts';
export type {
  CheckReport,
  CheckResult,
  CheckError,
  CheckOptions,
  Finding,
  Via,
  Verdict,
  DeathHow,
  Judgement,
  Severity,
  Unresolved,
  LibraryReport,
  LibcInfo,
} from './types.ts';
