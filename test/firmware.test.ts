import assert from 'node:assert/strict';
import semverSatisfies from 'semver/functions/satisfies.js';
import { compareFirmware, isValidRange, satisfiesRange } from '../src/policy/firmware.ts';
import { prng } from './helpers/prng.ts';

describe('firmware ranges', () => {
  it('the fast path agrees with semver on the forms targets use', () => {
    const rng = prng(7);
    const n = (max: number) => Math.floor(rng() * max);
    const versions: string[] = [];
    for (let a = 12; a <= 14; a++) for (let b = 0; b <= 9; b++) for (let c = 0; c <= 3; c++) versions.push(`${a}.${b}.${c}`);
    const part = () => [`${12 + n(3)}`, `${12 + n(3)}.${n(10)}`, `${12 + n(3)}.${n(10)}.${n(4)}`][n(3)]!;
    const comparator = () => `${['', '<', '<=', '>', '>=', '='][n(6)]}${rng() < 0.1 ? 'v' : ''}${part()}`;
    const ranges = ['*', '<13.7', '>=13.7', '13.7', '<=13.7', '>13.7', '>=13.4 <13.7', '<13.5 || >=13.7', '13', '=13.7.2'];
    for (let i = 0; i < 400; i++) {
      const set = () => Array.from({ length: 1 + n(2) }, comparator).join(' ');
      ranges.push(Array.from({ length: 1 + n(2) }, set).join(' || '));
    }
    for (const r of ranges) {
      for (const v of versions) assert.equal(satisfiesRange(v, r), semverSatisfies(v, r), `${v} in '${r}'`);
    }
  });

  it('passes other forms to semver', () => {
    assert.equal(satisfiesRange('13.7.0', '^13.5.0'), true);
    assert.equal(satisfiesRange('13.7.0', '~13.5'), false);
    assert.equal(satisfiesRange('13.7.0', '13.4 - 13.8'), true);
    assert.equal(isValidRange('^13'), true);
    assert.equal(isValidRange('13.x.y.z'), false);
    assert.equal(isValidRange('nonsense'), false);
  });

  it('compares normalised versions numerically', () => {
    assert.equal(compareFirmware('13.10.0', '13.9.0'), 1);
    assert.equal(compareFirmware('13.7.0', '13.7.0'), 0);
    assert.equal(compareFirmware('2.0.0', '13.0.0'), -1);
  });
});
