import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NorFlash, sectorsFromRuns } from '../../../src/sim/flash.ts';

test('programming only clears bits; erase restores the erased value', () => {
  const f = new NorFlash(sectorsFromRuns([[4, 1024]]));
  f.program(10, new Uint8Array([0xf0, 0x0f]));
  f.program(10, new Uint8Array([0x3c, 0xff]));
  assert.deepEqual(f.read(10, 2), new Uint8Array([0x30, 0x0f]));
  assert.equal(f.isErased(0, 10), true);
  f.eraseSector(0);
  assert.equal(f.isErased(0, 1024), true);
});

test('sector lookup over mixed sizes', () => {
  const f = new NorFlash(sectorsFromRuns([[4, 16384], [1, 65536], [7, 131072]]));
  assert.equal(f.size, 1024 * 1024);
  assert.equal(f.sectorAt(0), 0);
  assert.equal(f.sectorAt(16384 * 4), 4);
  assert.equal(f.sectorAt(16384 * 4 + 65536), 5);
  assert.equal(f.sectorAt(f.size), -1);
  assert.deepEqual(f.sectorsCovering(16000, 1000), [0, 1]);
  assert.throws(() => f.read(f.size - 1, 2), RangeError);
});
