/**
 * The worker side of `checkPaths`' pool. A worker is started on the CLI bundle itself (the
 * bundle's main sees `workerData[WORKER_MARK]` and calls `serveWorker`) or, under tsx, on a
 * small eval that imports this module and calls it. The pool terminates its workers when done.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { PolicySet } from '../policy/settings.ts';
import { checkFile } from './file.ts';
import { type StoreLink, useStore } from './library-store.ts';
import type { CheckOptions, CheckResult } from './types.ts';
import { type JsonResult, jsonResult } from './report-json.ts';

export const WORKER_MARK = 'sysgateCheckWorker';

export interface WorkerInit {
  [WORKER_MARK]: true;
  /** Resolved once by the pool's owner: a worker never resolves the target again. */
  policies: PolicySet;
  opts: CheckOptions;
  /** What a reply carries: the report, or (json) its text made here (walk.ts checkPathsJson). */
  as: ResultShape;
  /** With --sysroot: the run's store of library analyses, shared by its workers. */
  store?: StoreLink;
}

export interface Job {
  id: number;
  /** A Buffer (a name that is not UTF-8) arrives as a plain Uint8Array: structured clone. */
  path: string | Uint8Array;
  display: string;
  explicit: boolean;
}

export type ResultShape = 'report' | 'json';

export type Reply = { id: number; result: CheckResult | JsonResult | null } | { id: number; crash: string };

function serve(init: WorkerInit): void {
  if (init.store) useStore(init.store);
  parentPort!.on('message', (job: Job) => {
    let reply: Reply;
    try {
      const r = checkFile(typeof job.path === 'string' ? job.path : Buffer.from(job.path), job.display, init.policies, init.opts, job.explicit);
      // A pool has at least two files (walk.ts workerCount), so a result is never the single one.
      reply = { id: job.id, result: r && init.as === 'json' ? jsonResult(r, false) : r };
    } catch (e) {
      reply = { id: job.id, crash: (e as Error)?.stack ?? String(e) };
    }
    // A packed report (json) is moved, not copied.
    const moved = init.as === 'json' && 'result' in reply && reply.result ? [(reply.result as JsonResult).json.buffer as ArrayBuffer] : [];
    parentPort!.postMessage(reply, moved);
  });
}

/** True in a thread the pool started. */
export function isCheckWorker(): boolean {
  return !isMainThread && !!(workerData as Partial<WorkerInit> | undefined)?.[WORKER_MARK];
}

/** Answer the pool's jobs until it terminates this thread. */
export function serveWorker(): void {
  serve(workerData as WorkerInit);
}
