/**
 * The demo lab honours the framing a link asks for, as real UARTs do: the
 * STM32 ROM bootloader answers only 8E1 (it checks parity), an SMP console
 * only 8N1 at its own baud rate; the links the workflows open (LINE) work.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DemoLab } from '../../../src/sim/lab/lab.ts';
import { LAB_UNITS } from '../../../src/sim/lab/units.ts';
import { LINE } from '../../../src/devices/registry.ts';
import { connectStm32 } from '../../../src/stm32/session.ts';
import { SmpClient } from '../../../src/smp/client.ts';
import { UnbrickError } from '../../../src/core/errors.ts';

const units = LAB_UNITS.filter((u) => u.id === 'lab-mcuboot-erased' || u.id === 'lab-healthy-pending');

async function stm32Answers(lab: DemoLab, framing: Parameters<DemoLab['open']>[1]): Promise<string> {
  const link = await lab.open('lab-mcuboot-erased', framing);
  try {
    const s = await connectStm32(link, { replyMs: 300, baud: framing?.baudRate ?? 115200 });
    return s.chip.name;
  } catch (e) {
    return e instanceof UnbrickError ? e.code : String(e);
  } finally {
    await link.close();
  }
}

async function smpAnswers(lab: DemoLab, framing: Parameters<DemoLab['open']>[1]): Promise<string> {
  const link = await lab.open('lab-healthy-pending', framing);
  try {
    const c = new SmpClient(link, { baud: framing?.baudRate ?? 115200, timeoutMs: 400, retries: 1 });
    await c.request({ op: 'write', group: 0, id: 0, body: { d: 'framing' }, what: 'echo' });
    return 'answered';
  } catch (e) {
    return e instanceof UnbrickError ? e.code : String(e);
  } finally {
    await link.close();
  }
}

test('the lab fails a link opened with framing the unit does not speak, and serves the ones the workflows open', { timeout: 60_000 }, async (t) => {
  const lab = new DemoLab(units, { baud: 0 });
  t.after(() => lab.close());
  // 8N1 to the ROM bootloader: 0x7F passes (its parity bit is 1), Get (0x00 0xFF) arrives with parity errors.
  assert.match(await stm32Answers(lab, { parity: 'none', baudRate: 115200 }), /^stm32\.(timeout|no-bootloader|nack|garbled)$/);
  assert.equal(await stm32Answers(lab, LINE.stm32), 'STM32L47x/L48x');
  // Autobaud: the ROM bootloader takes the rate of the host's first 0x7F.
  assert.equal(await stm32Answers(lab, { ...LINE.stm32, baudRate: 57600 }), 'STM32L47x/L48x');
  assert.equal(await smpAnswers(lab, { parity: 'even', baudRate: 115200 }), 'smp.timeout');
  assert.equal(await smpAnswers(lab, { parity: 'none', baudRate: 9600 }), 'smp.timeout');
  assert.equal(await smpAnswers(lab, LINE.smp), 'answered');
});
