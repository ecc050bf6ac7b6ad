/** Entry of a `check` worker thread (dist/check-worker.js, or this file under tsx). */
import { isCheckWorker, serveWorker } from './worker.ts';

if (isCheckWorker()) serveWorker();
