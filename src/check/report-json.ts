/**
 * JSON output of `sysgate check`: one report object for one file named on the command line,
 * an array of them otherwise; files that could not be checked appear as {file, error}.
 * The fields are documented in the command's help (src/cli/commands/check.ts).
 */
import type { CheckResult } from './types.ts';

export function toJson(results: CheckResult[], single: boolean): unknown {
  return single && results.length === 1 ? results[0] : results;
}
