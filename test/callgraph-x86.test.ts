/**
 * The x86-64 call graph's pieces (src/elf/callgraph.ts, src/elf/sites/x86-refs.ts): whether a
 * stretch runs on into the next one, and the byte-wise rel32 pass skipping an offset by the top
 * byte of its word alone (topBytes): a word in the range its targets allow must never be
 * skipped, or a call is lost (a false PASS); for the spans real images have it must rule most
 * bytes out. (The rel32 pass end to end: check.test.ts, libhidden.c.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { topBytes } from '../src/elf/callgraph.ts';
import { STRETCH_FALLS, STRETCH_PADDING } from '../src/elf/graph/types.ts';
import { RefSweep, x86Refs } from '../src/elf/sites/x86-refs.ts';
import { prng } from './helpers/prng.ts';

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

describe('callgraph rel32 pass: topBytes', () => {
  it('admits the top byte of every int32 in the range, at its ends and across byte boundaries', () => {
    const rnd = prng(13);
    const cases: [number, number][] = [
      [-5, 5],
      [0, 0],
      [-1, -1],
      [-(2 ** 24), 2 ** 24 - 1],
      [-(2 ** 24) - 1, 2 ** 24],
      [2 ** 24 - 3, 2 ** 25 + 3],
      [INT32_MIN, INT32_MIN + 10],
      [INT32_MAX - 10, INT32_MAX],
    ];
    for (let k = 0; k < 200; k++) {
      const a = Math.floor(rnd() * 2 ** 32) + INT32_MIN;
      const w = Math.floor(rnd() * 2 ** (4 + Math.floor(rnd() * 26)));
      cases.push([a, Math.min(INT32_MAX, a + w)]);
    }
    for (const [min, max] of cases) {
      const top = topBytes(min, max);
      const probes = [min, max, min + 1, max - 1, Math.floor((min + max) / 2)];
      for (let k = 0; k < 50; k++) probes.push(min + Math.floor(rnd() * (max - min + 1)));
      for (const w of probes) {
        if (w < min || w > max) continue;
        const b3 = (w >>> 24) & 0xff; // the byte at o + 3 of the little-endian word
        assert.equal(top[b3], 1, `w ${w} in [${min}, ${max}]: top byte ${b3.toString(16)} ruled out`);
      }
    }
  });

  it('rules out all but the top bytes a few-MB image can have', () => {
    // Code and slots 3 MB wide, words anywhere in it: rel32 within +-3 MB.
    const top = topBytes(-3_000_000, 3_000_000);
    assert.deepEqual(
      [...top.keys()].filter((b) => top[b]),
      [0x00, 0xff],
    );
    // A 40 MB span (libLLVM-sized): four values.
    const wide = topBytes(-40_000_000, 40_000_000);
    assert.deepEqual(
      [...wide.keys()].filter((b) => wide[b]),
      [0x00, 0x01, 0x02, 0xfd, 0xfe, 0xff],
    );
  });

  it('rules out nothing when the range says nothing: wider than int32, or empty', () => {
    assert.equal(
      topBytes(-(2 ** 40), 2 ** 40).reduce((n, x) => n + x, 0),
      256,
    );
    assert.equal(
      topBytes(INT32_MIN, INT32_MAX).reduce((n, x) => n + x, 0),
      256,
    );
    assert.equal(
      topBytes(10, -10).reduce((n, x) => n + x, 0),
      256,
    );
  });
});

describe('callgraph (x86-64): whether a stretch runs on into the next', () => {
  // Both readings of a stretch: decoded on its own (x86Refs) and read from the region's sweep.
  const flags = (bytes: number[]) => {
    const b = Uint8Array.from(bytes);
    const r = x86Refs(b, 0, b.length, 0x1000);
    const f = new RefSweep(b, 0, b.length, 0x1000, []).visit(
      0,
      b.length,
      () => {},
      () => {},
    );
    assert.equal((f & STRETCH_FALLS) !== 0, r.fallsThrough, 'the sweep and x86Refs agree on falls');
    assert.equal((f & STRETCH_PADDING) !== 0, r.padding, 'the sweep and x86Refs agree on padding');
    return r;
  };
  const PUSH_SLOT = [0xff, 0x35, 0xca, 0xcf, 0x01, 0x00];
  const JMP_SLOT = [0xff, 0x25, 0xcc, 0xcf, 0x01, 0x00];
  const NOPL = [0x0f, 0x1f, 0x40, 0x00];

  it("the lazy PLT's first stub (push; jmp *; nopl) stops: its padding never runs into the first entry", () => {
    const r = flags([...PUSH_SLOT, ...JMP_SLOT, ...NOPL]);
    assert.equal(r.fallsThrough, false);
    assert.equal(r.padding, false);
    assert.equal(flags([0xc3, 0xcc, 0xcc, 0x90]).fallsThrough, false, 'ret, then int3 and nop padding');
    assert.equal(flags([0x0f, 0x0b, ...NOPL]).fallsThrough, false, 'ud2, then nopl');
  });

  it('code that runs on still does, padding after it or not; padding alone is padding', () => {
    assert.equal(flags([0xe8, 0, 0, 0, 0, 0x90]).fallsThrough, true, 'a call returns into the nop');
    assert.equal(flags([0x48, 0x89, 0xc7, ...NOPL]).fallsThrough, true, 'mov, then nopl');
    assert.equal(flags([...JMP_SLOT, 0x90, 0x48, 0x89, 0xc7]).fallsThrough, true, 'code after the padding runs on');
    assert.equal(flags([0xc3, 0x06]).fallsThrough, true, 'a byte that does not decode: fail closed');
    const pad = flags([0x90, ...NOPL, 0xcc]);
    assert.equal(pad.padding, true);
  });
});
