// The STM32 ROM-bootloader provisioning recipe on simulated units of four families, run by the
// station: payloads written and verified, WRP over the bootloader, per-unit data, RDP level 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { sha256Hex } from '../../../src/crypto/hash.ts';
import { checkStm32Bundle, dataBytes, stm32RomRecipe, wrpPagesFor } from '../../../src/station/recipes/stm32-rom.ts';
import { findChip } from '../../../src/stm32/chips/index.ts';
import type { BundleMetadata, OptionBytePolicy } from '../../../src/formats/bundle/metadata.ts';
import { codeOf as code } from '../../helpers/errors.ts';
import { DATA_OFFSET, inProcessUnit, readDataBlock, testImage } from './stm32-units.ts';
import { addressPayload, dataPool, NO_PROTECTION, provisionUnits, provisioningMetadata, stationFolder, stm32Connect as connect, WIDGET, type Cleanup } from './recipe-fixture.ts';

const FLASH = 0x08000000;
const boot = testImage(6 * 1024, 1);
const app = testImage(10 * 1024, 2);

function metadata(policy: OptionBytePolicy, extra: Partial<BundleMetadata> = {}): BundleMetadata {
  return provisioningMetadata(WIDGET, '1.0.0', [addressPayload('boot.bin', 'bootloader', FLASH, boot), addressPayload('app.bin', 'stm32-region', FLASH + 0x4000, app)], {
    provisioning: { optionBytes: policy },
    ...extra,
  });
}

const payloads = new Map([
  ['boot.bin', boot],
  ['app.bin', app],
]);

function setup(t: Cleanup) {
  const { dir, log } = stationFolder(t, 'unbrick-rom-');
  const csv = 'serial,mac\n' + Array.from({ length: 20 }, (_, i) => `W-${1000 + i},02:00:00:00:00:${i.toString(16).padStart(2, '0')}\n`).join('');
  return { dir, log, pool: dataPool(t, dir, csv) };
}

test('four families provisioned in parallel: payloads, WRP over the bootloader, per-unit data, RDP 1', { timeout: 120_000 }, async (t) => {
  const { dir, pool, log } = setup(t);
  const units = ['f103', 'f405', 'l476', 'g071'].map((c, i) => inProcessUnit(c, 200 + i));
  t.after(() => units.forEach((u) => u.close()));
  const policy: OptionBytePolicy = { rdpLevel: 1, wrp: [{ start: FLASH, end: FLASH + 0x4000 }] };
  const recipe = stm32RomRecipe({ metadata: metadata(policy), payloads, dataAddress: FLASH + DATA_OFFSET, connect });
  const provisioned = await provisionUnits({ dir, log, recipe, batch: 'rom', station: 's', operator: 'op', parallel: 4, pool }, units);
  for (const { u, r } of provisioned) {
    assert.equal(r.ok, true, `${u.sim.chip.info.name}: ${r.reason}`);
    assert.equal(r.chipUid, u.uid);
    assert.deepEqual(r.hashes, { 'app.bin': sha256Hex(app), 'boot.bin': sha256Hex(boot) });
    assert.deepEqual(
      r.steps?.map((s) => s.name),
      ['connect', 'identify', 'read uid', 'write', 'verify', 'option bytes', 'per-unit data', 'readout protection', 'final check'],
    );
    const flash = u.sim.chip.flash;
    assert.deepEqual(flash.read(0, boot.length), boot);
    assert.deepEqual(flash.read(0x4000, app.length), app);
    assert.equal(readDataBlock(u.sim)?.serial, r.serial);
    assert.equal(r.serial, r.dataEntry);
    assert.deepEqual([...u.sim.chip.wrp].sort((a, b) => a - b), wrpPagesFor(u.sim.chip.info, policy));
    assert.equal(u.sim.chip.rdpLevel, 1);
  }
  assert.equal(new Set(provisioned.map(({ r }) => r.dataEntry)).size, 4);
});

test('a protected unit is refused unless the batch allows lifting protection (a mass erase)', { timeout: 60_000 }, async (t) => {
  const { dir, pool, log } = setup(t);
  const u = inProcessUnit('f103', 300);
  t.after(() => u.close());
  // The unit arrives readout-protected; the UID area survives (it is outside main flash on a real chip).
  const pre = await connect(u);
  const { readoutProtect } = await import('../../../src/stm32/operations.ts');
  await readoutProtect(pre.session);
  await pre.close();
  const policy = NO_PROTECTION;
  const recipe = stm32RomRecipe({ metadata: metadata(policy), payloads, dataAddress: FLASH + DATA_OFFSET, connect });
  const first = (await provisionUnits({ dir, log, recipe, batch: 'rom', station: 's', operator: 'op', pool }, [u]))[0]!.r;
  assert.deepEqual([first.ok, first.code], [false, 'station.unit-protected']);
  assert.equal(u.sim.chip.rdpLevel, 1, 'nothing was erased');
  assert.equal((await pool.status()).reserved, 0, 'no data entry taken');

  // With --allow-unprotect: the mass erase lifts protection. The UID is read from system memory the simulator does not model (zeros).
  const unprotecting = stm32RomRecipe({ metadata: metadata(policy), payloads, allowUnprotect: true, dataAddress: FLASH + DATA_OFFSET, connect, uidAddress: () => 0x1ffff000 });
  const second = (await provisionUnits({ dir: join(dir, 'b2'), log, recipe: unprotecting, batch: 'rom2', station: 's', operator: 'op', pool }, [u]))[0]!.r;
  assert.equal(u.sim.chip.rdpLevel, 0, 'protection lifted');
  // A UID of zeros: the recipe refuses to guess an identity.
  assert.deepEqual([second.ok, second.code], [false, 'station.no-uid']);
});

test('bundles and policies the recipe cannot carry out are refused before the line starts', () => {
  const ok = metadata(NO_PROTECTION);
  assert.equal(code(() => checkStm32Bundle(ok)), 'none');
  assert.equal(code(() => checkStm32Bundle({ ...ok, kind: 'update' })), 'station.not-provisioning');
  assert.equal(
    code(() => checkStm32Bundle({ ...ok, payloads: [{ ...ok.payloads[0]!, role: 'mcuboot-image', target: { kind: 'smp', image: 0, slot: 0 } }] })),
    'station.recipe-unavailable',
  );
  assert.equal(code(() => checkStm32Bundle(metadata({ rdpLevel: 2, allowLevel2: true, wrp: [] }))), 'station.policy-unsupported');
  assert.equal(code(() => checkStm32Bundle(metadata({ rdpLevel: 0, wrp: [], borLevel: 2 }))), 'station.policy-unsupported');
  assert.equal(code(() => stm32RomRecipe({ metadata: ok, payloads: new Map() })), 'station.payload-missing');
  // WRP ranges map to the erase units they touch.
  assert.deepEqual(wrpPagesFor(findChip('f405'), { rdpLevel: 0, wrp: [{ start: FLASH, end: FLASH + 0x4001 }] }), [0, 1]);
  assert.deepEqual(wrpPagesFor(findChip('f103'), { rdpLevel: 0, wrp: [{ start: FLASH + 0x400, end: FLASH + 0x800 }] }), [1]);
  // Per-unit data: JSON NUL-terminated or a hex field, padded to 8 bytes with erased bytes.
  const j = dataBytes({ serial: 'S1' });
  assert.equal(j.length % 8, 0);
  assert.equal(new TextDecoder().decode(j.subarray(0, j.indexOf(0))), '{"serial":"S1"}');
  assert.deepEqual([...dataBytes({ key: 'a1b2c3' }, 'key')], [0xa1, 0xb2, 0xc3, 0xff, 0xff, 0xff, 0xff, 0xff]);
  assert.equal(code(() => dataBytes({ key: 'xyz' }, 'key')), 'station.data-field');
});
