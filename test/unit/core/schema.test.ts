import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arr, json, num, obj, opt, record, str } from '../../../src/core/schema.ts';
import { parseRequest } from '../../../src/api/protocol.ts';

test('strings, numbers and arrays are bounded', () => {
  assert.throws(() => str({ max: 3 }).parse('abcd'), /at most 3/);
  assert.throws(() => num({ int: true }).parse(1.5), /integer/);
  assert.throws(() => num().parse(Number.NaN), /finite/);
  assert.throws(() => arr(num(), { max: 2 }).parse([1, 2, 3]), /at most 2/);
  assert.deepEqual(arr(num()).parse([1, 2]), [1, 2]);
});

test('objects are strict, optional members may be absent, and the path is named', () => {
  const s = obj({ a: num(), b: opt(str()) });
  assert.deepEqual(s.parse({ a: 1 }), { a: 1 });
  assert.throws(() => s.parse({ a: 1, c: 2 }), /unexpected field c/);
  assert.throws(() => s.parse({ a: 'x' }), /a must be a finite number/);
  assert.throws(() => s.parse(Object.create({ a: 1 })), /must be an object/, 'class instances and odd prototypes are refused');
});

test('JSON values are bounded in depth, and __proto__ keys stay plain data', () => {
  let deep: unknown = 1;
  for (let i = 0; i < 20; i++) deep = [deep];
  assert.throws(() => json().parse(deep), /nested at most 8 deep/);
  const evil = JSON.parse('{"__proto__": {"polluted": true}, "x": 1}');
  const parsed = json().parse(evil) as Record<string, unknown>;
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.getPrototypeOf(parsed), Object.prototype);
  assert.deepEqual(Object.keys(parsed).sort(), ['__proto__', 'x']);
  const rec = record(json()).parse(evil) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(rec), Object.prototype);
  // A request carrying a __proto__ member in its params is refused as an unexpected field.
  assert.throws(() => parseRequest(JSON.parse('{"type":"request","id":1,"method":"app.info","params":{"__proto__":{"x":1}}}')), /unexpected field/);
});
