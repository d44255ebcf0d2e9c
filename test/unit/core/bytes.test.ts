import { test } from 'node:test';
import assert from 'node:assert/strict';
import { takeBytes } from '../../../src/core/bytes.ts';

test('takeBytes: joins whole chunks, splits the last one it reads in part, and leaves the rest queued', () => {
  const q = [Uint8Array.of(1, 2), Uint8Array.of(3, 4, 5), Uint8Array.of(6)];
  assert.deepEqual([...takeBytes(q, 3)], [1, 2, 3]);
  assert.deepEqual(q.map((c) => [...c]), [[4, 5], [6]]);
  assert.deepEqual([...takeBytes(q, 3)], [4, 5, 6]);
  assert.equal(q.length, 0);
  assert.deepEqual([...takeBytes(q, 0)], []);
});
