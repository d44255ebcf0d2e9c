// The demo lab's STM32 units, attached to an in-process cable as the lab does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPipe } from '../../../src/sim/lab/pipe.ts';
import { createStm32LabUnit } from '../../../src/sim/stm32/index.ts';
import { connectStm32 } from '../../../src/stm32/session.ts';
import * as ops from '../../../src/stm32/operations.ts';

test('lab unit "rdp-level-1": an F103 whose flash cannot be read until unprotected (which erases it)', async () => {
  const unit = createStm32LabUnit('rdp-level-1');
  const cable = createPipe('lab cable');
  unit.attach(cable.device);
  const s = await connectStm32(cable.host, { replyMs: 300 });
  assert.equal(s.chip.pid, 0x410);
  assert.equal(await ops.probeReadout(s), 1);
  await ops.readoutUnprotect(s);
  assert.equal(await ops.probeReadout(s), 0);
  assert.ok(unit.sim.chip.flash.isErased(0, unit.sim.chip.flash.size));
  await unit.dispose();
});

test('lab unit "mcuboot-erased-wrp": an F405 with sectors 0-1 erased and write-protected', async () => {
  const unit = createStm32LabUnit('mcuboot-erased-wrp');
  const cable = createPipe('lab cable');
  unit.attach(cable.device);
  const s = await connectStm32(cable.host, { replyMs: 300 });
  const ob = await ops.readOptionBytes(s);
  assert.deepEqual(ob.wrpPages, [0, 1]);
  assert.ok(unit.sim.chip.flash.isErased(0, 0x8000));
  assert.ok(!unit.sim.chip.flash.isErased(0x8000, 1024));
  await unit.dispose();
});
