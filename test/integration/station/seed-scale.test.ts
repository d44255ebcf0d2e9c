// The station's STM32 ROM-bootloader recipe at the seed device's scale: STM32L4 units (1 MiB flash)
// provisioned with the demo lab product's layout, a 24 KiB MCUboot in its 32 KiB and a 320 KiB
// application in its 448 KiB slot 0; written, read back, WRP over MCUboot, per-unit data in the
// storage area past the scratch partition.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wrpPagesFor } from '../../../src/station/recipes/stm32-rom.ts';
import { sha256Hex } from '../../../src/crypto/hash.ts';
import type { OptionBytePolicy } from '../../../src/formats/bundle/metadata.ts';
import { LAB_APP_BYTES, LAB_PRODUCT } from '../../../src/sim/lab/product.ts';
import { inProcessUnit, testImage } from './stm32-units.ts';
import { dataPool, provisionUnits, seedScaleRecipe, stationFolder } from './recipe-fixture.ts';

const { mcuboot, slot0, scratch } = LAB_PRODUCT.partitions;
const app = testImage(LAB_APP_BYTES, 2);

test('two STM32L4 units provisioned at the seed scale (320 KiB application in a 448 KiB slot)', { timeout: 120_000 }, async (t) => {
  const { dir, log } = stationFolder(t, 'unbrick-seed-');
  const pool = dataPool(t, dir, 'serial,mac\nS-1,02:00:00:00:00:01\nS-2,02:00:00:00:00:02\n');
  const units = [0, 1].map((i) => inProcessUnit('l476', 500 + i));
  t.after(() => units.forEach((u) => u.close()));
  const policy: OptionBytePolicy = { rdpLevel: 0, wrp: [{ start: mcuboot.address, end: mcuboot.address + mcuboot.size }] };
  const { recipe, boot } = seedScaleRecipe(app, policy);
  for (const { u, r } of await provisionUnits({ dir, log, recipe, batch: 'seed', station: 's', operator: 'op', parallel: 2, pool }, units)) {
    assert.equal(r.ok, true, r.reason);
    // Read at the L4's UID address from the chip table (the simulator answers there with the unit's UID).
    assert.equal(r.chipUid, u.uid);
    assert.deepEqual(r.hashes, { 'app.bin': sha256Hex(app), 'mcuboot.bin': sha256Hex(boot) });
    const flash = u.sim.chip.flash;
    assert.deepEqual(flash.read(slot0.address - mcuboot.address, app.length), app);
    assert.deepEqual(flash.read(0, boot.length), boot);
    const data = flash.read(scratch.address + scratch.size - mcuboot.address, 256);
    assert.equal((JSON.parse(new TextDecoder().decode(data.subarray(0, data.indexOf(0)))) as { serial: string }).serial, r.serial);
    assert.deepEqual([...u.sim.chip.wrp].sort((a, b) => a - b), wrpPagesFor(u.sim.chip.info, policy));
  }
});
