/**
 * Checking one file on disk: read, skip non-ELF files (by magic), turn input errors into results.
 * A file that cannot be read is an error result whether it was named or found by a walk: a walk
 * that skipped it would pass a CI gate with that file unchecked.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { ElfFile } from '../elf/source.ts';
import { InputError } from '../errors.ts';
import type { PolicySet } from '../policy/settings.ts';
import type { TargetDef } from '../policy/types.ts';
import { openRegularFile } from '../util/read-input.ts';
import { checkElf } from './analyze.ts';
import type { CheckOptions, CheckResult } from './types.ts';

const MAGIC = 0x7f454c46;
const ET_REL = 1;

/** Whether the file starts with \x7fELF (false for unreadable files). */
export function isElfFile(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openRegularFile(path, 'ELF file').fd;
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
export function checkFile(
  path: string | Uint8Array,
  display: string,
  target: TargetDef | PolicySet,
  opts: CheckOptions,
  explicit: boolean,
): CheckResult | null {
  let src: ElfFile;
  let fd: number | undefined;
  try {
    // The magic first: a directory walk meets big archives and data files that are never read whole.
    // O_NONBLOCK: a file swapped for a FIFO after the walk looked at it must not block the open.
    // Bytes (a name that is not UTF-8) are opened as they are: fs takes a Buffer, not a Uint8Array.
    fd = openSync(
      typeof path === 'string' ? path : Buffer.from(path.buffer, path.byteOffset, path.byteLength),
      constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY,
    );
    const st = fstatSync(fd);
    if (!st.isFile()) return explicit ? { file: display, error: 'not a regular file' } : null;
    const head = Buffer.alloc(18);
    const got = readSync(fd, head, 0, 18, 0);
    if (got < 4 || head.readUInt32BE(0) !== MAGIC) {
      return explicit ? { file: display, error: 'not an ELF file' } : null;
    }
    // An object file (ET_REL) is not a program: a walk skips it as it skips archives (.a); named
    // on the command line, it gets its "cannot run" error from the reader.
    if (!explicit && got === 18 && (head[5] === 2 ? head.readUInt16BE(16) : head.readUInt16LE(16)) === ET_REL) return null;
    // Read lazily from here on: only what the reader looks at (src/elf/source.ts).
    const owned = fd;
    fd = undefined; // fromFd owns it now, and closes it if it refuses the file
    src = ElfFile.fromFd(display, owned, st.size);
  } catch (e) {
    if (e instanceof InputError) return { file: display, error: e.message.startsWith(`${display}: `) ? e.message.slice(display.length + 2) : e.message };
    const code = (e as NodeJS.ErrnoException).code;
    return { file: display, error: code === 'ENOENT' ? 'vanished before it was read (ENOENT)' : `cannot read: ${code ?? (e as Error).message}` };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  try {
    return checkElf(src, display, target, opts);
  } catch (e) {
    if (e instanceof InputError) return { file: display, error: e.message.startsWith(`${display}: `) ? e.message.slice(display.length + 2) : e.message };
    throw e;
  } finally {
    src.close();
  }
}
