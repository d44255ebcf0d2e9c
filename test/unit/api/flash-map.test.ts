/** The flash map (src/api/flash-map.ts): to scale, states in words, locks hatched, unreadable grey with "?". */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flashMapFromDiagnosis, renderFlashMap, withBundle } from '../../../src/api/flash-map.ts';
import type { Diagnosis } from '../../../src/api/contract.ts';

const KiB = 1024;
// An F4-class chip: sectors of 16, 64 and 128 KiB must be drawn to scale.
const f4Sizes = [16, 16, 16, 16, 64, 128, 128, 128].map((k) => k * KiB);
let a = 0x0800_0000;
const f4Sectors = f4Sizes.map((size, index) => {
  const s = { index, address: a, size, writeProtected: index < 2 };
  a += size;
  return s;
});

const f4: Diagnosis = {
  at: '2026-12-07T12:00:00.000Z',
  findings: [{ severity: 'ok', code: 'mcuboot.present', text: 'present' }],
  slots: [{ image: 0, slot: 0, state: 'valid', version: '1.2.0+0', flags: [] }],
  chip: { name: 'STM32F405', productId: '0x413', rdp: '0', sectors: f4Sectors, optionBytes: [{ name: 'RDP', value: '0xaa', meaning: 'level 0' }] },
  regions: [
    { name: 'bootloader', address: 0x0800_0000, size: 32 * KiB },
    { name: 'slot 0', address: 0x0802_0000, size: 128 * KiB },
    { name: 'slot 1', address: 0x0804_0000, size: 128 * KiB },
  ],
};

test('regions to scale with free space between, what each holds, and locks', () => {
  const m = flashMapFromDiagnosis(f4, 'stm32-rom', 'Gateway')!;
  assert.equal(m.toScale, true);
  assert.equal(m.size, 512 * KiB);
  assert.deepEqual(
    m.regions.map((r) => [r.name, r.holds, r.version, r.lock]),
    [
      ['bootloader (MCUboot)', 'valid', undefined, 'locked'],
      ['free', 'free', undefined, 'open'],
      ['slot 0', 'valid', '1.2.0', 'open'],
      ['slot 1', 'unknown', undefined, 'open'],
      ['free', 'free', undefined, 'open'],
    ],
  );
  const html = renderFlashMap(m, { idPrefix: 'x' });
  assert.match(html, /<svg[^>]+role="img"/);
  assert.match(html, /fill="url\(#x-hatch\)"/);
  assert.doesNotMatch(html, /style=/, 'no inline styles: the CSP forbids them');
  // A 128 KiB sector is drawn 8 times as wide as a 16 KiB one.
  const widths = [...html.matchAll(/class="fm-sector"[^>]* width="([\d.]+)"/g)].map((x) => Number(x[1]));
  assert.ok(Math.abs(widths[5]! / widths[0]! - 8) < 0.05, String(widths));
});

test('a readout-protected chip is grey with "?", its protection not drawn as open', () => {
  const d: Diagnosis = { ...f4, chip: { ...f4.chip!, rdp: '1', optionBytes: [], sectors: f4Sectors.map((s) => ({ ...s, writeProtected: false })) }, slots: [] };
  const m = flashMapFromDiagnosis(d, 'stm32-rom')!;
  assert.ok(m.regions.every((r) => r.holds === 'unknown' && r.lock === 'unknown'));
  assert.match(renderFlashMap(m), /\? Readout protection level 1/);
});

test('an SMP unit without a layout: its listed slots drawn equal, and the bundle placed on them with from → to', () => {
  const d: Diagnosis = { at: 'x', findings: [], slots: [{ image: 0, slot: 0, state: 'valid', version: '1.2.0', flags: ['active', 'confirmed'] }] };
  const m = withBundle(flashMapFromDiagnosis(d, 'zephyr-smp')!, {
    id: 'b',
    kind: 'update',
    product: 'P',
    version: '1.3.0',
    sequence: 2,
    expires: 'x',
    payloads: [{ name: 'app', target: 'smp:image0', version: '1.3.0+0' }],
  });
  assert.equal(m.toScale, false);
  assert.match(renderFlashMap(m), /1\.2\.0 → 1\.3\.0/);
});
