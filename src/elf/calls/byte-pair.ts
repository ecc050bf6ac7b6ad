/**
 * The x86 opcode pairs the call finders look for (ff 25: jmp *slot(%rip); ff 15: call
 * *slot(%rip)), searched by their second byte: 0xff is so common in code that a search for
 * the pair stops at nearly every byte (half the time of a 2-byte Buffer.indexOf on libcrypto,
 * libstdc++ and node).
 */
import type { Buffer } from 'node:buffer';

/** The first o >= from with buf[o] = b0 and buf[o + 1] = b1, or -1. */
export function nextPair(buf: Buffer, b0: number, b1: number, from: number): number {
  for (let i = buf.indexOf(b1, from + 1); i >= 0; i = buf.indexOf(b1, i + 1)) if (buf[i - 1] === b0) return i - 1;
  return -1;
}
