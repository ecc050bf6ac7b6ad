/**
 * Bytes held until later, packed: Brotli at quality 1 (a few hundred MB per second each way;
 * check's reports and library analyses repeat themselves, 5 to 17 to 1). The packed bytes
 * have an ArrayBuffer of their own, exactly their size, so they can be transferred.
 */
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';

/** `text`: the bytes are UTF-8 text (Brotli's text mode). */
export function pack(bytes: Uint8Array, text = false): Uint8Array<ArrayBuffer> {
  const params = { [constants.BROTLI_PARAM_QUALITY]: 1, ...(text ? { [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT } : {}) };
  return new Uint8Array(brotliCompressSync(bytes, { params }));
}

/** What pack packed. */
export function unpack(packed: Uint8Array): Buffer {
  return brotliDecompressSync(packed);
}
