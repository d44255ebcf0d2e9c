import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rdpAaCc, wordFields } from '../../../src/stm32/option-bytes/common.ts';
import { CHIPS } from '../../../src/stm32/chips/index.ts';
import { codecFor } from '../../../src/stm32/option-bytes/index.ts';

test('wordFields: a bare position is one bit with the shared meaning; a tuple gives width, own words and parts; order is kept', () => {
  assert.deepEqual(wordFields('OPTR', { nRST_STOP: 12, BOR_LEV: [8, 3, 'threshold'], BFB2: [20, 1, undefined, 'dual-bank parts'] }), [
    { name: 'nRST_STOP', word: 'OPTR', shift: 12, width: 1, meaning: '1 = no reset on entering Stop' },
    { name: 'BOR_LEV', word: 'OPTR', shift: 8, width: 3, meaning: 'threshold' },
    { name: 'BFB2', word: 'OPTR', shift: 20, width: 1, meaning: 'dual-bank boot', parts: 'dual-bank parts' },
  ]);
});

test('wordFields: a field with neither its own nor a shared meaning is refused', () => {
  assert.throws(() => wordFields('OPTR', { NO_SUCH_BIT: 3 }), /NO_SUCH_BIT has no meaning/);
});

test('every family table names each field once, inside its 32-bit word, with words to show', () => {
  for (const chip of CHIPS) {
    const fields = codecFor(chip).userFields(chip);
    const names = fields.map((f) => f.name);
    assert.equal(new Set(names).size, names.length, `${chip.name}: ${names.join()}`);
    const slots = new Set(codecFor(chip).slots(chip).map((s) => s.name));
    for (const f of fields) {
      assert.ok(slots.has(f.word), `${chip.name} ${f.name}: no slot ${f.word}`);
      assert.ok(f.shift >= 0 && f.width >= 1 && f.shift + f.width <= 32, `${chip.name} ${f.name}`);
      assert.ok(f.meaning.length > 0, `${chip.name} ${f.name}`);
    }
  }
});

test('rdpAaCc: 0xAA level 0, 0xCC level 2, anything else level 1, written as 0xBB unless the family says otherwise', () => {
  const std = rdpAaCc('OPTCR', 8);
  assert.deepEqual(std.rdpField, { word: 'OPTCR', shift: 8 });
  assert.deepEqual([0xaa, 0xcc, 0xbb, 0x00, 0x55].map(std.rdpLevel), [0, 2, 1, 1, 1]);
  assert.deepEqual(([0, 1, 2] as const).map(std.rdpRaw), [0xaa, 0xbb, 0xcc]);
  assert.equal(rdpAaCc('RDP', 0, 0x00).rdpRaw(1), 0x00);
});
