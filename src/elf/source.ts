/**
 * The bytes of an ELF file on disk, read only where the reader looks.
 *
 * The kernel and ld.so read the headers and the ranges they map, never the whole file, and
 * neither should we: a 112 MB library needs a few MB for its imports, and a sparse 1 GiB file
 * (headers, a tiny program, then a hole) must not cost 1 GiB of memory.
 *
 * `bytes` spans the whole file but starts zero-filled (Buffer.alloc of a large size is calloc,
 * whose pages the kernel commits only when written). `ensure(off, len)` reads the 64 KiB blocks
 * covering a range, once each; a block read as all zeros is not copied, so holes stay
 * uncommitted. Each block is read into a scratch buffer and only the bytes that read returned
 * are copied, so nothing stale from an earlier block can land in another (a short read leaves
 * zeros, which is what the file has past its end).
 */
import { Buffer } from 'node:buffer';
import { closeSync, readSync } from 'node:fs';
import { InputError } from '../errors.ts';
import { openRegularFile } from '../util/read-input.ts';

/** Largest ELF file read: below 2 GiB, the largest typed array every Node version allocates. */
export const MAX_ELF_BYTES = 2 ** 31 - 1;
const BLOCK = 1 << 16;
const ZERO = Buffer.alloc(BLOCK);

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
  private readonly scratch = Buffer.allocUnsafe(BLOCK);
  private fd: number | undefined;

  private constructor(
    readonly path: string,
    fd: number,
    size: number,
  ) {
    this.fd = fd;
    this.buf = Buffer.alloc(size);
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
    for (let i = Math.floor(off / BLOCK); i <= last; i++) {
      if (this.loaded[i]) continue;
      this.readBlock(i);
      this.loaded[i] = 1;
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

  private readBlock(i: number): void {
    if (this.fd === undefined) throw new Error(`${this.path}: read after close`);
    const start = i * BLOCK;
    const want = Math.min(BLOCK, this.bytes.byteLength - start);
    let got = 0;
    while (got < want) {
      let n: number;
      try {
        n = readSync(this.fd, this.scratch, got, want - got, start + got);
      } catch (e) {
        throw new InputError(`${this.path}: cannot read ELF file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      if (n === 0) break; // the file shrank: the rest stays zero
      got += n;
    }
    if (got > 0 && this.scratch.compare(ZERO, 0, got, 0, got) !== 0) this.scratch.copy(this.buf, start, 0, got);
  }
}

/** Bytes already in memory: nothing to load. */
export function inMemory(bytes: Uint8Array): ElfBytes {
  return { bytes, ensure: () => {} };
}
