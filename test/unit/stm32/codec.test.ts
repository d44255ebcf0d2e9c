import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressFrame, extendedEraseFrame, legacyEraseFrame, readCountFrame, stm32Crc, writeDataFrame } from '../../../src/stm32/an3155/codec.ts';

// Byte traces from protocol.md (captured from stm32flash 0.7).
test('frames match the stm32flash traces in protocol.md', () => {
  assert.deepEqual(addressFrame(0x08000000), Uint8Array.of(0x08, 0, 0, 0, 0x08));
  assert.deepEqual(addressFrame(0x08000200), Uint8Array.of(0x08, 0, 0x02, 0, 0x0a));
  assert.deepEqual(readCountFrame(88), Uint8Array.of(0x57, 0xa8));
  assert.deepEqual(legacyEraseFrame('global'), Uint8Array.of(0xff, 0x00));
  assert.deepEqual(legacyEraseFrame([2, 3, 4, 5]), Uint8Array.of(0x03, 2, 3, 4, 5, 0x03));
  assert.deepEqual(legacyEraseFrame([0]), Uint8Array.of(0, 0, 0));
  assert.deepEqual(extendedEraseFrame({ special: 0xffff }), Uint8Array.of(0xff, 0xff, 0x00));
  assert.deepEqual(extendedEraseFrame({ special: 0xfffe }), Uint8Array.of(0xff, 0xfe, 0x01));
  assert.deepEqual(extendedEraseFrame({ special: 0xfffd }), Uint8Array.of(0xff, 0xfd, 0x02));
  assert.deepEqual(extendedEraseFrame([1, 2]), Uint8Array.of(0, 1, 0, 1, 0, 2, 0x02));
  assert.deepEqual(extendedEraseFrame([0]), Uint8Array.of(0, 0, 0, 0, 0));
  const w = writeDataFrame(Uint8Array.of(1, 2, 3, 4));
  assert.deepEqual(w, Uint8Array.of(3, 1, 2, 3, 4, 3 ^ 1 ^ 2 ^ 3 ^ 4));
});

// stm32flash's stm32_sw_crc, bit by bit, as the reference for the table-driven version.
function bitwiseCrc(buf: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < buf.length; i += 4) {
    crc = (crc ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24))) >>> 0;
    for (let k = 0; k < 32; k++) crc = crc & 0x80000000 ? ((crc << 1) ^ 0x04c11db7) >>> 0 : (crc << 1) >>> 0;
  }
  return crc;
}

test('STM32 CRC matches the bitwise reference and the CRC unit check value', () => {
  const data = Uint8Array.from({ length: 1024 }, (_, i) => (i * 31 + 7) & 0xff);
  assert.equal(stm32Crc(data), bitwiseCrc(data));
  // A zero word through the CRC unit from reset: the CRC-32/MPEG-2 value of four zero bytes.
  assert.equal(stm32Crc(new Uint8Array(4)), 0xc704dd7b);
  assert.throws(() => stm32Crc(new Uint8Array(3)));
});
