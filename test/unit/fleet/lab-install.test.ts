/**
 * Fleet releases taken into the field: a Mender artifact (mender-artifact,
 * ECDSA-signed) and an AWS IoT OTA job (openssl-signed) are imported,
 * re-signed by the lab vendor, and installed on a lab unit through Offline
 * update; an Azure Device Update release whose test boot fails is rolled
 * back. The service records keep each release's provenance, and the day's
 * export in each system's terms says how each ended.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBundleFromFleet } from '../../../src/app/fleet-import.ts';
import { exportRecords, unitReleases } from '../../../src/records/fleet-export.ts';
import { reportHtml, unitReport } from '../../../src/records/report.ts';
import { labApplicationImage, labPublicKeyPem } from '../../../src/sim/lab/product.ts';
import { LAB_BUNDLE_PRODUCT } from '../../../src/sim/lab/vendor.ts';
import { BundleLibrary } from '../../../src/trust/library.ts';
import { drive, labCore } from '../workflows/lab-jobs.ts';
import { codeSigning, fileBytes, have, menderArtifact, otaSignature, run, sha256Base64 } from './fixture.ts';
import type { AppCore } from '../../../src/app/app-core.ts';
import { createHandlers } from '../../../src/app/handlers.ts';
import { LibraryEntrySchema } from '../../../src/api/contract.ts';
import { parseAs } from '../../../src/core/schema.ts';
import type { DemoLab } from '../../../src/sim/lab/lab.ts';

const APP = 'lab-healthy-pending';
const SMALL = 16 * 1024;
const skip = have('mender-artifact') && have('openssl') ? false : 'needs mender-artifact and openssl (apt)';

async function setup(t: { after(fn: () => unknown): void }, board: Record<string, unknown> = {}) {
  const { c, lab } = await labCore(t, APP, { baud: 460_800, payloadBytes: SMALL, smpBoards: { [APP]: { flash: 'none', emptySecondary: true, ...board } } });
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-fleet-lab-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'image-key.pub.pem'), labPublicKeyPem());
  let seq = 10;
  const spec = () => {
    const p = join(dir, `spec-${seq}.json`);
    writeFileSync(
      p,
      JSON.stringify({
        product: { vendorId: LAB_BUNDLE_PRODUCT.vendorId, classId: LAB_BUNDLE_PRODUCT.classId, name: LAB_BUNDLE_PRODUCT.name, mcuProductId: LAB_BUNDLE_PRODUCT.mcuProductId },
        hardware: { 'unbrick-lab-board': 'A', 'manufacturer=unbrick,model=lab-board': 'A', '*': 'A' },
        sequence: seq++,
        validDays: 30,
        imageKey: 'image-key.pub.pem',
      }),
    );
    return p;
  };
  return { c, lab, dir, spec };
}

/** Imports the bundle into the lab's update library and runs Offline update with it. */
async function install(c: AppCore, lab: DemoLab, bundle: string) {
  const { entry } = await new BundleLibrary('update', { dir: await lab.libraryDir() }).import(bundle);
  const job = c.job(c.startJob('update', APP, { bundleId: entry.id }).id);
  await drive(job);
  return job.snapshot();
}

const updates = (c: AppCore) => c.log.verify().entries.filter((e) => e.action === 'update');

test('a Mender artifact and an AWS IoT OTA job are installed on a lab unit; records keep their provenance; the exports say SUCCEEDED / success', { skip, timeout: 240_000 }, async (t) => {
  const { c, lab, dir, spec } = await setup(t);
  const vendor = await lab.vendor();

  // Mender: the fleet's artifact, signed with its ECDSA key.
  run('openssl', ['ecparam', '-genkey', '-name', 'prime256v1', '-noout', '-out', join(dir, 'mender.pem')]);
  run('openssl', ['ec', '-in', join(dir, 'mender.pem'), '-pubout', '-out', join(dir, 'mender.pub.pem')]);
  writeFileSync(join(dir, 'app-1.4.0.bin'), labApplicationImage('1.4.0', { payloadBytes: SMALL }));
  const art = menderArtifact(dir, 'lab-1.4.0.mender', join(dir, 'app-1.4.0.bin'), { name: 'lab-fw-1.4.0', deviceTypes: ['unbrick-lab-board'], version: '1.4.0', key: join(dir, 'mender.pem') });
  const b1 = await createBundleFromFleet({ from: `mender:${art}`, specPath: spec(), menderKeys: [join(dir, 'mender.pub.pem')], releaseKeys: [vendor.releaseKey], out: join(dir, 'm.ubundle') });
  let s = await install(c, lab, b1.path);
  assert.equal(s.state, 'succeeded', s.error?.message);
  assert.equal(s.result!.summary, 'Updated to 1.4.0: it booted and is confirmed.');
  // The Bundles screen gets the provenance through the contract (library.list), checked by the contract's own schema.
  const listed = await createHandlers(c, 'server')['library.list']({ deviceId: APP, kind: 'update' });
  const view = parseAs(LibraryEntrySchema, listed.entries.find((e) => e.version === '1.4.0'), { what: 'library entry' });
  assert.equal(view.provenance?.system, 'mender');
  assert.equal(view.provenance?.identifiers.artifact_name, 'lab-fw-1.4.0');
  assert.match(view.provenance!.proof, /^ECDSA P-256 SHA-256, key [0-9a-f]{16}$/);
  const rec1 = updates(c).at(-1)!;
  assert.deepEqual((rec1.details!.provenance as { identifiers: Record<string, string> }).identifiers.artifact_name, 'lab-fw-1.4.0');
  // The unit's service report shows where the release came from.
  const v = c.log.verify();
  assert.match(reportHtml(unitReport(rec1.unit.id, c.log.path, v, new Date(), [])), /Release from mender: artifact_name lab-fw-1\.4\.0, .*proved by mender-signature [0-9a-f]{16}…/);

  // AWS IoT / FreeRTOS OTA: a job execution whose file is signed by the fleet's code-signing certificate.
  const cs = codeSigning(dir, 'lab-codesign');
  const file = join(dir, 'app-1.5.0.bin');
  writeFileSync(file, labApplicationImage('1.5.0', { payloadBytes: SMALL }));
  const doc = { afr_ota: { protocols: ['MQTT'], files: [{ filepath: 'app.bin', filesize: fileBytes(file).length, fileid: 0, certfile: 'cs.crt', 'sig-sha256-ecdsa': otaSignature(cs.key, file) }] } };
  writeFileSync(join(dir, 'job.json'), JSON.stringify({ execution: { jobId: 'lab-ota-1-5-0', thingName: 'lab-thing', jobDocument: doc } }));
  const b2 = await createBundleFromFleet({ from: `aws-ota:${join(dir, 'job.json')}`, specPath: spec(), awsCertificate: cs.cert, awsFiles: [file], releaseKeys: [vendor.releaseKey], out: join(dir, 'a.ubundle') });
  s = await install(c, lab, b2.path);
  assert.equal(s.state, 'succeeded', s.error?.message);
  assert.equal(s.result!.summary, 'Updated to 1.5.0: it booted and is confirmed.');
  assert.equal((updates(c).at(-1)!.details!.provenance as { system: string }).system, 'aws-iot-ota');

  // The day's export, in each system's terms.
  const groups = unitReleases(c.log.verify().entries, { since: Date.parse(new Date().toISOString().slice(0, 10)) });
  const serial = updates(c).at(-1)!.unit.serial as string;
  const aws = JSON.parse(exportRecords(groups, 'aws-jobs').text) as { updates: { thingName: string; jobId: string; request: string; body: { status: string; statusDetails: Record<string, string> } }[] };
  assert.equal(aws.updates.length, 1);
  assert.equal(aws.updates[0]!.jobId, 'lab-ota-1-5-0');
  assert.equal(aws.updates[0]!.thingName, serial);
  assert.equal(aws.updates[0]!.request, `POST /things/${serial}/jobs/lab-ota-1-5-0`);
  assert.equal(aws.updates[0]!.body.status, 'SUCCEEDED');
  assert.equal(aws.updates[0]!.body.statusDetails.version, '1.5.0');
  const mender = JSON.parse(exportRecords(groups, 'mender').text) as { statuses: { device: string; artifact_name: string; body: { status: string } }[]; skipped: unknown[] };
  assert.deepEqual(
    mender.statuses.map((x) => [x.device, x.artifact_name, x.body.status]),
    [[serial, 'lab-fw-1.4.0', 'success']],
  );
  assert.equal(mender.skipped.length, 1, 'the AWS release is not Mender\'s to report');
  const csv = exportRecords(groups, 'csv').text.trim().split('\r\n');
  assert.equal(csv.length, 3);
  assert.match(csv[1]!, /,mender,mender:lab-fw-1\.4\.0,1\.4\.0,installed,1,/);
  assert.match(csv[2]!, /,aws-iot-ota,aws-iot-ota:lab-ota-1-5-0,1\.5\.0,installed,1,/);
});

test('an Azure Device Update release whose test boot fails is rolled back, and the ADU export reports state Failed', { skip, timeout: 240_000 }, async (t) => {
  const { c, lab, dir, spec } = await setup(t, { testImageFails: true });
  const vendor = await lab.vendor();
  const bytes = labApplicationImage('1.6.0', { payloadBytes: SMALL });
  writeFileSync(join(dir, 'app.bin'), bytes);
  writeFileSync(
    join(dir, 'import.json'),
    JSON.stringify({
      updateId: { provider: 'Unbrick', name: 'LabBoard', version: '1.6.0' },
      compatibility: [{ manufacturer: 'unbrick', model: 'lab-board' }],
      instructions: { steps: [{ handler: 'microsoft/swupdate:2', files: ['app.bin'], handlerProperties: { installedCriteria: '1.6.0' } }] },
      files: [{ filename: 'app.bin', sizeInBytes: bytes.length, hashes: { sha256: sha256Base64(bytes) } }],
      manifestVersion: '5.0',
      createdDateTime: '2026-12-07T08:00:00Z',
    }),
  );
  const b = await createBundleFromFleet({ from: `adu:${join(dir, 'import.json')}`, specPath: spec(), releaseKeys: [vendor.releaseKey], out: join(dir, 'adu.ubundle') });
  const s = await install(c, lab, b.path);
  const rec = updates(c).at(-1)!;
  assert.equal(rec.details!.reverted, true, `${s.state}: ${s.result?.summary ?? s.error?.message}`);
  const adu = JSON.parse(exportRecords(unitReleases(c.log.verify().entries), 'adu').text) as {
    devices: { deviceId: string; updateId: Record<string, string>; reported: { deviceUpdate: { __t: string; agent: { state: number; installedUpdateId?: string; lastInstallResult: { resultCode: number; extendedResultCode: number; resultDetails: string } } } } }[];
  };
  assert.equal(adu.devices.length, 1);
  const agent = adu.devices[0]!.reported.deviceUpdate.agent;
  assert.equal(adu.devices[0]!.reported.deviceUpdate.__t, 'c');
  assert.equal(agent.state, 255);
  assert.equal(agent.installedUpdateId, undefined);
  assert.equal(agent.lastInstallResult.resultCode, 0);
  assert.match(agent.lastInstallResult.resultDetails, /rolled back/);
  assert.deepEqual(adu.devices[0]!.updateId, { provider: 'Unbrick', name: 'LabBoard', version: '1.6.0' });
});
