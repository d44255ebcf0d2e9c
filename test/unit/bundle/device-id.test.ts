import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ServiceLog } from '../../../src/records/service-log.ts';
import { checkBundle } from '../../../src/trust/check.ts';
import { CLASS_ID, DAY, inTrustedLab, makeBundle, T0, VENDOR_ID, type Lab } from './fixture.ts';

const cli = (lab: Lab, ...args: string[]) =>
  spawnSync(process.execPath, ['bin/unbrick.js', ...args], { encoding: 'utf8', env: { ...process.env, UNBRICK_DATA_DIR: lab.dataDir } });

test('--device-id with a typo ("hardwareRev") is refused with its path and the field it meant; never a silent pass', inTrustedLab(async (lab, v) => {
  const bundle = await makeBundle(lab, 'B.ubundle', [v.releaseKeys[0]!]);
  const dev = lab.file('dev.json', JSON.stringify({ hardwareRev: 'Z' }));

  const human = cli(lab, 'bundle', 'verify', bundle, '--device-id', dev);
  assert.equal(human.status, 2, human.stdout + human.stderr);
  assert.match(human.stderr, /dev\.json: unknown field "hardwareRev" \(did you mean "hardwareRevision"\?\)/);

  const r = cli(lab, 'bundle', 'verify', bundle, '--device-id', dev, '--json');
  const out = JSON.parse(r.stdout) as { error: string; kind: string; details: { path: string; suggestion: string; input: string } };
  assert.deepEqual([out.error, out.kind], ['bundle.bad-device-id', 'input']);
  assert.deepEqual([out.details.path, out.details.suggestion, out.details.input], ['hardwareRev', 'hardwareRevision', dev]);

  // Inline JSON is checked the same way, nested fields name their full path.
  const nested = cli(lab, 'bundle', 'verify', bundle, '--json', '--device-id', JSON.stringify({ hardwareRevision: 'B', installed: { 'smp:image0': { verison: '1.0.0' } } }));
  assert.equal((JSON.parse(nested.stdout) as { details: { suggestion: string } }).details.suggestion, 'installed.smp:image0.version');
  // Types are exact: a number where a string belongs is refused, not coerced.
  const typed = cli(lab, 'bundle', 'verify', bundle, '--json', '--device-id', '{"hardwareRevision": 3}');
  assert.match((JSON.parse(typed.stdout) as { message: string }).message, /--device-id: hardwareRevision must be a string \(got number\)/);
}));

test('an identity without the hardware the bundle targets is refused, unless --skip-hardware-check, which the service log records', inTrustedLab(async (lab, v) => {
  const bundle = await makeBundle(lab, 'B.ubundle', [v.releaseKeys[0]!]); // targets revisions B, C and MCU 0x413
  const noRev = JSON.stringify({ vendorId: VENDOR_ID, classId: CLASS_ID, mcuProductId: '0x413' });

  const refused = cli(lab, 'bundle', 'verify', bundle, '--json', '--device-id', noRev);
  assert.equal(refused.status, 1);
  const err = JSON.parse(refused.stdout) as { error: string; message: string; details: { missing: string[] } };
  assert.equal(err.error, 'bundle.hardware-unchecked');
  assert.deepEqual(err.details.missing, ['hardwareRevision']);
  assert.match(err.message, /--skip-hardware-check/);
  assert.equal(ServiceLog.inDir(lab.dataDir).verify().entries.length, 0, 'a refusal writes nothing');

  const skipped = cli(lab, 'bundle', 'verify', bundle, '--json', '--device-id', noRev, '--skip-hardware-check');
  assert.equal(skipped.status, 0, skipped.stdout + skipped.stderr);
  assert.ok((JSON.parse(skipped.stdout) as { notes: string[] }).notes.some((n) => /Hardware check skipped/.test(n)));
  const log = ServiceLog.inDir(lab.dataDir).verify();
  assert.equal(log.ok, true);
  assert.equal(log.entries.length, 1);
  assert.equal(log.entries[0]!.action, 'bundle.verify');
  assert.equal(log.entries[0]!.details?.hardwareCheck, 'skipped');

  // The MCU the bundle names is a hardware check too; a wrong revision is still refused when skipping.
  await assert.rejects(
    checkBundle(bundle, { dir: lab.dataDir, clock: T0 + DAY, device: { vendorId: VENDOR_ID, classId: CLASS_ID, hardwareRevision: 'B' } }),
    (e: Error & { code?: string; details?: { missing?: string[] } }) => e.code === 'bundle.hardware-unchecked' && e.details?.missing?.[0] === 'mcuProductId',
  );
  await assert.rejects(
    checkBundle(bundle, { dir: lab.dataDir, clock: T0 + DAY, skipHardwareCheck: true, device: { hardwareRevision: 'Z' } }),
    (e: Error & { code?: string }) => e.code === 'bundle.wrong-hardware',
  );
}));
