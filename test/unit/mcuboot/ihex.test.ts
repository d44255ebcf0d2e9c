/** Intel HEX reader/writer: round trips, addressing records, and typed errors for damage. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refusal } from '../../helpers/errors.ts';
import { flattenSegments, parseIntelHex, writeIntelHex } from '../../../src/formats/ihex.ts';

test('round trip across a 64 KiB boundary with gaps and a start address', () => {
  const a = new Uint8Array(300).map((_, i) => i & 0xff);
  const b = new Uint8Array(40).fill(0xab);
  const hex = { segments: [{ address: 0x0800ff80, data: a }, { address: 0x08020000, data: b }], startAddress: 0x08000101 };
  const text = writeIntelHex(hex);
  assert.match(text, /^:020000040800F2$/m);
  assert.match(text, /^:020000040801F1$/m, 'new upper address record at the boundary');
  const back = parseIntelHex(text);
  assert.deepEqual(back, hex);
  const flat = flattenSegments(back.segments, 0xff);
  assert.equal(flat.address, 0x0800ff80);
  assert.equal(flat.data.length, 0x08020000 + 40 - 0x0800ff80);
  assert.equal(flat.data[300], 0xff);
  assert.equal(flat.data[flat.data.length - 1], 0xab);
});

test('segment (type 02) addressing and CRLF line ends', () => {
  const t = ':020000021000EC\r\n:0400000001020304F2\r\n:00000001FF\r\n';
  assert.deepEqual(parseIntelHex(t).segments, [{ address: 0x10000, data: Uint8Array.of(1, 2, 3, 4) }]);
});

test('damaged files are typed input errors naming the problem', () => {
  const damaged: [string, string][] = [
    [':0400000001020304F3\n:00000001FF\n', 'ihex.bad-checksum'],
    ['hello\n', 'ihex.bad-record'],
    [':0500000001020304F2\n', 'ihex.bad-length'],
    [':0400000001020304F2\n:0400020001020304F0\n:00000001FF\n', 'ihex.overlap'],
    [':00000001FF\n:0400000001020304F2\n', 'ihex.data-after-eof'],
    [':00000009F7\n', 'ihex.unknown-record'],
    ['', 'ihex.empty'],
  ];
  for (const [text, code] of damaged) {
    const e = refusal(() => parseIntelHex(text));
    assert.deepEqual([e.kind, e.code], ['input', code], JSON.stringify(text));
  }
});
