/**
 * Where output may go. An output directory must be a real directory on a filesystem that
 * stores files: /proc, /sys and friends accept names they never keep (and Node's recursive
 * mkdir loops for ever on /proc), so they are refused before anything is created. Missing
 * components are created one by one, never with `recursive: true`, so that every failure
 * names the component and nothing spins.
 */
import { mkdirSync, rmdirSync, statfsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InputError } from '../errors.ts';

/** statfs f_type values of Linux pseudo-filesystems (linux/magic.h): nothing written there is a file. */
const PSEUDO_FS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x63677270, 'cgroup2'],
  [0x27e0eb, 'cgroup'],
  [0xcafe4a11, 'bpf'],
  [0x1cd1, 'devpts'],
  [0x62656570, 'configfs'],
  [0x6165676c, 'pstore'],
  [0xde5e81e4, 'efivarfs'],
  [0x65735543, 'fusectl'],
  [0x42494e4d, 'binfmt_misc'],
]);

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

/** The pseudo-filesystem `dir` is on, or undefined for a real one. */
export function pseudoFilesystem(dir: string): string | undefined {
  try {
    return PSEUDO_FS.get(statfsSync(dir).type);
  } catch {
    return undefined; // statfs itself failing says nothing; the writes that follow will report
  }
}

/**
 * Makes sure `dir` (absolute) is a directory that can take output files, creating what is
 * missing; returns the directories it created, parents first (to remove again when the
 * write fails). Throws an InputError naming the path for anything else.
 */
export function ensureOutputDir(dir: string): string[] {
  const missing: string[] = [];
  let p = resolve(dir);
  for (;;) {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(p);
    } catch (e) {
      const c = (e as NodeJS.ErrnoException).code;
      // ENOTDIR: a component on the way is a file; the ancestor check below names it.
      if ((c !== 'ENOENT' && c !== 'ENOTDIR') || dirname(p) === p) throw new InputError(`${p}: cannot use as output directory: ${errCode(e)}`);
      missing.unshift(p);
      p = dirname(p);
      continue;
    }
    if (!st.isDirectory()) {
      throw new InputError(`${p}: ${missing.length ? `cannot create ${dir} under it, ` : ''}not a directory`);
    }
    const fs = pseudoFilesystem(p);
    if (fs) throw new InputError(`${dir}: ${p} is on ${fs}, a pseudo-filesystem that keeps no files; choose an output directory on a real one`);
    break;
  }
  const created: string[] = [];
  for (const m of missing) {
    try {
      mkdirSync(m);
      created.push(m);
    } catch (e) {
      // Someone else may create it at the same moment: a directory there is what we wanted.
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && statSync(m, { throwIfNoEntry: false })?.isDirectory()) continue;
      removeCreatedDirs(created);
      throw new InputError(`${m}: cannot create output directory: ${errCode(e)}`);
    }
  }
  return created;
}

/** Undo `ensureOutputDir`: remove the directories it made, deepest first, if still empty. */
export function removeCreatedDirs(created: readonly string[]): void {
  for (const d of [...created].reverse()) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty (someone else wrote there) or gone: leave it and its parents
    }
  }
}

/** `--out -`: the one output file goes to standard output. */
export const STDOUT = '-';
