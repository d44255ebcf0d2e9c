/**
 * Detect and diagnose on the demo lab's STM32 units, through the real AN3155
 * client and the STM32 bootloader simulator (in-process cable).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppCore } from '../../../src/app/app-core.ts';
import { DemoLab } from '../../../src/sim/lab/lab.ts';
import { LAB_UNITS } from '../../../src/sim/lab/units.ts';
import type { JobSnapshot } from '../../../src/api/contract.ts';

async function labCore(t: { after(fn: () => unknown): void }, ids: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-diag-'));
  const c = new AppCore({ dataDir: dir, lab: new DemoLab(LAB_UNITS.filter((u) => ids.includes(u.id)), { baud: 0 }), operator: 't@b', autoDetect: false });
  t.after(async () => {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return c;
}

async function run(c: AppCore, workflow: 'detect' | 'diagnose', id: string): Promise<JobSnapshot> {
  const s = c.startJob(workflow, id, {});
  await c.job(s.id).done();
  return c.job(s.id).snapshot();
}

test('detect identifies the STM32 units by their ROM bootloader', { timeout: 30_000 }, async (t) => {
  const c = await labCore(t, ['lab-mcuboot-erased', 'lab-rdp1']);
  for (const id of ['lab-mcuboot-erased', 'lab-rdp1']) {
    const j = await run(c, 'detect', id);
    assert.equal(j.state, 'succeeded', j.error?.message);
    const d = c.devices.list().find((x) => x.id === id)!;
    assert.equal(d.kind, 'stm32-rom');
    assert.match(d.summary, /STM32L47x/);
    const learned = c.devices.get(id).learned;
    assert.equal(learned.find((l) => l.name === 'product id')?.value, '0x415');
  }
});

test('diagnose the unit whose MCUboot was erased: missing bootloader, WRP on, slot 0 valid', { timeout: 30_000 }, async (t) => {
  const c = await labCore(t, ['lab-mcuboot-erased']);
  await run(c, 'detect', 'lab-mcuboot-erased');
  const j = await run(c, 'diagnose', 'lab-mcuboot-erased');
  assert.equal(j.state, 'succeeded', j.error?.message);
  const codes = j.result!.findings!.map((f) => `${f.severity}:${f.code}`);
  assert.deepEqual(codes, ['ok:stm32.rdp-0', 'critical:mcuboot.missing', 'warning:stm32.bootloader-wrp', 'ok:slot.valid', 'info:slot.empty']);
  assert.match(j.result!.findings![2]!.text, /Bootloader pages are write-protected \(pages 0-15\)/);
  assert.match(j.result!.findings![3]!.text, /Slot 0 holds a valid image 1\.2\.0/);
  const d = c.devices.get('lab-mcuboot-erased').diagnosis!;
  assert.equal(d.chip!.rdp, '0');
  assert.deepEqual(
    d.chip!.sectors.filter((s) => s.writeProtected).map((s) => s.index),
    Array.from({ length: 16 }, (_, i) => i),
  );
  assert.equal(d.slots![0]!.state, 'valid');
  assert.match(d.slots![0]!.hash!, /^[0-9a-f]{64}$/);
  assert.equal(c.devices.list()[0]!.health, 'critical');
  // Recorded, with the findings.
  const e = c.log.verify().entries.at(-1)!;
  assert.equal(e.action, 'diagnose');
  assert.equal(e.unit.chip, 'STM32L47x/L48x');
});

test('diagnose the RDP level 1 unit: says flash cannot be read and what unbrick would do', { timeout: 30_000 }, async (t) => {
  const c = await labCore(t, ['lab-rdp1']);
  await run(c, 'detect', 'lab-rdp1');
  const j = await run(c, 'diagnose', 'lab-rdp1');
  assert.equal(j.state, 'succeeded', j.error?.message);
  assert.deepEqual(
    j.result!.findings!.map((f) => f.code),
    ['stm32.rdp-1'],
  );
  assert.match(j.result!.findings![0]!.action!, /erases the whole chip/);
  assert.equal(c.devices.get('lab-rdp1').diagnosis!.chip!.rdp, '1');
});

test('diagnose refuses, with the reason, before the device is identified', { timeout: 30_000 }, async (t) => {
  const c = await labCore(t, ['lab-rdp1']);
  const j = await run(c, 'diagnose', 'lab-rdp1');
  assert.equal(j.state, 'refused');
  assert.match(j.error!.message, /still being identified/);
});
