/** AddedTo (src/elf/callgraph.ts): a walk's names grow from the fixed roots' without copying them. */
import assert from 'node:assert/strict';
import { AddedTo } from '../src/elf/callgraph.ts';

describe('AddedTo: a set grown from a shared base', () => {
  it('answers, counts and iterates as a copy of the base grown the same way, and never changes the base', () => {
    const base = new Set(['mmap', 'read', 'write']);
    const copy = new Set(base);
    const layered = new AddedTo(base);
    for (const n of ['open', 'read', 'close', 'open', 'mmap', 'ioctl']) {
      copy.add(n);
      assert.equal(layered.add(n), layered);
    }
    assert.deepEqual([...layered], [...copy]);
    assert.deepEqual([...layered.keys()], [...copy.keys()]);
    assert.deepEqual([...layered.entries()], [...copy.entries()]);
    assert.equal(layered.size, copy.size);
    for (const n of ['mmap', 'open', 'ioctl', 'fork', '']) assert.equal(layered.has(n), copy.has(n), n);
    const seen: string[] = [];
    layered.forEach((v, k, s) => {
      assert.equal(v, k);
      assert.equal(s, layered);
      seen.push(v);
    });
    assert.deepEqual(seen, [...copy]);
    assert.deepEqual([...base], ['mmap', 'read', 'write'], 'the base is shared by every walk: untouched');
  });
});
