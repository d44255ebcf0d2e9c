// The station's STM32 ROM-bootloader recipe at the seed device's scale: STM32L4 units (1 MiB flash)
// provisioned with the demo lab product's layout, a 24 KiB MCUboot in its 32 KiB and a 320 KiB
// application in its 448 KiB slot 0; written, read back, WRP over MCUboot, per-unit data in the
// storage area past the scratch partition.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { Station } from '../../../src/station/station.ts';
import { LocalDataPool } from '../../../src/station/local-pool.ts';
import { parseCsvEntries } from '../../../src/station/data-source.ts';
import { ServiceLog } from '../../../src/records/service-log.ts';
import { unitRows } from '../../../src/station/unit-record.ts';
import { stm32RomRecipe, wrpPagesFor } from '../../../src/station/recipes/stm32-rom.ts';
import { connectStm32 } from '../../../src/stm32/session.ts';
import type { BundleMetadata, OptionBytePolicy } from '../../../src/formats/bundle/metadata.ts';
import { LAB_APP_BYTES, LAB_PRODUCT } from '../../../src/sim/lab/product.ts';
import { inProcessUnit, simPort, testImage, type SimUnitHandle } from './stm32-units.ts';

const { mcuboot, slot0, scratch } = LAB_PRODUCT.partitions;
const boot = testImage(24 * 1024, 1);
const app = testImage(LAB_APP_BYTES, 2);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function metadata(policy: OptionBytePolicy): BundleMetadata {
  const p = (name: string, role: 'bootloader' | 'stm32-region', address: number, data: Uint8Array) => ({ name, role, target: { kind: 'address' as const, address }, size: data.length, sha256: sha(data) });
  return {
    type: 'unbrick.bundle',
    specVersion: 1,
    kind: 'provisioning',
    product: { vendorId: '00000000-0000-0000-0000-000000000001', classId: '00000000-0000-0000-0000-000000000002', name: 'Seed gateway', hardwareRevisions: ['A'] },
    version: '1.0.0',
    sequence: 1,
    created: '2026-11-01T00:00:00Z',
    expires: '2027-11-01T00:00:00Z',
    releaseNotes: '',
    payloads: [p('mcuboot.bin', 'bootloader', mcuboot.address, boot), p('app.bin', 'stm32-region', slot0.address, app)],
    provisioning: { optionBytes: policy },
  };
}

test('two STM32L4 units provisioned at the seed scale (320 KiB application in a 448 KiB slot)', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-seed-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pool = LocalDataPool.open({ entries: parseCsvEntries('serial,mac\nS-1,02:00:00:00:00:01\nS-2,02:00:00:00:00:02\n'), journalPath: join(dir, 'pool.journal') });
  t.after(() => void pool.close());
  const log = ServiceLog.inDir(dir);
  const units = [0, 1].map((i) => inProcessUnit('l476', 500 + i));
  t.after(() => units.forEach((u) => u.close()));
  const policy: OptionBytePolicy = { rdpLevel: 0, wrp: [{ start: mcuboot.address, end: mcuboot.address + mcuboot.size }] };
  const recipe = stm32RomRecipe({
    metadata: metadata(policy),
    payloads: new Map([
      ['mcuboot.bin', boot],
      ['app.bin', app],
    ]),
    // The storage area past the scratch partition holds the unit's data.
    dataAddress: scratch.address + scratch.size,
    connect: async (handle) => {
      const link = await (handle as SimUnitHandle).open();
      return { session: await connectStm32(link, { replyMs: 1000, writeAckMs: 2000 }), link, close: () => link.close() };
    },
    uidAddress: (chip) => chip.flash.end - 16,
  });
  const st = Station.open({ dir, log, recipe, batch: 'seed', station: 's', operator: 'op', parallel: 2, pool });
  st.updatePorts(units.map((u, i) => simPort(`p${i}`, u)));
  await st.idle();
  const rows = unitRows(log.verify().entries, 'seed');
  assert.equal(rows.length, 2);
  for (const [i, u] of units.entries()) {
    const r = rows.find((x) => x.port === `p${i}`)!;
    assert.equal(r.ok, true, r.reason);
    assert.deepEqual(r.hashes, { 'app.bin': sha(app), 'mcuboot.bin': sha(boot) });
    const flash = u.sim.chip.flash;
    assert.deepEqual(flash.read(slot0.address - mcuboot.address, app.length), app);
    assert.deepEqual(flash.read(0, boot.length), boot);
    const data = flash.read(scratch.address + scratch.size - mcuboot.address, 256);
    assert.equal((JSON.parse(new TextDecoder().decode(data.subarray(0, data.indexOf(0)))) as { serial: string }).serial, r.serial);
    assert.deepEqual([...u.sim.chip.wrp].sort((a, b) => a - b), wrpPagesFor(u.sim.chip.info, policy));
  }
});
