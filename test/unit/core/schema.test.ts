import { test } from 'node:test';
import assert from 'node:assert/strict';
import { anyOf, arr, editDistance, hexBytes, json, nearestKey, num, obj, opt, parseAs, parseJsonAs, record, refine, str, utcTime } from '../../../src/core/schema.ts';
import type { UnbrickError } from '../../../src/core/errors.ts';
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
  assert.throws(() => s.parse({ a: 1, c: 2 }), /unknown field "c"; known fields: a, b/);
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
  assert.throws(() => parseRequest(JSON.parse('{"type":"request","id":1,"method":"app.info","params":{"__proto__":{"x":1}}}')), /unknown field "params.__proto__"/);
});

test('an unknown key names its path and the known key it most likely meant', () => {
  const s = obj({ hardwareRevision: opt(str()), serial: opt(str()), nested: opt(obj({ baudRate: num() })) });
  const err = (v: unknown) => {
    try {
      parseAs(s, v, { what: 'dev.json', code: 'device-id.invalid' });
    } catch (e) {
      return e as UnbrickError;
    }
    assert.fail('accepted');
  };
  const abbrev = err({ hardwareRev: 'Z' });
  assert.equal(abbrev.code, 'device-id.invalid');
  assert.match(abbrev.message, /^dev\.json: unknown field "hardwareRev" \(did you mean "hardwareRevision"\?\)/);
  assert.deepEqual([abbrev.details?.path, abbrev.details?.suggestion], ['hardwareRev', 'hardwareRevision']);
  const swapped = err({ nested: { baudRtae: 1 } });
  assert.deepEqual([swapped.details?.path, swapped.details?.suggestion], ['nested.baudRtae', 'nested.baudRate']);
  const far = err({ colour: 'red' });
  assert.equal(far.details?.suggestion, undefined, 'no suggestion when nothing is near');
  assert.match(far.message, /known fields: hardwareRevision, serial, nested/);
  assert.equal(nearestKey('x'.repeat(10_000), ['x']), undefined, 'hostile long keys are not compared');
  assert.equal(editDistance('ab', 'ba'), 1);
  assert.equal(editDistance('kitten', 'sitting'), 3);
});

test('JSON text is bounded and malformed JSON is its own typed error', () => {
  const s = obj({ a: num({ int: true }) });
  assert.deepEqual(parseJsonAs(s, '{"a":1}', { what: 'x.json' }), { a: 1 });
  assert.throws(() => parseJsonAs(s, '{"a":', { what: 'x.json' }), (e: UnbrickError) => e.code === 'input.invalid-json' && /^x\.json: not valid JSON/.test(e.message));
  assert.throws(() => parseJsonAs(s, '{', { what: 'y.json', code: 'y.bad' }), (e: UnbrickError) => e.code === 'y.bad', 'the input\'s own code, when it has one');
  assert.throws(() => parseJsonAs(s, `{"a":${'1'.repeat(100)}}`, { what: 'x.json', maxChars: 50 }), /x\.json: larger than 50 characters/);
  assert.throws(() => parseJsonAs(s, '{"a":1.5}', { what: 'x.json' }), /x\.json: a must be an integer/);
  assert.throws(() => parseJsonAs(s, '{"a":"1"}', { what: 'x.json' }), /a must be a finite number \(got string\)/, 'types are exact: no string-to-number coercion');
});

test('refinements, small unions, times and record keys', () => {
  const even = refine(num({ int: true }), (n) => (n % 2 === 0 ? undefined : 'an even number'));
  assert.equal(even.parse(4), 4);
  assert.throws(() => even.parse(3), /must be an even number/);
  const idOrName = anyOf(num({ int: true }), str({ max: 4 }));
  assert.equal(idOrName.parse(7), 7);
  assert.equal(idOrName.parse('abc'), 'abc');
  assert.throws(() => idOrName.parse(true), /must be number \| string/);
  assert.equal(utcTime().parse('2026-01-02T03:04:05Z'), '2026-01-02T03:04:05Z');
  assert.throws(() => utcTime().parse('2026-13-02T03:04:05Z'), /valid UTC time/);
  assert.throws(() => hexBytes(2).parse('abcde'), /at most 4/);
  assert.throws(() => record(num(), { key: str({ max: 3 }) }).parse({ long: 1 }), /key "long" must be a string of at most 3/);
});
