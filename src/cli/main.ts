#!/usr/bin/env node
/** The executable: the only module that touches the process (argv, streams, exit code). */
import { EXIT, wantColor, type Io } from './io.ts';
import { VERSION } from '../version.ts';

// Each stream by its own terminal state: stderr can be a terminal while stdout is a pipe.
const isTTY = !!process.stdout.isTTY;
const errIsTTY = !!process.stderr.isTTY;
const io: Io = {
  out: (t) => void process.stdout.write(t),
  outBytes: (b) => void process.stdout.write(b),
  err: (t) => void process.stderr.write(t),
  isTTY,
  color: wantColor(isTTY, process.env),
  errIsTTY,
  errColor: wantColor(errIsTTY, process.env),
  cwd: process.cwd(),
  env: process.env,
};

process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0); // `sysgate ... | head` is fine
  throw e;
});

// --version needs nothing else; everything past it is imported on demand (see bench/).
const argv = process.argv.slice(2);
if (argv.length === 1 && ['--version', '-v', '-V'].includes(argv[0]!)) {
  io.out(`${VERSION}\n`);
} else {
  import('./run.ts')
    .then(({ run }) => run(argv, io))
    .then((code) => {
      process.exitCode = code;
    })
    .catch((e: unknown) => {
      // run() maps every error of a command; this catches what escapes it (its own set-up, or
      // the import), so a bug is still exit 3 with its stack, never Node's exit 1.
      process.stderr.write(`sysgate: internal error: ${(e as Error)?.stack ?? String(e)}\nPlease report it with the command line that caused it.\n`);
      process.exitCode = EXIT.internal;
    });
}
