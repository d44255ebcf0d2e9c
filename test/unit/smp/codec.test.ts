/** Codec basics: CRC check value, CBOR both length styles, header bits, line cutting, chunk capacity vs the recorded limits. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CborMap, decodeCbor, decodeCborItem, encodeCbor } from '../../../src/smp/cbor.ts';
import { crc16xmodem, decodeFrame, encodeFrame, frameWireLength } from '../../../src/smp/frame.ts';
import { decodeHeader, encodeHeader } from '../../../src/smp/header.ts';
import { chunkCapacity } from '../../../src/smp/upload.ts';
import { zephyrFrame } from '../../../src/sim/smp/console.ts';
import { answerError } from '../../../src/smp/errors.ts';

test('CRC-16/XMODEM check value and the README echo example', () => {
  assert.equal(crc16xmodem(Buffer.from('123456789')), 0x31c3);
  const packet = Buffer.from('0200000900000000a161646568656c6c6f', 'hex');
  assert.equal(Buffer.from(encodeFrame(packet)).toString('latin1'), '\x06\x09ABMCAAAJAAAAAKFhZGVoZWxsbyVv\n');
});

test('CBOR: definite and indefinite maps, key order, integers of every width, bytes, text', () => {
  const v = new CborMap([['r', 'hello']], true);
  assert.equal(Buffer.from(encodeCbor(v)).toString('hex'), 'bf61726568656c6c6fff');
  assert.equal(Buffer.from(encodeCbor({ r: 'hello' })).toString('hex'), 'a161726568656c6c6f');
  for (const n of [0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, -1, -24, -25, -65537]) assert.equal(decodeCbor(encodeCbor(n)), n);
  assert.equal(decodeCbor(encodeCbor(2n ** 63n)), 2n ** 63n);
  const b = Uint8Array.from([1, 2, 3]);
  assert.deepEqual(decodeCbor(encodeCbor({ b, t: 'ü', a: [1, [2]], f: false, n: null })), { b, t: 'ü', a: [1, [2]], f: false, n: null });
  const item = decodeCborItem(Buffer.from('9f01ff', 'hex'));
  assert.equal(item.t === 'array' && item.indef, true);
  assert.deepEqual(decodeCbor(Buffer.from('7f62616262636cff', 'hex')), 'abcl');
});

test('header: op, version and reserved bits round-trip', () => {
  const h = { op: 2, version: 1, reserved: 5, flags: 0x5a, len: 300, group: 0x1234, seq: 0xff, id: 7 };
  assert.deepEqual(decodeHeader(encodeHeader(h)), h);
  assert.equal(encodeHeader(h)[0], 0b101_01_010);
});

test('lines hold whole base64 groups, at most 124 characters; wire length formula matches', () => {
  for (const n of [1, 50, 89, 90, 91, 92, 93, 200, 1021]) {
    const wire = encodeFrame(new Uint8Array(n).fill(7));
    assert.equal(wire.length, frameWireLength(n));
    assert.deepEqual(decodeFrame(wire), new Uint8Array(n).fill(7));
  }
});

test('Zephyr device line layout: 93 then 90 raw bytes per line, CRC kept whole', () => {
  for (const n of [10, 80, 87, 88, 89, 90, 91, 175, 176, 177, 178, 179, 254, 500]) {
    const data = Uint8Array.from({ length: n }, (_, i) => i & 0xff);
    const wire = zephyrFrame(data);
    assert.deepEqual(decodeFrame(wire), data, `n=${n}`);
    for (const line of Buffer.from(wire).toString('latin1').split('\n').slice(0, -1)) assert.ok(line.length + 1 <= 127);
  }
});

test('chunk capacity matches the recorded MCUboot limits (1025-byte frames, 513 in variant D)', () => {
  const first = { len: 25338, sha: new Uint8Array(32) };
  assert.equal(chunkCapacity(1021, 0, first), 954);
  assert.equal(chunkCapacity(1021, 0, { ...first, image: 1 }), 947);
  assert.equal(chunkCapacity(1021, 952), 997);
  assert.equal(chunkCapacity(1021, 70000), 995);
  assert.equal(chunkCapacity(509, 0, first), 442);
  assert.equal(chunkCapacity(509, 440), 485);
});

test('errors read in plain words for rc and err maps', () => {
  assert.match(answerError({ rc: 8 }, 'image erase')!.message, /does not support image erase/);
  assert.equal(answerError({ rc: 0, off: 5 }, 'x'), undefined);
  assert.match(answerError({ err: { group: 1, rc: 9 } }, 'Image erase')!.message, /no free slot/);
  assert.match(answerError({ rc: 6 }, 'Image test')!.message, /EBADSTATE/);
});
