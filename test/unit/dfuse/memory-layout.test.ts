import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMemoryLayout, pageAt, layoutSize } from '../../../src/formats/dfuse/index.ts';
import { UnbrickError } from '../../../src/core/errors.ts';

test('F405 internal flash string: 4x16K, 1x64K, 7x128K from 0x08000000', () => {
  const l = parseMemoryLayout('@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg');
  assert.equal(l.name, 'Internal Flash');
  assert.equal(layoutSize(l), 1024 * 1024);
  assert.deepEqual(
    l.segments.map((s) => [s.start, s.pageCount, s.pageSize]),
    [
      [0x08000000, 4, 16384],
      [0x08010000, 1, 65536],
      [0x08020000, 7, 131072],
    ],
  );
  assert.ok(l.segments.every((s) => s.readable && s.erasable && s.writable));
  assert.deepEqual(pageAt(l, 0x08020005)?.start, 0x08020000);
  assert.equal(pageAt(l, 0x08100000), undefined);
});

test('option bytes and OTP strings with byte units and "e" type', () => {
  const ob = parseMemoryLayout('@Option Bytes  /0x1FFFC000/01*016 e');
  assert.deepEqual([ob.segments[0]!.start, ob.segments[0]!.pageSize], [0x1fffc000, 16]);
  assert.equal(ob.segments[0]!.readable, true);
  assert.equal(ob.segments[0]!.erasable, false);
  assert.equal(ob.segments[0]!.writable, true);
  const otp = parseMemoryLayout('@OTP Memory /0x1FFF7800/01*512 e,01*016 e');
  assert.equal(layoutSize(otp), 528);
  const two = parseMemoryLayout('@Option Bytes  /0x1FFFC000/01*016 e/0x1FFEC000/01*016 e');
  assert.deepEqual(two.segments.map((s) => s.start), [0x1fffc000, 0x1ffec000]);
});

test('malformed descriptions are typed errors', () => {
  for (const bad of ['Internal Flash /0x0/1*1Kg', '@x', '@x/0x08000000/', '@x/zz/01*016Kg', '@x/0x0/01*016Kz', '@x/0x0/00*016Kg']) {
    assert.throws(() => parseMemoryLayout(bad), (e: unknown) => e instanceof UnbrickError && e.code === 'dfuse.bad-layout', bad);
  }
});
