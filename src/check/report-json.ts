/**
 * JSON output of `sysgate check`: one report object for one file named on the command line,
 * an array of them otherwise; files that could not be checked appear as {file, error}.
 * The fields are documented in the command's help (src/cli/commands/check.ts).
 */
import { pack, unpack } from '../util/pack.ts';
import { jsonBytes } from '../util/json-text.ts';
import { type CheckResult, incomplete, isCheckError } from './types.ts';

export function toJson(results: CheckResult[], single: boolean): unknown {
  return single && results.length === 1 ? results[0] : results;
}

/**
 * A file's report as `check --json` writes it, and what the command decides on: made by the
 * worker (src/check/walk.ts checkPathsJson) that checked the file, so the reports are turned
 * into text in parallel and never cross to this thread as objects.
 */
export interface JsonResult {
  file: string;
  error?: string;
  fatal: boolean;
  /** incomplete(): what --strict fails on besides fatal findings. */
  incomplete: boolean;
  /**
   * The report (or {file, error}) as JSON text, indented as an element of the run's array
   * unless `single`, packed (packJson). Every result is held until the last file is checked,
   * since nothing may reach stdout before an exit 2 could: a directory's reports with
   * --sysroot are ~160 MB of text and ~9 MB packed.
   */
  json: Uint8Array;
}

/** The text (or its UTF-8 bytes) as UTF-8, packed (src/util/pack.ts). */
export function packJson(text: string | Uint8Array): Uint8Array {
  return pack(typeof text === 'string' ? Buffer.from(text, 'utf8') : text, true);
}

/** The text packJson packed, as its UTF-8 bytes. */
export function unpackJsonBytes(packed: Uint8Array): Uint8Array {
  return unpack(packed);
}

/** The text packJson packed. */
export function unpackJson(packed: Uint8Array): string {
  return unpack(packed).toString('utf8');
}

export function jsonResult(r: CheckResult, single: boolean): JsonResult {
  const json = packJson(jsonBytes(r, single ? '' : '  '));
  return isCheckError(r)
    ? { file: r.file, error: r.error, fatal: false, incomplete: false, json }
    : { file: r.file, fatal: r.fatal, incomplete: incomplete(r), json };
}
