/**
 * The x86-64 call graph's pieces (src/elf/callgraph.ts, src/elf/sites/x86-refs.ts): whether a
 * stretch runs on into the next one, and the byte-wise rel32 pass skipping an offset by the top
 * byte of its word alone (topBytes): a word in the range its targets allow must never be
 * skipped, or a call is lost (a false PASS); for the spans real images have it must rule most
 * bytes out. (The rel32 pass end to end: check.test.ts, libhidden.c.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { STRETCH_FALLS, STRETCH_PADDING } from '../src/elf/graph/types.ts';
import { RefSweep, x86Refs } from '../src/elf/sites/x86-refs.ts';

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
