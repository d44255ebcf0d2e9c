import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { checkBundle } from '../../../src/trust/check.ts';
import { loadRollbackState, rollbackPath } from '../../../src/trust/rollback-state.ts';
import { hasCode } from '../../helpers/errors.ts';
import { inTrustedLab, Lab, makeBundle, makeVendor, T0, DAY, CLASS_ID, VENDOR_ID, vectorImage, vectorKeyPath } from './fixture.ts';

test('a valid update bundle verifies and reports its payloads', inTrustedLab(async (lab, v) => {
  const path = await makeBundle(lab, 'ok.ubundle', [v.releaseKeys[0]!]);
  const r = await checkBundle(path, { dir: lab.dataDir, clock: T0 + DAY, device: { vendorId: VENDOR_ID, classId: CLASS_ID, hardwareRevision: 'C', mcuProductId: 0x413 } });
  assert.equal(r.report.metadata.kind, 'update');
  assert.equal(r.report.payloads.length, 1);
  const img = readFileSync(vectorImage('ed25519_basic'));
  assert.equal(r.report.payloads[0]!.sha256, createHash('sha256').update(img).digest('hex'));
  assert.equal(r.report.payloads[0]!.version, '1.2.3+4');
  assert.equal(r.clock.reliable, true);
  assert.equal(r.recorded, false);
  assert.equal(existsSync(rollbackPath(lab.dataDir)), false, 'verify alone writes no state');
}));

test('an ECDSA P-256 release signature verifies too', inTrustedLab(async (lab, v) => {
  const path = await makeBundle(lab, 'p256.ubundle', [v.releaseKeys[1]!]);
  const r = await checkBundle(path, { dir: lab.dataDir, clock: T0 + DAY });
  assert.deepEqual(r.report.signatures.map((s) => s.status), ['valid']);
}));

test('unknown key, threshold not met, wrong product and hardware are refused with their own reasons', inTrustedLab(async (lab, v) => {
  const stranger = makeVendor();
  const unknown = await makeBundle(lab, 'unknown.ubundle', [stranger.releaseKeys[0]!]);
  await assert.rejects(checkBundle(unknown, { dir: lab.dataDir, clock: T0 + DAY }), hasCode('bundle.key-unknown'));
  const one = await makeBundle(lab, 'one.ubundle', [v.releaseKeys[0]!]);
  await assert.rejects(checkBundle(one, { dir: lab.dataDir, clock: T0 + DAY }), hasCode('bundle.threshold-not-met'));
  const two = await makeBundle(lab, 'two.ubundle', [v.releaseKeys[0]!, v.releaseKeys[1]!]);
  await checkBundle(two, { dir: lab.dataDir, clock: T0 + DAY });
  await assert.rejects(checkBundle(two, { dir: lab.dataDir, clock: T0 + DAY, device: { vendorId: VENDOR_ID, classId: VENDOR_ID } }), hasCode('bundle.wrong-product'));
  await assert.rejects(checkBundle(two, { dir: lab.dataDir, clock: T0 + DAY, device: { classId: CLASS_ID, hardwareRevision: 'A' } }), hasCode('bundle.wrong-hardware'));
  await assert.rejects(checkBundle(two, { dir: lab.dataDir, clock: T0 + DAY, device: { mcuProductId: 0x419 } }), hasCode('bundle.wrong-mcu'));
}, { releaseThreshold: 2 }));

test('expired bundles are refused, and setting the clock back does not help', inTrustedLab(async (lab, v) => {
  const path = await makeBundle(lab, 'b.ubundle', [v.releaseKeys[0]!], { expires: new Date(T0 + 10 * DAY).toISOString().replace('.000Z', 'Z') });
  await assert.rejects(checkBundle(path, { dir: lab.dataDir, clock: T0 + 11 * DAY }), hasCode('bundle.expired'));
  // Record a later accepted bundle: the laptop has now seen T0 + 20 days.
  const later = await makeBundle(lab, 'later.ubundle', [v.releaseKeys[0]!], { created: new Date(T0 + 20 * DAY).toISOString().replace('.000Z', 'Z'), sequence: 11 });
  const logs: string[] = [];
  await checkBundle(later, { dir: lab.dataDir, clock: T0 + 20 * DAY, record: true });
  // Clock set back to T0+1d: the decision overrules it and the old bundle stays expired.
  const err = await checkBundle(path, { dir: lab.dataDir, clock: T0 + DAY, log: (l) => logs.push(l) }).catch((e: Error & { code: string }) => e);
  assert.equal((err as { code: string }).code, 'bundle.expired');
  assert.match(logs.join('\n'), /clock .* is earlier than the latest time this laptop has already seen/);
}));

test('a clock earlier than the bundle creation time is declared unreliable and logged', inTrustedLab(async (lab, v) => {
  const path = await makeBundle(lab, 'b.ubundle', [v.releaseKeys[0]!]);
  const logs: string[] = [];
  const r = await checkBundle(path, { dir: lab.dataDir, clock: T0 - 400 * DAY, log: (l) => logs.push(l) });
  assert.equal(r.clock.reliable, false);
  assert.equal(r.clock.reason, 'clock-before-bundle-creation');
  assert.equal(r.clock.effective, T0);
  assert.equal(logs.length, 1);
}));

test('rollback to an older sequence and downgrade in an update are refused; golden may be older', inTrustedLab(async (lab, v) => {
  const k = [v.releaseKeys[0]!];
  // 1.2.4 (ed25519_sha512) at sequence 20, recorded as accepted.
  const newerPath = await makeBundle(lab, 'n.ubundle', k, {
    sequence: 20,
    payloads: [{ file: vectorImage('ed25519_sha512'), name: 'app.bin', role: 'mcuboot-image', target: { kind: 'smp', image: 0, slot: 1 }, imageKey: vectorKeyPath('ed25519-a') }],
  });
  const r = await checkBundle(newerPath, { dir: lab.dataDir, clock: T0 + DAY, record: true });
  assert.equal(r.recorded, true);
  const state = loadRollbackState(lab.dataDir);
  assert.equal(Object.values(state.products)[0]!.highestSequence, 20);

  const olderSeq = await makeBundle(lab, 'old-seq.ubundle', k, { sequence: 19 });
  await assert.rejects(checkBundle(olderSeq, { dir: lab.dataDir, clock: T0 + DAY }), hasCode('bundle.rollback'));
  // Newer sequence, but the image (1.2.3+4) is older than the accepted 1.2.4.
  const downgrade = await makeBundle(lab, 'down.ubundle', k, { sequence: 21 });
  await assert.rejects(checkBundle(downgrade, { dir: lab.dataDir, clock: T0 + DAY }), hasCode('bundle.downgrade'));
  // Also refused against what the unit reports as installed, with no laptop state involved.
  const fresh = new Lab();
  try {
    fresh.trust(v);
    await assert.rejects(checkBundle(downgrade, { dir: fresh.dataDir, clock: T0 + DAY, device: { hardwareRevision: 'B', mcuProductId: 0x413, installed: { 'smp:image0': { version: '2.0.0' } } } }), hasCode('bundle.downgrade'));
  } finally {
    fresh.cleanup();
  }
  // The same older image signed as golden (older sequence too) is accepted.
  const golden = await makeBundle(lab, 'golden.ubundle', k, { kind: 'golden', sequence: 5 });
  const g = await checkBundle(golden, { dir: lab.dataDir, clock: T0 + DAY, record: true });
  assert.match(g.report.notes.join(' '), /golden/i);
  assert.equal(Object.values(loadRollbackState(lab.dataDir).products)[0]!.highestSequence, 20, 'golden does not move the floor');
}));

test('a provisioning bundle carries its option-byte policy through verification and obeys the sequence floor', inTrustedLab(async (lab, v) => {
  const optionBytes = { rdpLevel: 1 as const, wrp: [{ start: 0x08000000, end: 0x08008000 }], borLevel: 2, userBits: { nRST_STOP: true } };
  const spec = (sequence: number) => ({
    kind: 'provisioning' as const,
    sequence,
    provisioning: { optionBytes },
    payloads: [{ file: vectorImage('ed25519_basic'), name: 'mcuboot.bin', role: 'bootloader' as const, target: { kind: 'address' as const, address: 0x08000000 }, version: '1.10.0' }],
  });
  const p = await makeBundle(lab, 'prov.ubundle', [v.releaseKeys[0]!], spec(30));
  const r = await checkBundle(p, { dir: lab.dataDir, clock: T0 + DAY, record: true });
  assert.deepEqual(r.report.metadata.provisioning, { optionBytes });
  const older = await makeBundle(lab, 'prov-old.ubundle', [v.releaseKeys[0]!], spec(29));
  await assert.rejects(checkBundle(older, { dir: lab.dataDir, clock: T0 + DAY }), (e: Error & { code?: string }) => e.code === 'bundle.rollback');
}));
