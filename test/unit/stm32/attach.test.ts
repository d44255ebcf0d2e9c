// The simulator hosted in-process on a cable, as the demo lab does (attach to
// the device end of a pipe), including a power cycle between sessions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPipe } from '../../../src/sim/lab/pipe.ts';
import { createStm32Simulator } from '../../../src/sim/stm32/index.ts';
import { connectStm32 } from '../../../src/stm32/session.ts';
import * as ops from '../../../src/stm32/operations.ts';

test('attach(): a readout-protected F103 on an in-process cable, unprotected, then power-cycled', async () => {
  const sim = createStm32Simulator({ chip: 'f103', timeScale: 0.01 });
  sim.chip.flash.program(0, new Uint8Array(4096).fill(0x5a));
  sim.chip.setReadoutProtect();
  sim.reset();
  const cable = createPipe('lab cable');
  sim.attach(cable.device);
  const s = await connectStm32(cable.host, { replyMs: 300 });
  assert.equal(s.chip.pid, 0x410);
  assert.equal(await ops.probeReadout(s), 1);
  await ops.readoutUnprotect(s);
  assert.equal(await ops.probeReadout(s), 0);
  assert.ok(sim.chip.flash.isErased(0, sim.chip.flash.size));

  sim.reset(); // power cycle: the bootloader waits for 0x7F again
  assert.equal(sim.phase, 'wait-sync');
  const again = createPipe('second cable');
  sim.attach(again.device);
  const s2 = await connectStm32(again.host, { replyMs: 300 });
  assert.equal(s2.info.version, 0x22);
  sim.close();
});
