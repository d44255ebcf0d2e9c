import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadFirmware } from '../../../src/formats/firmware-file.ts';
import { buildDfuFile } from '../../../src/formats/dfuse/index.ts';
import { writeIntelHex } from '../../../src/formats/ihex.ts';
import { UnbrickError } from '../../../src/core/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'fw-'));
const data = new Uint8Array(300).map((_, i) => i & 0xff);
const typed = (code: string) => (e: unknown) => e instanceof UnbrickError && e.code === code;

test('.bin needs an address and keeps the bytes', () => {
  const p = join(dir, 'a.bin');
  writeFileSync(p, data);
  assert.throws(() => loadFirmware(p), typed('firmware.address-required'));
  assert.deepEqual(loadFirmware(p, 0x08004000).segments, [{ address: 0x08004000, data }]);
});

test('.hex and .dfu carry their addresses; --address is refused for them', () => {
  const hex = join(dir, 'a.hex');
  writeFileSync(hex, writeIntelHex({ segments: [{ address: 0x08000000, data }] }));
  assert.deepEqual(loadFirmware(hex).segments, [{ address: 0x08000000, data }]);
  assert.throws(() => loadFirmware(hex, 0x08000000), typed('firmware.address-not-allowed'));
  const dfu = join(dir, 'a.dfu');
  writeFileSync(
    dfu,
    buildDfuFile({
      vendorId: 0x0483,
      productId: 0xdf11,
      deviceVersion: 0xffff,
      targets: [
        { alternateSetting: 0, elements: [{ address: 0x08008000, data }] },
        { alternateSetting: 1, elements: [{ address: 0x1fffc000, data: new Uint8Array(16) }] },
      ],
    }),
  );
  const f = loadFirmware(dfu);
  assert.equal(f.format, 'dfu');
  assert.deepEqual(f.segments, [{ address: 0x08008000, data }], 'only the flash target is a raw write');
});

test('a missing file is an input error', () => {
  assert.throws(() => loadFirmware(join(dir, 'nope.bin'), 0), typed('firmware.unreadable'));
});
