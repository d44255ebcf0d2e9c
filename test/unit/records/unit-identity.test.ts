import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unitFacts, unitMatches } from '../../../src/records/unit-identity.ts';
import { unitIdentity, IDENTITY } from '../../../src/devices/identity.ts';

const HASH = 'a'.repeat(8) + 'b'.repeat(56);

test('a unit is filed under its chip UID, else its serial, else its USB serial, else the device id', () => {
  const port = { name: IDENTITY.usbSerial, value: 'FT12AB' };
  assert.equal(unitIdentity('port:/dev/ttyUSB0', []).id, 'port:/dev/ttyUSB0');
  assert.equal(unitIdentity('port:/dev/ttyUSB0', [port]).id, 'FT12AB');
  assert.equal(unitIdentity('port:/dev/ttyUSB0', [port, { name: IDENTITY.serial, value: 'SN-7' }]).id, 'SN-7');
  const u = unitIdentity('port:/dev/ttyUSB0', [port, { name: IDENTITY.serial, value: 'SN-7' }, { name: IDENTITY.chipUid, value: 'ABCDEF' }, { name: IDENTITY.imageHash, value: HASH }, { name: 'chip', value: 'STM32L47x' }], '/dev/ttyUSB0');
  assert.deepEqual(u, { id: 'abcdef', device: 'port:/dev/ttyUSB0', usbSerial: 'FT12AB', serial: 'SN-7', chipUid: 'abcdef', imageHashes: [HASH], chip: 'STM32L47x', port: '/dev/ttyUSB0' });
});

test('records find a unit by key, chip UID (any case), serial, USB serial or an image hash prefix', () => {
  const u = unitIdentity('port:/dev/ttyUSB0', [{ name: IDENTITY.usbSerial, value: 'FT12AB' }, { name: IDENTITY.serial, value: 'SN-7' }, { name: IDENTITY.chipUid, value: 'abcdef' }, { name: IDENTITY.imageHash, value: HASH }]);
  for (const q of ['abcdef', 'ABCDEF', 'SN-7', 'FT12AB', HASH, HASH.slice(0, 8)]) assert.ok(unitMatches(u, q), q);
  for (const q of ['', 'abcde', 'SN', HASH.slice(0, 7), 'port:/dev/ttyUSB1']) assert.ok(!unitMatches(u, q), q);
});

test("entries written before the typed fields ('chip uid', 'adapter serial') stay searchable", () => {
  const old = { id: 'abcdef', 'chip uid': 'abcdef', 'adapter serial': 'FT12AB', serial: 'SN-7', port: '/dev/ttyUSB0' };
  assert.deepEqual(unitFacts(old), { id: 'abcdef', chipUid: 'abcdef', usbSerial: 'FT12AB', serial: 'SN-7', imageHashes: [] });
  assert.ok(unitMatches(old, 'FT12AB'));
  assert.ok(unitMatches(old, 'ABCDEF'));
  assert.deepEqual(unitFacts(undefined), { id: '-', imageHashes: [] });
});
