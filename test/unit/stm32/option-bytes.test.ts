import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHIPS, chipByPid, unitCount } from '../../../src/stm32/chips/index.ts';
import {
  CODECS,
  decodeOptionBytes,
  encodeOptionBytes,
  factoryOptionImage,
  RDP2_CONFIRMATION,
  validateOptionBytes,
  type OptionBytes,
} from '../../../src/stm32/option-bytes/index.ts';
import { UnbrickError } from '../../../src/core/errors.ts';

const strip = (ob: OptionBytes) => ({ ...ob, image: undefined });

// One representative chip per layout, plus every chip for the factory round trip.
const byLayout = new Map(CHIPS.map((c) => [c.optionBytes.layout, c]));

test('every layout in the chip table has a codec', () => {
  for (const c of CHIPS) assert.ok(CODECS[c.optionBytes.layout], c.optionBytes.layout);
});

for (const chip of CHIPS) {
  test(`${chip.name}: factory image decodes as level 0, unprotected, and round-trips`, () => {
    const img = factoryOptionImage(chip);
    const ob = decodeOptionBytes(chip, img);
    assert.equal(ob.rdp.level, 0);
    assert.deepEqual(ob.wrpPages, []);
    assert.deepEqual(ob.badComplements, []);
    const again = decodeOptionBytes(chip, encodeOptionBytes(chip, ob));
    assert.deepEqual(strip(again), strip(ob));
    assert.deepEqual(encodeOptionBytes(chip, ob), img);
  });
}

for (const [layout, chip] of byLayout) {
  test(`${layout}: edited option bytes (RDP 1, WRP, USER bits) survive decode -> encode -> decode`, () => {
    const codec = CODECS[layout];
    const ob = decodeOptionBytes(chip, factoryOptionImage(chip));
    // Protect the first WRP unit (whole group) and the last page, flip every USER field.
    const per = chip.flash.wrpPagesPerUnit ?? 1;
    const total = unitCount(chip);
    const wrp = Array.from({ length: per }, (_, i) => i);
    const edited: OptionBytes = { ...ob, rdp: { raw: codec.rdpRaw(1), level: 1 }, wrpPages: wrp, user: { ...ob.user } };
    for (const f of codec.userFields(chip)) edited.user[f.name] = (ob.user[f.name]! + 1) % 2 ** f.width;
    assert.deepEqual(validateOptionBytes(chip, edited), []);
    const img = encodeOptionBytes(chip, edited);
    const back = decodeOptionBytes(chip, img);
    assert.equal(back.rdp.level, 1);
    assert.deepEqual(back.wrpPages, wrp);
    assert.deepEqual(back.user, edited.user);
    assert.deepEqual(back.badComplements, []);
    assert.deepEqual(strip(decodeOptionBytes(chip, encodeOptionBytes(chip, back))), strip(back));
    assert.ok(total > per);
  });
}

test('F1 medium density: WRP bit 0 = pages 0-3, active low; complements are checked', () => {
  const chip = chipByPid(0x410)!;
  const img = factoryOptionImage(chip);
  img[8] = 0xfe; // WRP0 bit 0 cleared
  img[9] = 0x01;
  const ob = decodeOptionBytes(chip, img);
  assert.deepEqual(ob.wrpPages, [0, 1, 2, 3]);
  img[0] = 0x00; // RDP changed without its complement
  assert.deepEqual(decodeOptionBytes(chip, img).badComplements, ['RDP']);
});

test('F4: nWRP bit i protects sector i; F42x dual bank covers sectors 12-23', () => {
  const f405 = chipByPid(0x413)!;
  const ob = decodeOptionBytes(f405, factoryOptionImage(f405));
  const img = encodeOptionBytes(f405, { ...ob, wrpPages: [0, 5, 11] });
  assert.equal(img[8]! | (img[9]! << 8), 0x0fff & ~(1 | (1 << 5) | (1 << 11)));
  const f429 = chipByPid(0x419)!;
  const ob2 = decodeOptionBytes(f429, factoryOptionImage(f429));
  assert.deepEqual(decodeOptionBytes(f429, encodeOptionBytes(f429, { ...ob2, wrpPages: [12, 23] })).wrpPages, [12, 23]);
});

test('L4 dual bank: areas are per bank; more runs than areas is refused', () => {
  const chip = chipByPid(0x415)!;
  const ob = decodeOptionBytes(chip, factoryOptionImage(chip));
  const pages = [0, 1, 2, 10, 256, 300, 301];
  const back = decodeOptionBytes(chip, encodeOptionBytes(chip, { ...ob, wrpPages: pages }));
  assert.deepEqual(back.wrpPages, pages);
  assert.equal(back.words.WRP1AR! & 0xff, 0);
  assert.equal((back.words.WRP1AR! >> 16) & 0xff, 2);
  assert.equal(back.words.WRP2AR! & 0xff, 0); // page 256 = bank-2 offset 0
  assert.match(validateOptionBytes(chip, { ...ob, wrpPages: [0, 2, 4] }).join(' '), /2 write-protection areas/);
});

test('L0/L1 WRP is active high', () => {
  const chip = chipByPid(0x416)!;
  const ob = decodeOptionBytes(chip, factoryOptionImage(chip));
  const img = encodeOptionBytes(chip, { ...ob, wrpPages: Array.from({ length: 16 }, (_, i) => i) });
  assert.equal(img[8], 0x01); // bit 0 set = sector 0 (16 pages) protected
});

test('a WRP group must be protected whole', () => {
  const chip = chipByPid(0x410)!;
  const ob = decodeOptionBytes(chip, factoryOptionImage(chip));
  assert.match(validateOptionBytes(chip, { ...ob, wrpPages: [1] }).join(' '), /together/);
  assert.throws(() => encodeOptionBytes(chip, { ...ob, wrpPages: [1] }), (e: unknown) => e instanceof UnbrickError && e.code === 'stm32.ob-invalid');
});

test('RDP level 2 is never encoded without the explicit confirmation constant', () => {
  for (const [layout, chip] of byLayout) {
    const codec = CODECS[layout];
    if (layout === 'F1') {
      assert.throws(() => codec.rdpRaw(2));
      continue;
    }
    const ob = decodeOptionBytes(chip, factoryOptionImage(chip));
    const l2 = { ...ob, rdp: { raw: 0xcc, level: 2 as const } };
    assert.throws(() => encodeOptionBytes(chip, l2), (e: unknown) => e instanceof UnbrickError && e.code === 'stm32.rdp2-needs-confirmation', layout);
    // A near miss (typo) of the phrase is refused too.
    assert.throws(() => encodeOptionBytes(chip, l2, { confirmRdpLevel2: (RDP2_CONFIRMATION.slice(0, -1) + 'X') as typeof RDP2_CONFIRMATION }));
    const img = encodeOptionBytes(chip, l2, { confirmRdpLevel2: RDP2_CONFIRMATION });
    assert.equal(decodeOptionBytes(chip, img).rdp.level, 2);
  }
});
