import assert from 'node:assert/strict';
import { doubled } from '../src/util/typed-grow.ts';

describe('doubled: a typed array twice as long, same type, same first entries', () => {
  it('keeps the entries and the element type, and zero-fills the new half', () => {
    const a = Float64Array.from([1.5, -2, Number.NaN]);
    const b = doubled(a);
    assert.ok(b instanceof Float64Array);
    assert.equal(b.length, 16, 'at least 16');
    assert.deepEqual([...b.subarray(0, 3)], [1.5, -2, Number.NaN]);
    assert.deepEqual([...b.subarray(3)], new Array(13).fill(0));
    const c = doubled(new Int32Array(1024).fill(-7));
    assert.ok(c instanceof Int32Array);
    assert.equal(c.length, 2048);
    assert.equal(c[1023], -7);
    assert.equal(c[1024], 0);
    assert.notEqual(doubled(a).buffer, a.buffer, 'a copy, not a view');
  });
});
