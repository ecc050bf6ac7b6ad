/**
 * Loading targets: shipped ones by id, users' by path. Every problem in a file is collected
 * with its JSON pointer and reported together; a TargetDef is returned only for a clean file.
 * This module reads and schema-checks; the semantic checks are check-target.ts, the conversion
 * to a TargetDef convert.ts.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { DiagnosticsError, InputError, type Diagnostic } from '../errors.ts';
import { didYouMean, excerpt } from '../util/suggest.ts';
import { semanticChecks } from './check-target.ts';
import { convert } from './convert.ts';
import type { RawGroups, RawTarget } from './raw.ts';
import { isShippedTarget, shippedGroups, shippedTarget, shippedTargetIds } from './shipped.ts';
import type { TargetDef } from './types.ts';
import { readJsonFile } from '../util/read-input.ts';
import { validateJson } from '../util/validate-json.ts';

export interface LoadOptions {
  /** Directory relative paths are resolved against (default: process.cwd()). */
  cwd?: string;
}

export { shippedTargetIds };

/** The target schema, needed only for users' files. */
async function targetSchema(): Promise<object> {
  return (await import('../../schemas/target.schema.json', { with: { type: 'json' } })).default;
}

type Groups = RawGroups['groups'];

/** The shipped groups, loaded only when the target names a group. */
async function groupsFor(r: RawTarget): Promise<Groups> {
  const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;
  if (!isObj(r)) return {};
  const refs = [
    ...(Array.isArray(r.syscalls) ? r.syscalls : []).map((e) => (isObj(e) ? e.group : undefined)),
    ...(isObj(r.groups) ? Object.values(r.groups).flat() : []),
  ];
  return refs.some((x) => typeof x === 'string' && x.startsWith('@')) ? shippedGroups() : {};
}

/** A target by shipped id or by path to a JSON file. */
export async function loadTarget(ref: string, opts: LoadOptions = {}): Promise<TargetDef> {
  return load(ref, opts.cwd ?? process.cwd(), []);
}

function looksLikePath(ref: string): boolean {
  return ref.includes('/') || ref.includes('\\') || ref.endsWith('.json');
}

async function load(ref: string, cwd: string, chain: string[]): Promise<TargetDef> {
  let raw: unknown;
  let file: string;
  let shipped = false;
  if (!looksLikePath(ref) && isShippedTarget(ref)) {
    raw = await shippedTarget(ref);
    file = `targets/${ref}.json`;
    shipped = true;
  } else if (looksLikePath(ref) || existsSync(resolvePath(cwd, ref))) {
    file = resolvePath(cwd, ref);
    // Regular files only, with a size cap: a FIFO would hang the open, /dev/zero fill memory.
    raw = readJsonFile(file, 'target file');
  } else {
    throw new InputError(
      `unknown target '${excerpt(ref)}'${didYouMean(ref, shippedTargetIds())}; shipped targets: ${shippedTargetIds().join(', ')}, or give a path to a .json file`,
    );
  }
  if (chain.includes(file)) throw new InputError(`${file}: 'extends' loops: ${[...chain, file].join(' -> ')}`);

  const diags: Diagnostic[] = shipped ? [] : await validateJson(await targetSchema(), raw, file);
  const r = raw as RawTarget;
  let parent: TargetDef | undefined;
  if (typeof r === 'object' && r !== null && typeof r.extends === 'string') {
    try {
      parent = await load(r.extends, looksLikePath(r.extends) ? dirname(file) : cwd, [...chain, file]);
    } catch (e) {
      // A parent that cannot be found or read is this file's mistake, at its 'extends';
      // problems inside a parent file are reported with that file's own name and pointers.
      if (e instanceof InputError && !(e instanceof DiagnosticsError)) {
        throw new DiagnosticsError([{ file, pointer: '/extends', message: e.message }]);
      }
      throw e;
    }
  }
  const groups = await groupsFor(r);
  // Shipped targets skip the checks at run time: the test suite loads them by path, through
  // every check, and the build ships only what passed.
  if (shipped) return convert(r, file, parent, groups);
  if (diags.length) {
    // Schema errors first; semantic checks below still run on what is well-formed.
    diags.push(...semanticChecks(r, file, parent, groups, true));
    throw new DiagnosticsError(diags);
  }
  const sem = semanticChecks(r, file, parent, groups, false);
  if (sem.length) throw new DiagnosticsError(sem);
  return convert(r, file, parent, groups);
}
