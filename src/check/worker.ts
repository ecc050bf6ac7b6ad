/**
 * The worker side of `checkPaths`' pool. The same module runs under tsx (src) and inside the
 * esbuild bundles: a worker is started on this file (src) or on the bundle itself, with
 * `workerData[WORKER_MARK]` set. In the bundle the rest of the program (the CLI's main) must
 * not run in the worker: the top-level await below never settles, so nothing after this
 * module is evaluated there; the pool terminates its workers when done.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { TargetDef } from '../policy/types.ts';
import { checkFile } from './file.ts';
import type { CheckOptions, CheckResult } from './types.ts';

export const WORKER_MARK = 'sysgateCheckWorker';

export interface WorkerInit {
  [WORKER_MARK]: true;
  target: TargetDef;
  opts: CheckOptions;
}

export interface Job {
  id: number;
  path: string;
  display: string;
  explicit: boolean;
}

export type Reply = { id: number; result: CheckResult | null } | { id: number; crash: string };

function serve(init: WorkerInit): void {
  parentPort!.on('message', (job: Job) => {
    let reply: Reply;
    try {
      reply = { id: job.id, result: checkFile(job.path, job.display, init.target, init.opts, job.explicit) };
    } catch (e) {
      reply = { id: job.id, crash: (e as Error)?.stack ?? String(e) };
    }
    parentPort!.postMessage(reply);
  });
}

if (!isMainThread && (workerData as Partial<WorkerInit> | undefined)?.[WORKER_MARK]) {
  serve(workerData as WorkerInit);
  await new Promise<never>(() => {});
}
