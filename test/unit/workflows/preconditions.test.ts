/**
 * Bundle preconditions: the signed field is read strictly (unknown fields
 * with "did you mean", ranges, integers only, not in golden bundles), and the
 * check reads each one on a simulated Zephyr unit: statistics in range,
 * settings equal or in range (text or little-endian integers), room in the
 * slot, the restart counter; a value the unit cannot give is a failure with
 * its own code, never a pass, and every failing reading is named with its limit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readMetadata } from '../../../src/formats/bundle/metadata.ts';
import { BundleSpecSchema } from '../../../src/formats/bundle/create.ts';
import { parseAs } from '../../../src/core/schema.ts';
import { describePreconditions, type Preconditions } from '../../../src/formats/bundle/preconditions.ts';
import { checkPreconditions, readRestarts, settingValue } from '../../../src/workflows/preconditions.ts';
import { SmpClient } from '../../../src/smp/client.ts';
import { connectInProcess, createZephyrSim } from '../../../src/sim/zephyr/index.ts';
import { metadataJson } from '../bundle/fixture.ts';

const code = (c: string, message?: RegExp) => (e: Error & { code?: string }) => {
  assert.equal(e.code, c, e.message);
  if (message) assert.match(e.message, message);
  return true;
};

const metadata = (over: Record<string, unknown> = {}): Record<string, unknown> =>
  metadataJson({ payloads: [{ name: 'a.bin', role: 'stm32-region', target: { kind: 'address', address: 0x08000000 }, size: 4, sha256: '0'.repeat(64) }], ...over });

const BATTERY = { group: 'power', stat: 'battery_mv', min: 3500, label: 'battery', unit: 'mV' };

test('the signed preconditions field is read strictly, as the bundle spec is', () => {
  const pre: Preconditions = { stats: [BATTERY], settings: [{ name: 'app/region', equals: 'eu' }], slotFits: true, restarts: { group: 'boot', stat: 'reset_count' } };
  assert.deepEqual(readMetadata(metadata({ preconditions: pre }) as never).preconditions, pre);
  assert.equal(readMetadata(metadata() as never).preconditions, undefined);
  // As `unbrick bundle inspect` shows them.
  assert.deepEqual(describePreconditions(pre), ['battery (power/battery_mv) at least 3500 mV', 'setting app/region = "eu"', 'the image fits its slot', 'restarts counted in boot/reset_count (boot-loop check)']);
  const bad: [unknown, RegExp][] = [
    [{ stats: [{ ...BATTERY, minn: 1 }] }, /unknown field "metadata\.preconditions\.stats\[0\]\.minn" \(did you mean "min"\?\)/],
    [{ stats: [{ group: 'power', stat: 'battery_mv' }] }, /"min", "max" or both/],
    [{ stats: [{ ...BATTERY, max: 3000 }] }, /min <= max/],
    [{ stats: [{ ...BATTERY, min: 3.5 }] }, /an integer/],
    [{ settings: [{ name: 'app/x', equals: '1', min: 0 }] }, /either "equals" or a range/],
    [{ settings: [{ name: 'app/x', as: 'uint-le', equals: '1' }] }, /"equals" as text/],
    [{ slotFits: false }, /true/],
    [{}, /at least one check/],
    [{ stats: [{ ...BATTERY, group: 'g'.repeat(32) }] }, /at most 31/],
  ];
  for (const [p, message] of bad) assert.throws(() => readMetadata(metadata({ preconditions: p }) as never), code('bundle.metadata-invalid', message), JSON.stringify(p));
  assert.throws(() => readMetadata(metadata({ kind: 'golden', preconditions: { slotFits: true } }) as never), code('bundle.metadata-invalid', /not allowed in a golden bundle/));
  // The vendor's spec file takes the same schema (and the same did-you-mean).
  const spec = { kind: 'update', product: metadata().product, version: '1.0.0', sequence: 1, payloads: [], preconditions: { slotFit: true } };
  assert.throws(() => parseAs(BundleSpecSchema, spec, { what: 'spec.json', code: 'bundle.spec-invalid' }), code('bundle.spec-invalid', /did you mean "slotFits"/));
});

test('setting values read as text or as little-endian integers of their own length', () => {
  assert.equal(settingValue(new TextEncoder().encode('eu\0'), undefined), 'eu');
  assert.equal(settingValue(Uint8Array.of(0x34, 0x12), 'uint-le'), 0x1234);
  assert.equal(settingValue(Uint8Array.of(0xfe, 0xff, 0xff, 0xff), 'int-le'), -2);
  assert.equal(settingValue(Uint8Array.of(1, 2, 3), 'uint-le'), undefined);
});

function unit(t: { after(fn: () => unknown): void }, o: Parameters<typeof createZephyrSim>[0] = {}) {
  const dev = createZephyrSim({ flash: 'none', slotInfo: true, settings: { roots: ['app'] }, statGroups: { power: { battery_mv: 3900 }, boot: { reset_count: 12 } }, ...o });
  dev.settings.runtime.set('app/region', new TextEncoder().encode('eu'));
  dev.settings.runtime.set('app/hw', Uint8Array.of(3, 0));
  const link = connectInProcess(dev, { baud: 0 });
  t.after(async () => {
    await link.close();
    dev.dispose();
  });
  return { dev, c: new SmpClient(link, { timeoutMs: 500, retries: 1 }) };
}

const target = (imageBytes: number) => ({ targets: [{ image: 0, slot: 1, imageBytes }], release: 'Gateway 2.0.0' });

test('every kind of precondition is read on the unit; the readings come back in words', async (t) => {
  const { c, dev } = unit(t);
  const pre: Preconditions = {
    stats: [BATTERY],
    settings: [
      { name: 'app/region', equals: 'eu' },
      { name: 'app/hw', as: 'uint-le', min: 2, max: 5, label: 'board revision' },
    ],
    slotFits: true,
    restarts: { group: 'boot', stat: 'reset_count' },
  };
  const r = await checkPreconditions(c, pre, target(1000));
  assert.deepEqual(
    r.readings.map((x) => `${x.check}: ${x.reading} / ${x.limit} / ${x.ok}`),
    [
      'battery (power/battery_mv): 3900 mV / at least 3500 mV / true',
      'setting app/region: "eu" / "eu" / true',
      'board revision (setting app/hw): 3 / between 2 and 5 / true',
      `room in slot 1: 1000 bytes to write / at most ${dev.maxImageSize} bytes / true`,
    ],
  );
  assert.equal(r.restarts, 12);
  assert.equal(await readRestarts(c, pre.restarts!), 12);
});

test('readings outside their limits refuse the update, each named with its reading and limit', async (t) => {
  const { c, dev } = unit(t, { statGroups: { power: { battery_mv: 3100 } } });
  const pre: Preconditions = { stats: [BATTERY], settings: [{ name: 'app/region', equals: 'us' }], slotFits: true };
  await assert.rejects(
    checkPreconditions(c, pre, target(dev.maxImageSize + 1)),
    code(
      'update.precondition-failed',
      new RegExp(
        `^This unit does not meet what Gateway 2\\.0\\.0 requires, so nothing was sent to it: battery \\(power/battery_mv\\) reads 3100 mV; it must be at least 3500 mV; setting app/region reads "eu"; it must be "us"; room in slot 1 reads ${dev.maxImageSize + 1} bytes to write; it must be at most ${dev.maxImageSize} bytes\\.`,
      ),
    ),
  );
});

test('a precondition the unit cannot give is a failure, not a pass', async (t) => {
  const cases: [Parameters<typeof createZephyrSim>[0], Preconditions, RegExp][] = [
    [{ statGroups: {} }, { stats: [BATTERY] }, /no statistics group "power" \(it lists flash_sim_stats, flash_sim_thresholds, smp_svr_stats\)/],
    [{}, { stats: [{ ...BATTERY, stat: 'battery_mV' }] }, /statistics group "power" has no counter "battery_mV" \(it has battery_mv\)/],
    [{}, { settings: [{ name: 'other/x', equals: '1' }] }, /Cannot check setting other\/x on this unit: .*no setting "other\/x"/],
    [{}, { settings: [{ name: 'app/region', min: 1 }] }, /its value "eu" is not a number/],
    [{ slotInfo: false }, { slotFits: true }, /Cannot check room in slot 1 on this unit: it does not report its slot sizes \(slot info, .*does not support slot info\)\./],
    [{}, { restarts: { group: 'boot', stat: 'resets' } }, /restart counter \(boot\/resets\)/],
  ];
  for (const [o, pre, message] of cases) {
    const { c } = unit(t, o);
    await assert.rejects(checkPreconditions(c, pre, target(100)), code('update.precondition-unreadable', message), JSON.stringify(pre));
  }
});
