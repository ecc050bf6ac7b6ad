/**
 * Reading a user's input file without trusting what the path names. A FIFO, a device or a
 * directory given where a file is expected must get a one-line error, never a hang (open of a
 * FIFO blocks until a writer comes) or unbounded memory (/dev/zero never ends): open without
 * blocking, look at what was opened (fstat of the descriptor, not of the path, so a swap between
 * the two cannot slip through), refuse anything but a regular file, and never read past a cap.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { InputError } from '../errors.ts';

/** Caps for the JSON inputs (targets, config) and raw filters: far above any real file. */
export const MAX_JSON_BYTES = 16 * 1024 * 1024;
export const MAX_FILTER_BYTES = 4096 * 8;

export interface OpenedFile {
  fd: number;
  size: number;
  stats: Stats;
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function code(e: unknown): string {
  const c = (e as NodeJS.ErrnoException).code;
  // The common case in words (and the code, which scripts and tests match on).
  if (c === 'ENOENT') return 'no such file (ENOENT)';
  return c ?? (e as Error).message;
}

/**
 * Open a regular file for reading. `what` names the input in messages ("target", "ELF file").
 * The caller closes `fd`. O_NONBLOCK makes open() of a FIFO return at once; on a regular file
 * it has no effect on reads.
 */
export function openRegularFile(path: string, what: string, maxBytes?: number): OpenedFile {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    throw new InputError(`${path}: cannot open ${what}: ${code(e)}`);
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new InputError(`${path}: ${what} is ${kindOf(stats)}, expected a regular file`);
    if (maxBytes !== undefined && stats.size > maxBytes) {
      throw new InputError(`${path}: ${what} is ${stats.size} bytes, over the limit of ${maxBytes}`);
    }
    return { fd, size: stats.size, stats };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** Read a whole regular file of at most `maxBytes` (a file that grows while read is refused, never cut off). */
export function readRegularFile(path: string, what: string, maxBytes: number): Buffer {
  const { fd, size } = openRegularFile(path, what, maxBytes);
  try {
    // One byte more than the cap tells a file that grew past it from one that ends there.
    const buf = Buffer.allocUnsafe(Math.min(size, maxBytes) + 1);
    let got = 0;
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, got, buf.length - got, null);
      } catch (e) {
        throw new InputError(`${path}: cannot read ${what}: ${code(e)}`);
      }
      if (n === 0) break;
      got += n;
      if (got === buf.length) {
        throw new InputError(got > maxBytes ? `${path}: ${what} is over the limit of ${maxBytes} bytes` : `${path}: ${what} grew while it was read`);
      }
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** The same, as UTF-8 text. */
export function readRegularText(path: string, what: string, maxBytes: number = MAX_JSON_BYTES): string {
  return readRegularFile(path, what, maxBytes).toString('utf8');
}

/**
 * Read and parse a JSON input file (a target, a config): the one place a user's JSON is parsed,
 * so every failure is an InputError on one line naming the file. V8's parse message quotes the
 * bytes around the error, newlines and control characters included; they are escaped here.
 */
export function readJsonFile(path: string, what: string): unknown {
  const text = readRegularText(path, what);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    // eslint-disable-next-line no-control-regex
    const msg = String((e as Error).message).replace(
      /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g,
      (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
    throw new InputError(`${path}: not valid JSON: ${msg}`);
  }
}
