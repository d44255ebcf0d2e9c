/**
 * What the station recipe tests share: a provisioning bundle's metadata as the
 * recipes take it (already verified, so nothing is signed here), a station
 * folder with its service log and data pool, and the in-process connections
 * the recipes open to simulated units.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Hex } from '../../../src/crypto/hash.ts';
import type { BundleMetadata, OptionBytePolicy } from '../../../src/formats/bundle/metadata.ts';
import { LocalDataPool } from '../../../src/station/local-pool.ts';
import { parseCsvEntries } from '../../../src/station/data-source.ts';
import { ServiceLog } from '../../../src/records/service-log.ts';
import { unitRows } from '../../../src/station/unit-record.ts';
import { Station, type StationOptions } from '../../../src/station/station.ts';
import { stm32RomRecipe } from '../../../src/station/recipes/stm32-rom.ts';
import { connectStm32 } from '../../../src/stm32/session.ts';
import { SmpClient } from '../../../src/smp/client.ts';
import { connectInProcess } from '../../../src/sim/zephyr/index.ts';
import { LAB_PRODUCT } from '../../../src/sim/lab/product.ts';
import { simPort, testImage, type SimUnitHandle } from './stm32-units.ts';

export interface Cleanup {
  after(fn: () => void): void;
}

/** The products these bundles are for: STM32 units written through the ROM bootloader, MCUboot gateways. */
export const WIDGET = { classId: '00000000-0000-0000-0000-000000000002', name: 'Widget' };
export const SEED_GATEWAY = { classId: '00000000-0000-0000-0000-000000000002', name: 'Seed gateway' };
export const GATEWAY = { classId: '00000000-0000-0000-0000-000000000003', name: 'Gateway' };
export const NO_PROTECTION: OptionBytePolicy = { rdpLevel: 0, wrp: [] };

/** A provisioning bundle's metadata (sequence 1, valid from 2026-11-01 for a year); `extra` adds or overrides fields. */
export function provisioningMetadata(product: { classId: string; name: string }, version: string, payloads: BundleMetadata['payloads'], extra: Partial<BundleMetadata> = {}): BundleMetadata {
  return {
    type: 'unbrick.bundle',
    specVersion: 1,
    kind: 'provisioning',
    product: { vendorId: '00000000-0000-0000-0000-000000000001', classId: product.classId, name: product.name, hardwareRevisions: ['A'] },
    version,
    sequence: 1,
    created: '2026-11-01T00:00:00Z',
    expires: '2027-11-01T00:00:00Z',
    releaseNotes: '',
    payloads,
    ...extra,
  };
}

/** An STM32 payload written at a flash address. */
export const addressPayload = (name: string, role: 'bootloader' | 'stm32-region', address: number, data: Uint8Array) => ({
  name,
  role,
  target: { kind: 'address' as const, address },
  size: data.length,
  sha256: sha256Hex(data),
});

/** An MCUboot image (app.bin) uploaded over SMP to image 0. */
export const smpImagePayload = (img: { bytes: Uint8Array; hash: Uint8Array }, version: string) => ({
  name: 'app.bin',
  role: 'mcuboot-image' as const,
  target: { kind: 'smp' as const, image: 0, slot: 0 },
  size: img.bytes.length,
  sha256: '',
  version,
  imageHash: Buffer.from(img.hash).toString('hex'),
});

/** A station folder for one test (removed after it) and the service log in it. */
export function stationFolder(t: Cleanup, prefix: string): { dir: string; log: ServiceLog } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, log: ServiceLog.inDir(dir) };
}

/** A local data pool of the CSV's entries, journaled in `dir` (closed after the test). */
export function dataPool(t: Cleanup, dir: string, csv: string): LocalDataPool {
  const pool = LocalDataPool.open({ entries: parseCsvEntries(csv), journalPath: join(dir, 'pool.journal') });
  t.after(() => void pool.close());
  return pool;
}

/** Runs a station over one unit on port p0 until it is done and stopped; the batch's unit records. */
export async function runOneUnit(o: StationOptions, handle: unknown) {
  const st = Station.open(o);
  st.updatePorts([{ id: 'p0', handle }]);
  await st.idle();
  await st.stop();
  return unitRows(o.log.verify().entries, o.batch);
}

/** Runs a station over these simulated STM32 units (unit i on port p<i>) until idle: each unit with its one record. */
export async function provisionUnits<U extends SimUnitHandle>(o: StationOptions, units: U[]) {
  const st = Station.open(o);
  st.updatePorts(units.map((u, i) => simPort(`p${i}`, u)));
  await st.idle();
  const rows = unitRows(o.log.verify().entries, o.batch);
  assert.equal(rows.length, units.length);
  return units.map((u, i) => ({ u, r: rows.find((x) => x.port === `p${i}`)! }));
}

// Generous answer times: the simulators share two cores with every other test running at once.
/** The STM32 recipe's connection to a simulated unit (an AN3155 session). */
export async function stm32Connect(handle: unknown) {
  const link = await (handle as SimUnitHandle).open();
  return { session: await connectStm32(link, { replyMs: 1000, writeAckMs: 2000 }), link, close: () => link.close() };
}

/** The SMP recipe's connection to a simulated Zephyr unit, in-process. */
export async function smpConnect(handle: unknown) {
  const link = connectInProcess(handle as Parameters<typeof connectInProcess>[0], { baud: 0 });
  return { client: new SmpClient(link, { timeoutMs: 500, retries: 2 }), close: () => link.close() };
}

/**
 * The seed device's provisioning on STM32L4 units (1 MiB flash) with the demo lab product's
 * layout: a 24 KiB MCUboot in its 32 KiB, the application in slot 0, per-unit data in the
 * storage area past the scratch partition; the UID read where the chip table puts it.
 */
export function seedScaleRecipe(app: Uint8Array, optionBytes: OptionBytePolicy) {
  const { mcuboot, slot0, scratch } = LAB_PRODUCT.partitions;
  const boot = testImage(24 * 1024, 1);
  const metadata = provisioningMetadata(SEED_GATEWAY, '1.0.0', [addressPayload('mcuboot.bin', 'bootloader', mcuboot.address, boot), addressPayload('app.bin', 'stm32-region', slot0.address, app)], {
    provisioning: { optionBytes },
  });
  const recipe = stm32RomRecipe({
    metadata,
    payloads: new Map([
      ['mcuboot.bin', boot],
      ['app.bin', app],
    ]),
    dataAddress: scratch.address + scratch.size,
    connect: stm32Connect,
  });
  return { recipe, boot };
}
