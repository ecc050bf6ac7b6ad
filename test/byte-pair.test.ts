/** nextPair (src/elf/calls/byte-pair.ts): the call finders' search for ff 25 / ff 15 by the second byte. */
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { nextPair } from '../src/elf/calls/byte-pair.ts';

/** Every o >= from where the pair starts, by looking at each byte. */
function naive(buf: Buffer, b0: number, b1: number, from: number): number[] {
  const out: number[] = [];
  for (let o = Math.max(0, from); o + 1 < buf.length; o++) if (buf[o] === b0 && buf[o + 1] === b1) out.push(o);
  return out;
}

function all(buf: Buffer, b0: number, b1: number, from: number): number[] {
  const out: number[] = [];
  for (let o = nextPair(buf, b0, b1, from); o >= 0; o = nextPair(buf, b0, b1, o + 1)) out.push(o);
  return out;
}

describe('nextPair: a byte pair found by its second byte', () => {
  it('finds what a byte-by-byte look finds: at the start, at the end, after `from`, and in runs of the bytes', () => {
    const cases = [
      Buffer.from([0xff, 0x25, 0x00, 0xff, 0xff, 0x25, 0x25, 0xff, 0x25]),
      Buffer.from([0x25, 0x25, 0xff]),
      Buffer.from([0xff, 0x25]),
      Buffer.from([]),
    ];
    // Random code-like bytes, dense in both: every way a pair can overlap or be missed.
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 3;
    cases.push(Buffer.from(Array.from({ length: 4000 }, () => [0xff, 0x25, 0x15, 0x00][rnd()]!)));
    for (const buf of cases) {
      for (const from of [0, 1, 2, 3, 7, buf.length - 2, buf.length]) {
        if (from < 0) continue;
        assert.deepEqual(all(buf, 0xff, 0x25, from), naive(buf, 0xff, 0x25, from), `ff 25 from ${from} in ${buf.length} bytes`);
        assert.deepEqual(all(buf, 0xff, 0x15, from), naive(buf, 0xff, 0x15, from), `ff 15 from ${from}`);
      }
    }
  });
});
