/**
 * Checking one file on disk: read, skip non-ELF files (by magic), turn input errors into results.
 * A file that cannot be read is an error result whether it was named or found by a walk: a walk
 * that skipped it would pass a CI gate with that file unchecked.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { InputError } from '../errors.ts';
import type { TargetDef } from '../policy/types.ts';
import { checkElf } from './analyze.ts';
import type { CheckOptions, CheckResult } from './types.ts';

const MAGIC = 0x7f454c46;
/** Largest read buffer kept for the next file. */
const KEEP = 256 << 20;
let scratch: Buffer | undefined;

/** Whether the file starts with \x7fELF (false for unreadable files). */
export function isElfFile(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const b = Buffer.alloc(4);
    return readSync(fd, b, 0, 4, 0) === 4 && b.readUInt32BE(0) === MAGIC;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Checks the file at `path`. `explicit`: named by the user, so a non-ELF file is an error;
 * found by walking a directory, it is skipped (null). Bugs (non-InputErrors) propagate.
 */
export function checkFile(path: string | Uint8Array, display: string, target: TargetDef, opts: CheckOptions, explicit: boolean): CheckResult | null {
  let bytes: Uint8Array;
  let fd: number | undefined;
  try {
    // The magic first: a directory walk meets big archives and data files that are never read whole.
    // O_NONBLOCK: a file swapped for a FIFO after the walk looked at it must not block the open.
    // Bytes (a name that is not UTF-8) are opened as they are: fs takes a Buffer, not a Uint8Array.
    fd = openSync(typeof path === 'string' ? path : Buffer.from(path.buffer, path.byteOffset, path.byteLength), constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    if (!fstatSync(fd).isFile()) return explicit ? { file: display, error: 'not a regular file' } : null;
    const head = Buffer.alloc(4);
    if (readSync(fd, head, 0, 4, 0) !== 4 || head.readUInt32BE(0) !== MAGIC) {
      return explicit ? { file: display, error: 'not an ELF file' } : null;
    }
    const size = fstatSync(fd).size;
    // One buffer, reused while files fit in it (fresh pages per file cost more than the read);
    // nothing in a report refers to the bytes.
    let buf = scratch;
    if (!buf || buf.byteLength < size) {
      buf = Buffer.allocUnsafe(size);
      if (size <= KEEP) scratch = buf;
    }
    let got = 0;
    while (got < size) {
      const n = readSync(fd, buf, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    bytes = new Uint8Array(buf.buffer, buf.byteOffset, got);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { file: display, error: code === 'ENOENT' ? 'vanished before it was read (ENOENT)' : `cannot read: ${code ?? (e as Error).message}` };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  try {
    return checkElf(bytes, display, target, opts);
  } catch (e) {
    if (e instanceof InputError) return { file: display, error: e.message.startsWith(`${display}: `) ? e.message.slice(display.length + 2) : e.message };
    throw e;
  }
}
