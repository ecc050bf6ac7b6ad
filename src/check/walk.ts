/**
 * Checking files and directories: directories are walked (symlinks are not followed inside
 * them, so a library is not checked once per alias), files are checked in a pool of worker
 * threads when there are enough of them, in this thread otherwise. Results keep the order of
 * the walk (sorted names); files found in a walk that are not ELF are skipped silently.
 */
import { lstatSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { InputError } from '../errors.ts';
import type { TargetDef } from '../policy/types.ts';
import { checkFile } from './file.ts';
import type { CheckOptions, CheckResult } from './types.ts';
import { WORKER_MARK, type Job, type Reply, type WorkerInit } from './worker.ts';

export interface WalkOptions extends CheckOptions {
  /** Directory paths are shown relative to (default: process.cwd()). */
  cwd?: string;
  /** Worker threads; default: available parallelism (1 = no workers). */
  jobs?: number;
  /** Called after each file. */
  onProgress?: (done: number, total: number, file: string) => void;
}

interface Item {
  path: string;
  display: string;
  explicit: boolean;
  size: number;
}

function walk(dir: string, cwd: string, out: Item[]): void {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return;
  }
  for (const n of names) {
    const p = join(dir, n);
    let st;
    try {
      st = lstatSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) walk(p, cwd, out);
    else if (st.isFile() && st.size >= 52) out.push({ path: p, display: relative(cwd, p) || p, explicit: false, size: st.size });
  }
}

/** The files `paths` stand for, in order. Throws InputError for a path that does not exist. */
export function expandPaths(paths: string[], cwd: string): Item[] {
  const out: Item[] = [];
  for (const p of paths) {
    const abs = resolve(cwd, p);
    let st;
    try {
      st = statSync(abs);
    } catch {
      throw new InputError(`${p}: no such file or directory`);
    }
    if (st.isDirectory()) walk(abs, cwd, out);
    else out.push({ path: abs, display: p, explicit: true, size: st.size });
  }
  return out;
}

/**
 * A worker: dist/check-worker.js beside the bundle chunk this code is in; under tsx,
 * worker-entry.ts with tsx's loader registered first (workers do not run the parent's
 * --import preloads).
 */
function startWorker(init: WorkerInit): Worker {
  const self = import.meta.url;
  if (!self.endsWith('.ts')) return new Worker(new URL('./check-worker.js', self), { workerData: init });
  const entry = JSON.stringify(new URL('./worker-entry.ts', self).href);
  const code = `import('tsx/esm/api').then((api) => { api.register(); return import(${entry}); })`;
  return new Worker(code, { eval: true, workerData: init });
}

/** Files per worker below which starting workers costs more than it saves. */
const MIN_FILES_PER_WORKER = 6;

export async function checkPaths(paths: string[], target: TargetDef, opts: WalkOptions = {}): Promise<CheckResult[]> {
  const cwd = opts.cwd ?? process.cwd();
  const items = expandPaths(paths, cwd);
  const { onProgress, jobs: jobsOpt, cwd: _cwd, ...checkOpts } = opts;
  const jobs = Math.max(1, Math.min(jobsOpt ?? availableParallelism(), Math.floor(items.length / MIN_FILES_PER_WORKER)));
  const results: (CheckResult | null)[] = new Array(items.length).fill(null);
  let done = 0;
  if (jobs <= 1) {
    items.forEach((it, i) => {
      results[i] = checkFile(it.path, it.display, target, checkOpts, it.explicit);
      done++;
      onProgress?.(done, items.length, it.display);
    });
    return results.filter((r): r is CheckResult => r !== null);
  }
  const init: WorkerInit = { [WORKER_MARK]: true, target, opts: checkOpts };
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolveAll, reject) => {
      // Largest files first, so that no big file is left for the end (results keep walk order).
      const order = items.map((_, i) => i).sort((a, b) => items[b]!.size - items[a]!.size);
      let next = 0;
      const feed = (w: Worker) => {
        if (next >= order.length) return;
        const id = order[next++]!;
        const it = items[id]!;
        w.postMessage({ id, path: it.path, display: it.display, explicit: it.explicit } satisfies Job);
      };
      for (let k = 0; k < jobs; k++) {
        const w = startWorker(init);
        workers.push(w);
        w.on('message', (m: Reply) => {
          if ('crash' in m) return reject(new Error(`checking ${items[m.id]!.display}: ${m.crash}`));
          results[m.id] = m.result;
          done++; // not inside onProgress?.(...): its arguments are skipped when it is undefined
          onProgress?.(done, items.length, items[m.id]!.display);
          if (done === items.length) resolveAll();
          else feed(w);
        });
        w.on('error', reject);
        w.on('exit', (code) => {
          if (done < items.length) reject(new Error(`check worker exited with code ${code}`));
        });
        // Two jobs in flight per worker keep it busy while the reply travels.
        feed(w);
        feed(w);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results.filter((r): r is CheckResult => r !== null);
}
