#!/usr/bin/env node
/** The executable: the only module that touches the process (argv, streams, exit code). */
import { isMainThread } from 'node:worker_threads';
import { run } from './run.ts';
import type { Io } from './io.ts';

const isTTY = !!process.stdout.isTTY;
const io: Io = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
  isTTY,
  color: isTTY && !('NO_COLOR' in process.env) && process.env.TERM !== 'dumb',
  cwd: process.cwd(),
  env: process.env,
};

process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0); // `sysgate ... | head` is fine
  throw e;
});

// The bundle is also the entry of `check`'s worker threads (src/check/worker.ts): only the
// main thread runs the CLI.
if (isMainThread) {
  run(process.argv.slice(2), io).then((code) => {
    process.exitCode = code;
  });
}
