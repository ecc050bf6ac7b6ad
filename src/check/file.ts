/** Checking one file on disk: read, skip non-ELF files (by magic), turn input errors into results. */
import { closeSync, readSync } from 'node:fs';
import { ElfFile } from '../elf/source.ts';
import { openRegularFile } from '../util/read-input.ts';
import { InputError } from '../errors.ts';
import type { TargetDef } from '../policy/types.ts';
import { checkElf } from './analyze.ts';
import type { CheckOptions, CheckResult } from './types.ts';

const MAGIC = 0x7f454c46;

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
export function checkFile(path: string, display: string, target: TargetDef, opts: CheckOptions, explicit: boolean): CheckResult | null {
  let src: ElfFile;
  try {
    // A regular file only (a FIFO never blocks us), under a size cap; read lazily, only what
    // the reader needs (the magic first: a walk meets big archives that are never read whole).
    src = ElfFile.open(path);
    src.ensure(0, 4);
    const h = src.bytes;
    if (h.byteLength < 4 || ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0 !== MAGIC) {
      src.close();
      return explicit ? { file: display, error: 'not an ELF file' } : null;
    }
  } catch (e) {
    if (!explicit) return null;
    if (e instanceof InputError) return { file: display, error: e.message.startsWith(`${path}: `) ? e.message.slice(path.length + 2) : e.message };
    return { file: display, error: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
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
