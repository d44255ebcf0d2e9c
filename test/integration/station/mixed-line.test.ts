// 8 simulated units, 4 STM32 (ROM bootloader) and 4 MCUboot units (serial recovery, then their
// Zephyr application), provisioned in parallel by one station that picks the recipe per unit, with
// faults on some ports. Every good unit gets one per-unit entry: STM32 units at a flash address,
// MCUboot units through their application's settings once the image is in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Station, type StationPort } from '../../../src/station/station.ts';
import { unitRows } from '../../../src/station/unit-record.ts';
import { byUnitKind } from '../../../src/station/recipes/by-unit-kind.ts';
import { checkSmpBundle, smpUnitRecipe } from '../../../src/station/recipes/smp-unit.ts';
import { createFactoryUnit, type FactoryUnit } from '../../../src/sim/zephyr/index.ts';
import { SmpClient } from '../../../src/smp/client.ts';
import * as imageGroup from '../../../src/smp/groups/image.ts';
import { createMcubootSim, connectInProcess, type McubootDevice } from '../../../src/sim/mcuboot-serial/index.ts';
import { buildImage, generateSigningKey } from '../../../src/sim/smp/image-builder.ts';
import type { BundleMetadata } from '../../../src/formats/bundle/metadata.ts';
import { inProcessUnit, readDataBlock, stm32TestRecipe, testImage, type SimUnitHandle } from './stm32-units.ts';
import { dataPool, GATEWAY, NO_PROTECTION, provisioningMetadata, smpImagePayload, stationFolder } from './recipe-fixture.ts';
import { codeOf as code } from '../../helpers/errors.ts';

const key = generateSigningKey();
const stranger = generateSigningKey();

interface McubootUnit {
  kind: 'smp';
  dev: McubootDevice | FactoryUnit;
  serial: string;
  link?: ReturnType<typeof connectInProcess>;
}
type Unit = McubootUnit | (SimUnitHandle & { kind: 'stm32' });

const mcubootMetadata = (img: { bytes: Uint8Array; hash: Uint8Array }): BundleMetadata =>
  provisioningMetadata(GATEWAY, '2.0.0', [smpImagePayload(img, '2.0.0')], { provisioning: { optionBytes: NO_PROTECTION } });

test('8 mixed units (STM32 + MCUboot) in parallel with faults: good ones pass, faulty ones recorded with reasons, no entry twice; pilot pause and failure-rate stop', { timeout: 120_000 }, async (t) => {
  const { dir, log } = stationFolder(t, 'unbrick-mixed-');
  const pool = dataPool(t, dir, 'serial\n' + Array.from({ length: 20 }, (_, i) => `MX-${100 + i}`).join('\n') + '\n');

  const image = buildImage({ size: 24_000, version: '2.0.0', key });
  const mcu = (serial: string, keys = [key.publicPem]): McubootUnit => ({ kind: 'smp', dev: createFactoryUnit({ keys, flash: 'none', settings: { roots: ['app'] } }), serial });
  const stm = (chip: string, seed: number, faults?: { disconnectAfter: number }): Unit => ({ ...inProcessUnit(chip, seed, faults), kind: 'stm32' });
  const units: Unit[] = [
    stm('f103', 1),
    stm('f405', 2),
    stm('l476', 3),
    stm('g071', 4, { disconnectAfter: 3000 }), // cable fails mid-write
    mcu('ADP-0001'),
    mcu('ADP-0002'),
    mcu('ADP-0003'), // unplugged mid-upload
    mcu('ADP-0004'), // holds a key that does not trust the image
  ];
  (units[7] as McubootUnit).dev = mcu('ADP-0004', [stranger.publicPem]).dev;
  t.after(() => units.forEach((u) => (u.kind === 'stm32' ? u.close() : u.link?.close())));

  const smp = smpUnitRecipe({
    metadata: mcubootMetadata(image),
    payloads: new Map([['app.bin', image.bytes]]),
    withData: true,
    data: { settings: [{ field: 'serial', key: 'app/serial' }] },
    connect: async (h) => {
      const u = h as McubootUnit;
      u.link = connectInProcess(u.dev, { baud: 0 });
      const link = u.link;
      return { client: new SmpClient(link, { timeoutMs: 1000, retries: 2 }), close: () => link.close() };
    },
    identity: (h) => (h as McubootUnit).serial,
    restartPollMs: 150,
  });
  const recipe = byUnitKind({ stm32: stm32TestRecipe(testImage(12 * 1024)), smp }, async (h) => (h as Unit).kind);
  const st = Station.open({ dir, log, recipe, batch: 'mixed', station: 'line2', operator: 'op', parallel: 8, pool, policy: { pilot: 8, window: 6, threshold: 0.4 } });
  const ports: StationPort[] = units.map((u, i) => ({ id: `p${i}`, handle: u }));
  // Pull p6 the moment its upload starts (the in-process line is fast: react to the change, not a timer).
  let pulled = false;
  const off = st.onChange((snap) => {
    if (pulled || snap.ports.find((p) => p.id === 'p6')?.step !== 'write app.bin') return;
    pulled = true;
    queueMicrotask(() => {
      void (units[6] as McubootUnit).link?.close();
      st.updatePorts(ports.filter((p) => p.id !== 'p6'));
    });
  });
  st.updatePorts(ports);
  assert.equal(st.snapshot().running, 8);
  await st.idle();
  off();
  assert.ok(pulled);

  const rows = unitRows(log.verify().entries, 'mixed');
  const at = (port: string) => rows.find((r) => r.port === port)!;
  for (const p of ['p0', 'p1', 'p2', 'p4', 'p5']) assert.equal(at(p).ok, true, `${p}: ${at(p).reason}`);
  for (const p of ['p0', 'p1', 'p2']) {
    const u = units[Number(p.slice(1))] as SimUnitHandle;
    assert.equal(at(p).chipUid, u.uid);
    assert.equal(readDataBlock(u.sim)?.serial, at(p).dataEntry);
  }
  for (const p of ['p4', 'p5']) {
    const u = units[Number(p.slice(1))] as McubootUnit;
    const r = at(p);
    assert.deepEqual([r.unit, r.target, r.hashes?.['app.bin']], [u.serial, 'mcuboot', Buffer.from(image.hash).toString('hex')]);
    assert.deepEqual(
      r.steps?.map((s) => s.name),
      ['detect', 'connect', 'identify', 'write app.bin', 'verify', 'restart', 'find data channel', 'per-unit data', 'restart (data check)', 'final check'],
    );
    // The entry sits in the application's stored settings (it survives a reset), under the configured key.
    const app = (u.dev as FactoryUnit).app;
    assert.equal((u.dev as FactoryUnit).runs, 'app');
    assert.equal(Buffer.from(app.settings.stored().get('app/serial') ?? []).toString(), r.dataEntry);
    // The unit really holds the image: ask it.
    const c = new SmpClient(connectInProcess(u.dev, { baud: 0 }), { timeoutMs: 1000 });
    assert.equal((await imageGroup.list(c)).find((s) => s.slot === 0)?.hash, Buffer.from(image.hash).toString('hex'));
  }
  assert.equal(at('p3').ok, false);
  assert.ok(at('p3').code && at('p3').chipUid, 'the STM32 whose cable failed was identified and recorded with its reason');
  assert.deepEqual([at('p6').ok, at('p6').code], [false, 'station.unplugged']);
  assert.equal(at('p7').ok, false);
  assert.match(at('p7').code!, /^(smp|station)\./);
  assert.ok(at('p7').reason.length > 10);

  const entries = rows.map((r) => r.dataEntry).filter(Boolean);
  assert.equal(entries.length, 5);
  assert.equal(new Set(entries).size, entries.length, 'no per-unit entry used twice');
  assert.equal((await pool.status()).committed, 5);

  // The pilot lot of 8 paused the line; after approval, a run of units that refuse the image stops it.
  assert.equal(st.snapshot().mode, 'pilot-review');
  st.approvePilot();
  const refusing = [0, 1, 2].map((i): McubootUnit => ({ kind: 'smp', dev: createMcubootSim({ keys: [stranger.publicPem], flash: 'none' }), serial: `ADP-9${i}` }));
  t.after(() => refusing.forEach((u) => u.link?.close()));
  st.updatePorts([...ports.filter((p) => p.id !== 'p6'), ...refusing.map((u, i) => ({ id: `q${i}`, handle: u }))]);
  await st.idle();
  const snap = st.snapshot();
  assert.equal(snap.mode, 'stopped');
  assert.match(snap.reason!, /^Line stopped: \d of the last 6 units failed/);
});

test('the SMP recipe refuses what it cannot do before the line starts', () => {
  const img = buildImage({ size: 2000, key });
  const md = mcubootMetadata(img);
  const rom = { ...md.payloads[0]!, name: 'boot.bin', target: { kind: 'address' as const, address: 0x0800_0000 } };
  assert.equal(code(() => checkSmpBundle(md)), 'none');
  assert.equal(code(() => checkSmpBundle(md, { withData: true })), 'station.no-data-channel');
  assert.equal(code(() => checkSmpBundle(md, { withData: true, data: { file: '/lfs1/unit.json' } })), 'none');
  assert.equal(code(() => checkSmpBundle({ ...md, provisioning: { optionBytes: { rdpLevel: 1, wrp: [] } } })), 'station.policy-unsupported');
  assert.equal(code(() => checkSmpBundle({ ...md, payloads: [rom] })), 'station.recipe-unavailable');
  assert.equal(code(() => checkSmpBundle({ ...md, payloads: [rom, md.payloads[0]!] })), 'station.recipe-unavailable');
  // In a mixed bundle the address payloads and the option-byte policy belong to the ROM units.
  assert.equal(code(() => checkSmpBundle({ ...md, payloads: [rom, md.payloads[0]!], provisioning: { optionBytes: { rdpLevel: 1, wrp: [] } } }, { mixed: true })), 'none');
  assert.equal(code(() => checkSmpBundle({ ...md, payloads: [rom] }, { mixed: true })), 'station.recipe-unavailable');
  assert.equal(code(() => smpUnitRecipe({ metadata: md, payloads: new Map() })), 'station.payload-missing');
});
