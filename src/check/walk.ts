/**
 * Checking files and directories: directories are walked, files are checked in a pool of
 * worker threads when there are enough of them, in this thread otherwise. Results keep the
 * order of the walk (names sorted by their bytes, the same in every locale).
 *
 * A walk is a CI gate, so it fails closed: whatever it cannot look at (EACCES on a file or a
 * directory, a dangling symlink, a path past PATH_MAX, a file that vanished mid-walk) becomes
 * an error result naming the path, which makes `check` exit 2; it is never skipped. What is
 * skipped is only what cannot be a program: files that are not ELF (by magic), files shorter
 * than an ELF header, FIFOs, sockets and devices.
 *
 * Symlinks inside a walk are followed, and every directory and file is visited once, by
 * (device, inode), under the first name the sorted walk meets: so a link loop ends, a library
 * reached through aliases is checked once, and a link pointing outside the tree is checked too.
 *
 * Names are read as bytes: a name that is not UTF-8 is opened by its exact bytes and shown
 * with the bytes that are not UTF-8 (and control characters, and backslash) as \xNN.
 */
import { lstatSync, readdirSync, statSync, type Stats } from 'node:fs';
import { availableParallelism } from 'node:os';
import { relative, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { InputError } from '../errors.ts';
import { asPolicySet, type PolicySet } from '../policy/settings.ts';
import type { TargetDef } from '../policy/types.ts';
import { checkFile } from './file.ts';
import type { CheckOptions, CheckResult } from './types.ts';
import { type JsonResult, jsonResult } from './report-json.ts';
import { internStrings } from './intern.ts';
import { analysesMadeHere, LibraryStore } from './library-store.ts';
import { type ResultShape, WORKER_MARK, type Job, type Reply, type WorkerInit } from './worker.ts';

export interface WalkOptions extends CheckOptions {
  /** Directory paths are shown relative to (default: process.cwd()). */
  cwd?: string;
  /** Worker threads; default and upper bound: available parallelism (1 = no workers). */
  jobs?: number;
  /** Called after each file. */
  onProgress?: (done: number, total: number, file: string) => void;
  /** Filled in by the run: how many --sysroot library analyses it made (each library once per run). */
  stats?: { libraryAnalyses: number };
}

/** A file to check, or a path the walk could not look at. */
export interface Item {
  /** A string when the path is valid UTF-8 (as Node would encode it), else its exact bytes. */
  path: string | Uint8Array;
  display: string;
  explicit: boolean;
  size: number;
  /** Set when the path could not be walked or read: it becomes an error result. */
  error?: string;
}

/** Smallest ELF header (ELFCLASS32); anything shorter cannot be a program or library. */
const MIN_ELF = 52;
const SLASH = Buffer.from('/');

/** A name's bytes as text: UTF-8 where it is valid, \xNN for every other byte, control characters and backslash. */
export function displayName(raw: Uint8Array): string {
  let out = '';
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength); // a view, no copy
  const text = bytes.toString('utf8');
  if (Buffer.from(text, 'utf8').equals(bytes) && !/[\x00-\x1f\x7f\\]/.test(text)) return text;
  // Byte by byte: decode each UTF-8 sequence that is valid on its own, escape the rest.
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    const len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len > 1 && i + len <= bytes.length) {
      const seq = bytes.subarray(i, i + len);
      const t = seq.toString('utf8');
      if (!t.includes('\ufffd') && Buffer.from(t, 'utf8').equals(seq)) {
        out += t;
        i += len;
        continue;
      }
    }
    out += len === 1 && b >= 0x20 && b !== 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
    i++;
  }
  return out;
}

/** The path Node should open: the string when it encodes back to exactly these bytes. */
function fsPath(bytes: Buffer): string | Uint8Array {
  const s = bytes.toString('utf8');
  return Buffer.from(s, 'utf8').equals(bytes) ? s : bytes;
}

/** Node opens by path, and the kernel takes at most PATH_MAX bytes of one. */
const TOO_LONG = 'path longer than PATH_MAX (ENAMETOOLONG): cannot be checked';

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

/** Why a name read from a directory cannot be looked at. */
function statError(path: Buffer, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    const l = lstatSync(path, { throwIfNoEntry: false });
    return l?.isSymbolicLink() ? 'symlink to a missing file (ENOENT)' : 'vanished during the walk (ENOENT)';
  }
  if (code === 'ELOOP') return 'symlink loop (ELOOP)';
  if (code === 'ENAMETOOLONG') return TOO_LONG;
  return `cannot read: ${errCode(e)}`;
}

interface WalkState {
  cwd: string;
  out: Item[];
  seen: Set<string>;
}

const inode = (st: Stats) => `${st.dev}:${st.ino}`;

function show(path: Buffer, state: WalkState): string {
  const shown = displayName(path);
  return relative(state.cwd, shown) || shown;
}

function walk(dir: Buffer, state: WalkState): void {
  let names: Buffer[];
  try {
    names = readdirSync(dir, { encoding: 'buffer' });
  } catch (e) {
    state.out.push({
      path: fsPath(dir),
      display: show(dir, state),
      explicit: false,
      size: 0,
      error: (e as NodeJS.ErrnoException).code === 'ENAMETOOLONG' ? TOO_LONG : `cannot read directory: ${errCode(e)}`,
    });
    return;
  }
  names.sort(Buffer.compare);
  for (const n of names) {
    const p = Buffer.concat([dir, SLASH, n]);
    let st: Stats;
    try {
      st = statSync(p);
    } catch (e) {
      state.out.push({ path: fsPath(p), display: show(p, state), explicit: false, size: 0, error: statError(p, e) });
      continue;
    }
    if (!st.isDirectory() && !st.isFile()) continue; // FIFOs, sockets, devices: never a program, and opening some blocks
    if (st.isFile() && st.size < MIN_ELF) continue;
    const key = inode(st);
    if (state.seen.has(key)) continue;
    state.seen.add(key);
    if (st.isDirectory()) walk(p, state);
    else state.out.push({ path: fsPath(p), display: show(p, state), explicit: false, size: st.size });
  }
}

/** The files `paths` stand for, in order. Throws InputError for a path that does not exist. */
export function expandPaths(paths: string[], cwd: string): Item[] {
  const state: WalkState = { cwd, out: [], seen: new Set() };
  for (const p of paths) {
    const abs = resolve(cwd, p);
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(abs);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new InputError(`${p}: no such file or directory`);
      throw new InputError(`${p}: cannot read: ${errCode(e)}`);
    }
    if (st.isDirectory()) {
      const key = inode(st);
      if (state.seen.has(key)) continue;
      state.seen.add(key);
      walk(Buffer.from(abs), state);
    } else if (st.isFile()) {
      state.out.push({ path: abs, display: p, explicit: true, size: st.size });
    } else {
      // Named by the user, so an error, not a skip: and never opened (a FIFO would block).
      state.out.push({ path: abs, display: p, explicit: true, size: 0, error: 'not a regular file or directory' });
    }
  }
  return state.out;
}

/**
 * A worker: dist/check-worker.js beside the bundle chunk this code is in; under tsx,
 * worker-entry.ts with tsx's loader registered first (workers do not run the parent's
 * --import preloads).
 */
function startWorker(init: WorkerInit): Worker {
  const self = import.meta.url;
  const options = { workerData: init, transferList: init.store ? [init.store.port] : [], resourceLimits: { maxYoungGenerationSizeMb: YOUNG_MB } };
  if (!self.endsWith('.ts')) return new Worker(new URL('./check-worker.js', self), options);
  const entry = JSON.stringify(new URL('./worker-entry.ts', self).href);
  const code = `import('tsx/esm/api').then((api) => { api.register(); return import(${entry}); })`;
  return new Worker(code, { ...options, eval: true });
}

/**
 * A worker's young generation, in MB (V8 makes it three semi-spaces: 4 MB each). A check
 * allocates about 3 GB per directory run, nearly all of it dead by the next file; V8's default
 * (16 MB semi-spaces, 48 MB per worker) kept up to twice that much more in pages. Measured on
 * /usr/bin --sysroot / (845 files, 3 runs each, issue 13): peak RSS 558-575 -> 505-557 MB (6
 * and 9 MB: no lower). The price is scavenges: 220 -> 715 per run, about 0.7 s more GC time
 * (--trace-gc), within the run-to-run noise of the wall time; 24 and 36 MB lie in between.
 */
const YOUNG_MB = 12;

/** Files per worker below which starting workers costs more than it saves. */
const MIN_FILES_PER_WORKER = 6;

/**
 * Worker threads for `files` files: what was asked, but never more than the cores (a thread
 * per core is all the work can use; each costs tens of MB) or one per MIN_FILES_PER_WORKER files.
 */
export function workerCount(requested: number | undefined, files: number, cores = availableParallelism()): number {
  if (requested !== undefined && (!Number.isInteger(requested) || requested < 1)) {
    throw new InputError(`bad jobs ${requested}: expected a whole number >= 1`);
  }
  return Math.max(1, Math.min(requested ?? cores, cores, Math.floor(files / MIN_FILES_PER_WORKER)));
}

export async function checkPaths(paths: string[], target: TargetDef | PolicySet, opts: WalkOptions = {}): Promise<CheckResult[]> {
  return (await pool(paths, target, opts, 'report')).results as CheckResult[];
}

/**
 * checkPaths, each result as JSON text (jsonResult). `single`: one file was named and it is
 * the only result, whose JSON is then the report itself rather than an array of one.
 */
export async function checkPathsJson(
  paths: string[],
  target: TargetDef | PolicySet,
  opts: WalkOptions = {},
): Promise<{ results: JsonResult[]; single: boolean }> {
  const { results, single } = await pool(paths, target, opts, 'json');
  return { results: results as JsonResult[], single };
}

async function pool(
  paths: string[],
  target: TargetDef | PolicySet,
  opts: WalkOptions,
  as: ResultShape,
): Promise<{ results: (CheckResult | JsonResult)[]; single: boolean }> {
  const cwd = opts.cwd ?? process.cwd();
  // Resolved once, before the walk: every file and every worker judges by these policies.
  const policies = asPolicySet(target, opts.firmware);
  const items = expandPaths(paths, cwd);
  const { onProgress, jobs: jobsOpt, cwd: _cwd, firmware: _firmware, stats, ...checkOpts } = opts;
  // The only result can be the named file itself (a directory's files are shown under it).
  const single = paths.length === 1 && items.length === 1 && items[0]!.display === paths[0];
  const shape = (r: CheckResult): CheckResult | JsonResult => (as === 'json' ? jsonResult(r, single) : r);
  const results: (CheckResult | JsonResult | null)[] = new Array(items.length).fill(null);
  const done = () => {
    const out = results.filter((r): r is CheckResult | JsonResult => r !== null);
    return { results: out, single: single && out.length === 1 };
  };
  // Paths the walk could not look at are results already; the rest is work.
  const work: number[] = [];
  items.forEach((it, i) => {
    if (it.error !== undefined) results[i] = shape({ file: it.display, error: it.error });
    else work.push(i);
  });
  const jobs = workerCount(jobsOpt, work.length);
  let finished = 0;
  if (jobs <= 1) {
    // One thread: its own cache serves the whole run (and later runs in this process).
    const before = analysesMadeHere();
    for (const i of work) {
      const it = items[i]!;
      const r = checkFile(it.path, it.display, policies, checkOpts, it.explicit);
      results[i] = r && shape(r);
      finished++;
      onProgress?.(finished, work.length, it.display);
    }
    if (stats) stats.libraryAnalyses = analysesMadeHere() - before;
    return done();
  }
  // Each --sysroot library is analysed once per run, by the first worker that needs it.
  const store = checkOpts.sysroot ? new LibraryStore() : undefined;
  const strings = new Map<string, string>();
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolveAll, reject) => {
      // Largest files first, so that no big file is left for the end (results keep walk order).
      const order = [...work].sort((a, b) => items[b]!.size - items[a]!.size || a - b);
      let next = 0;
      const feed = (w: Worker) => {
        if (next >= order.length) return;
        const id = order[next++]!;
        const it = items[id]!;
        w.postMessage({ id, path: it.path, display: it.display, explicit: it.explicit } satisfies Job);
      };
      for (let k = 0; k < jobs; k++) {
        const w = startWorker({ [WORKER_MARK]: true, policies, opts: checkOpts, as, ...(store ? { store: store.link() } : {}) });
        workers.push(w);
        w.on('message', (m: Reply) => {
          if ('crash' in m) return reject(new Error(`checking ${items[m.id]!.display}: ${m.crash}`));
          // Kept until the run ends: one copy of each string the reports repeat.
          if (as === 'report') internStrings(m.result, strings);
          results[m.id] = m.result;
          finished++; // not inside onProgress?.(...): its arguments are skipped when it is undefined
          onProgress?.(finished, work.length, items[m.id]!.display);
          if (finished === work.length) resolveAll();
          else feed(w);
        });
        w.on('error', reject);
        w.on('exit', (code) => {
          if (finished < work.length) reject(new Error(`check worker exited with code ${code}`));
        });
        // Two jobs in flight per worker keep it busy while the reply travels.
        feed(w);
        feed(w);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
    store?.close();
  }
  if (stats) stats.libraryAnalyses = store?.analyses ?? 0;
  return done();
}
