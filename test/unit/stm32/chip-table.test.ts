import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CHIPS, chipByPid } from '../../../src/stm32/chips/index.ts';

// The typed table must agree with the reference data, field by field.
type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const ref = JSON.parse(readFileSync(new URL('../../../../shared/vectors/stm32/chips.json', import.meta.url), 'utf8')) as { chips: J[] };
const hex = (s: string | null) => (s === null ? null : parseInt(s, 16));

test('the chip table has exactly the reference chips', () => {
  assert.equal(CHIPS.length, ref.chips.length);
  assert.deepEqual(CHIPS.map((c) => c.pid).sort(), ref.chips.map((c) => hex(c.pid)).sort());
});

for (const r of ref.chips) {
  test(`chip ${r.pid} ${r.name} matches chips.json`, () => {
    const c = chipByPid(hex(r.pid)!);
    assert.ok(c, 'present');
    assert.equal(c.family, r.family);
    assert.equal(c.name, r.name);
    assert.equal(c.flash.start, hex(r.flash.start));
    assert.equal(c.flash.end, hex(r.flash.end));
    assert.equal(c.flash.size, r.flash.size);
    assert.equal(c.flash.banks, r.flash.banks);
    assert.equal(c.flash.layout, r.flash.layout);
    assert.equal(c.flash.writeProtectUnit, r.flash.writeProtectUnit);
    const m = /^(\d+) (page|sector)/.exec(r.flash.writeProtectUnit);
    assert.equal(c.flash.wrpPagesPerUnit, m ? Number(m[1]) : null);
    if (c.flash.layout === 'uniform') {
      assert.equal(c.flash.pageSize, r.flash.pageSize);
      assert.equal(c.flash.pageCount, r.flash.pageCount);
      assert.equal(c.flash.pageSize * c.flash.pageCount, r.flash.size);
    } else {
      assert.deepEqual(c.flash.sectorSizes, r.flash.sectorSizes);
      assert.equal(c.flash.sectorSizes.length, r.flash.sectorCount);
    }
    assert.equal(c.flash.end - c.flash.start, r.flash.size);
    assert.equal(c.bootloaderRam.freeStart, hex(r.bootloaderRam.freeStart));
    assert.equal(c.bootloaderRam.end, hex(r.bootloaderRam.end));
    assert.equal(c.systemMemory.start, hex(r.systemMemory.start));
    assert.equal(c.systemMemory.end, hex(r.systemMemory.end));
    assert.equal(c.optionBytes.start, hex(r.optionBytes.start));
    assert.equal(c.optionBytes.endInclusive, hex(r.optionBytes.endInclusive));
    assert.equal(c.optionBytes.layout, r.optionBytes.layout);
    assert.equal(c.bootloader.eraseCommand, hex(r.bootloader.eraseCommand));
    assert.equal(c.bootloader.globalEraseSupported, r.bootloader.globalEraseSupported);
    assert.deepEqual(c.bootloader.typicalGetCommands, r.bootloader.typicalGetCommands.map(hex));
    const v = r.bootloader.usartProtocolVersion as string | undefined;
    assert.equal(c.bootloader.usartProtocolVersion, v ? parseInt(v.slice(2, 4), 16) : null);
    const t = r.flashTiming as J | undefined;
    if (!t) assert.equal(c.flashTiming, null);
    else {
      assert.deepEqual(c.flashTiming?.pageEraseMs, t.pageErase_ms);
      assert.deepEqual(c.flashTiming?.massEraseMs, t.massErase_ms);
      assert.deepEqual(c.flashTiming?.halfwordProgramUs, t.halfwordProgram_us);
      assert.deepEqual(c.flashTiming?.doublewordProgramUs, t.doublewordProgram_us);
      assert.deepEqual(c.flashTiming?.wordProgramMs, t.wordProgram_ms);
      assert.deepEqual(c.flashTiming?.x32?.sector128KMs, t.x32?.sector128K_ms);
      assert.deepEqual(c.flashTiming?.x32?.sector16KMs, t.x32?.sector16K_ms);
      assert.deepEqual(c.flashTiming?.x32?.sector64KMs, t.x32?.sector64K_ms);
      assert.deepEqual(c.flashTiming?.x32?.massEraseMs, t.x32?.massErase_ms);
      assert.deepEqual(c.flashTiming?.x8?.massEraseMs, t.x8?.massErase_ms);
      assert.equal(c.flashTiming?.source, t.source);
    }
  });
}
