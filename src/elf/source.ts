/**
 * The bytes of an ELF file on disk, read only where the reader looks.
 *
 * The kernel and ld.so read the headers and the ranges they map, never the whole file, and
 * neither should we: a 112 MB library needs a few MB for its imports, and a sparse 1 GiB file
 * (headers, a tiny program, then a hole) must not cost 1 GiB of memory.
 *
 * `bytes` spans the whole file but starts zero-filled, in pages the kernel commits only when
 * written (`zeroed`). `ensure(off, len)` reads the 64 KiB blocks
 * covering a range, once each, a run of up to 1 MiB per read straight into `bytes` (no copy:
 * a directory check reads about 1.5 GB). Each range of `bytes` is written only by the read of
 * its own file offset, so nothing stale can land in it (a short read leaves zeros, which is
 * what the file has past its end). A hole reads as zeros, and zeros read into `bytes` commit
 * its pages: after ZERO_STREAK zero blocks in a row, blocks are read one at a time into a
 * scratch buffer and copied only when not all zero, until one is not, so a hole commits one
 * run (1 MiB) at most.
 */
import { Buffer } from 'node:buffer';
import { closeSync, readSync } from 'node:fs';
import { InputError } from '../errors.ts';
import { openRegularFile } from '../util/read-input.ts';

/** Largest ELF file read: below 2 GiB, the largest typed array every Node version allocates. */
export const MAX_ELF_BYTES = 2 ** 31 - 1;
const BLOCK = 1 << 16;
/** Most blocks one read takes. */
const RUN = 16;
/** Zero blocks in a row before reading stops committing them (see above). */
const ZERO_STREAK = 4;
const ZERO = Buffer.alloc(BLOCK);

/** Files from this size on get their bytes from their own mapping (see zeroed). */
const OWN_MAPPING = 1 << 20;
const WASM_PAGE = 1 << 16;

/**
 * `size` zero bytes whose pages are committed only when written, and returned to the system
 * when the buffer is collected. Buffer.alloc is calloc: glibc raises its mmap threshold to
 * the size of each mapped block freed (up to 32 MiB), so after the first large file freed,
 * the next ones come from its arenas, calloc clears them there (committing every page, read
 * or not), and free keeps the pages. A WebAssembly.Memory is its own zero mapping and is
 * unmapped when collected: a directory check's peak RSS fell by about 130 MB (issue 13).
 * Without WebAssembly (--jitless) or address space for it (ulimit -v), calloc it is.
 */
function zeroed(size: number): Buffer {
  if (size >= OWN_MAPPING && typeof WebAssembly === 'object') {
    try {
      return Buffer.from(new WebAssembly.Memory({ initial: Math.ceil(size / WASM_PAGE) }).buffer, 0, size);
    } catch {
      // RangeError: no room to reserve it
    }
  }
  return Buffer.alloc(size);
}

/** What the reader needs from its input: the bytes, and a way to make a range of them real. */
export interface ElfBytes {
  readonly bytes: Uint8Array;
  /** Makes [off, off+len) hold the file's bytes. The range is inside `bytes` (callers check). */
  ensure(off: number, len: number): void;
}

/** An ELF file opened for lazy reading. Call `close()` when done (the bytes stay usable). */
export class ElfFile implements ElfBytes {
  /** Typed as Uint8Array, not Buffer: the Node API's declarations must not need @types/node. */
  readonly bytes: Uint8Array;
  private readonly buf: Buffer;
  private readonly loaded: Uint8Array;
  private scratch: Buffer | undefined;
  /** All-zero blocks read in a row, up to ZERO_STREAK. */
  private zeros = 0;
  private fd: number | undefined;

  private constructor(
    readonly path: string,
    fd: number,
    size: number,
  ) {
    this.fd = fd;
    this.buf = zeroed(size);
    this.bytes = this.buf;
    this.loaded = new Uint8Array(Math.ceil(size / BLOCK));
  }

  /** Opens `path` (a regular file only: a FIFO or device is an InputError, never a hang). */
  static open(path: string): ElfFile {
    const { fd, size } = openRegularFile(path, 'ELF file');
    return ElfFile.fromFd(path, fd, size);
  }

  /** Takes over `fd`, a regular file of `size` bytes the caller opened (closed here on error). */
  static fromFd(path: string, fd: number, size: number): ElfFile {
    if (size > MAX_ELF_BYTES) {
      closeSync(fd);
      throw new InputError(`${path}: ELF file is ${size} bytes, over the limit of ${MAX_ELF_BYTES} (2 GiB - 1)`);
    }
    return new ElfFile(path, fd, size);
  }

  ensure(off: number, len: number): void {
    if (len <= 0) return;
    const last = Math.min(this.loaded.length - 1, Math.floor((off + len - 1) / BLOCK));
    for (let i = Math.floor(off / BLOCK); i <= last; ) {
      if (this.loaded[i]) {
        i++;
        continue;
      }
      let j = i + 1;
      while (j <= last && j - i < RUN && !this.loaded[j]) j++;
      if (this.zeros >= ZERO_STREAK) {
        this.readScratch(i);
        j = i + 1;
      } else this.readRun(i, j);
      this.loaded.fill(1, i, j);
      i = j;
    }
  }

  /** Reads everything (small files, or callers that want all bytes). */
  ensureAll(): void {
    this.ensure(0, this.bytes.byteLength);
  }

  /** Bytes read from the file so far (whole blocks). */
  loadedBytes(): number {
    let n = 0;
    for (let i = 0; i < this.loaded.length; i++) if (this.loaded[i]) n += Math.min(BLOCK, this.bytes.byteLength - i * BLOCK);
    return n;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** Reads blocks [i, j) straight into `bytes`. */
  private readRun(i: number, j: number): void {
    const start = i * BLOCK;
    const want = Math.min(j * BLOCK, this.bytes.byteLength) - start;
    const got = this.read(this.buf, start, want, start);
    for (let k = i; k < j; k++) {
      const at = k * BLOCK;
      const n = Math.max(0, Math.min(BLOCK, start + got - at));
      this.zeros = n > 0 && this.buf.compare(ZERO, 0, n, at, at + n) === 0 ? Math.min(this.zeros + 1, ZERO_STREAK) : 0;
    }
  }

  /** Reads block i into the scratch buffer, and copies it into `bytes` unless all zero. */
  private readScratch(i: number): void {
    const scratch = (this.scratch ??= Buffer.allocUnsafe(BLOCK));
    const start = i * BLOCK;
    const got = this.read(scratch, 0, Math.min(BLOCK, this.bytes.byteLength - start), start);
    if (got > 0 && scratch.compare(ZERO, 0, got, 0, got) !== 0) {
      scratch.copy(this.buf, start, 0, got);
      this.zeros = 0;
    }
  }

  /** Reads up to `want` bytes of the file at `pos` into `into` at `at`; the count read (less at the file's end). */
  private read(into: Buffer, at: number, want: number, pos: number): number {
    if (this.fd === undefined) throw new Error(`${this.path}: read after close`);
    let got = 0;
    while (got < want) {
      let n: number;
      try {
        n = readSync(this.fd, into, at + got, want - got, pos + got);
      } catch (e) {
        throw new InputError(`${this.path}: cannot read ELF file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      if (n === 0) break; // the file shrank: the rest stays zero
      got += n;
    }
    return got;
  }
}

/** Bytes already in memory: nothing to load. */
export function inMemory(bytes: Uint8Array): ElfBytes {
  return { bytes, ensure: () => {} };
}
