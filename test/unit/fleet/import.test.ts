/**
 * Fleet imports with real tool output: Mender artifacts written by
 * `mender-artifact` (RSA- and ECDSA-signed, unsigned, tampered, for other
 * hardware), FreeRTOS OTA job documents signed with `openssl`, and Azure
 * Device Update import manifests. A good release becomes a signed bundle that
 * verifies and keeps its provenance; each bad one is refused with its own code.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBundleFromFleet, type FleetImportOptions } from '../../../src/app/fleet-import.ts';
import { exportPrivatePem } from '../../../src/crypto/keys.ts';
import { readTrustedKey } from '../../../src/formats/fleet/release.ts';
import { checkBundle } from '../../../src/trust/check.ts';
import { BundleLibrary } from '../../../src/trust/library.ts';
import { CLASS_ID, Lab, makeVendor, vectorImage, vectorKeyPath, VENDOR_ID, type Vendor } from '../bundle/fixture.ts';
import { codeSigning, fileBytes, have, menderArtifact, menderKeys, otaSignature, replacePayload, sha256Base64, tamperArtifact } from './fixture.ts';

const tools = have('mender-artifact') && have('openssl');
const skip = tools ? false : 'needs mender-artifact and openssl (apt)';

let lab: Lab;
let vendor: Vendor;
let keys: ReturnType<typeof menderKeys>;
const IMAGE = vectorImage('ed25519_basic'); // MCUboot 1.2.3+4, signed with ed25519-a

function spec(name: string, over: Record<string, unknown> = {}): string {
  return lab.file(
    name,
    JSON.stringify({
      product: { vendorId: VENDOR_ID, classId: CLASS_ID, name: 'Acme Gateway', mcuProductId: 0x413 },
      hardware: { 'acme-gw-revB': 'B', 'acme-gw-revC': 'C', 'manufacturer=acme,model=gw-b': 'B', '*': 'B' },
      sequence: 20,
      validDays: 30,
      imageKey: vectorKeyPath('ed25519-a'),
      ...over,
    }),
  );
}

const make = (from: string, o: Partial<FleetImportOptions> = {}) =>
  createBundleFromFleet({ from, specPath: join(lab.dir, 'spec.json'), releaseKeys: [vendor.releaseKeys[0]!], out: join(lab.dir, `out-${Math.random().toString(16).slice(2)}.ubundle`), ...o });

const code = (c: string) => (e: Error & { code?: string }) => {
  assert.equal(e.code, c, e.message);
  return true;
};

before(() => {
  if (!tools) return;
  lab = new Lab();
  vendor = makeVendor();
  lab.trust(vendor);
  keys = menderKeys(lab.dir);
  spec('spec.json');
  copyFileSync(IMAGE, join(lab.dir, 'app.bin'));
});
after(() => lab?.cleanup());

test('Mender: RSA- and ECDSA-signed artifacts become signed bundles that keep the artifact name, version, device types and the key that proved them', { skip }, async () => {
  for (const [k, pub, alg] of [
    [keys.rsa, keys.rsaPub, 'RSA PKCS#1 v1.5 SHA-256'],
    [keys.ec, keys.ecPub, 'ECDSA P-256 SHA-256'],
  ] as const) {
    const art = menderArtifact(lab.dir, `good-${alg.slice(0, 3)}.mender`, join(lab.dir, 'app.bin'), { name: 'gw-fw-1.2.3', deviceTypes: ['acme-gw-revB', 'acme-gw-revX'], version: '1.2.3', key: k });
    const r = await make(`mender:${art}`, { menderKeys: [keys.otherRsaPub, pub] });
    const md = r.metadata;
    assert.equal(md.version, '1.2.3');
    assert.deepEqual(md.product.hardwareRevisions, ['B']);
    assert.equal(md.payloads[0]!.version, '1.2.3+4');
    assert.deepEqual(md.payloads[0]!.target, { kind: 'smp', image: 0, slot: 1 });
    assert.equal(md.provenance!.system, 'mender');
    assert.equal(md.provenance!.identifiers.artifact_name, 'gw-fw-1.2.3');
    assert.equal(md.provenance!.identifiers['provides:rootfs-image.version'], '1.2.3');
    assert.deepEqual(md.provenance!.targets, ['acme-gw-revB', 'acme-gw-revX']);
    assert.deepEqual(md.provenance!.proof, { method: 'mender-signature', algorithm: alg, fingerprint: readTrustedKey(readFileSync(pub, 'utf8'), 'k').fingerprint });
    // An ordinary bundle: verified against the vendor root, the provenance signed with it.
    const check = await checkBundle(r.path, { dir: lab.dataDir, device: { vendorId: VENDOR_ID, classId: CLASS_ID, hardwareRevision: 'B', mcuProductId: 0x413 } });
    assert.deepEqual(check.report.metadata.provenance, md.provenance);
    // The device-type targeting carries over: a revision-C unit is refused.
    await assert.rejects(checkBundle(r.path, { dir: lab.dataDir, device: { vendorId: VENDOR_ID, classId: CLASS_ID, hardwareRevision: 'C', mcuProductId: 0x413 } }), code('bundle.wrong-hardware'));
  }
});

test('Mender: unsigned, signed by another key, tampered payload, tampered manifest and other hardware are each refused with their own code', { skip }, async () => {
  const payload = join(lab.dir, 'app.bin');
  const unsigned = menderArtifact(lab.dir, 'unsigned.mender', payload, { name: 'gw-fw-1.2.3', deviceTypes: ['acme-gw-revB'] });
  await assert.rejects(make(`mender:${unsigned}`, { menderKeys: [keys.rsaPub] }), code('fleet.mender.unsigned'));
  await assert.rejects(make(`mender:${unsigned}`), code('fleet.mender.key-required'));
  const checksumsOnly = await make(`mender:${unsigned}`, { allowUnsigned: true });
  assert.deepEqual(checksumsOnly.metadata.provenance!.proof, { method: 'hashes-only' });
  assert.equal(checksumsOnly.metadata.version, 'gw-fw-1.2.3', 'no version provide: the artifact name');

  const signed = menderArtifact(lab.dir, 'signed.mender', payload, { name: 'gw-fw-1.2.3', deviceTypes: ['acme-gw-revB'], key: keys.rsa });
  await assert.rejects(make(`mender:${signed}`, { menderKeys: [keys.otherRsaPub, keys.ecPub] }), code('fleet.mender.signature-invalid'));

  // The payload swapped after signing (same file name, one byte different): its checksum no longer matches the signed manifest.
  const evil = fileBytes(payload);
  evil[100]! ^= 0xff;
  const swapped = tamperArtifact(lab.dir, signed, 'swapped.mender', (d) => replacePayload(d, 'app.bin', evil));
  await assert.rejects(make(`mender:${swapped}`, { menderKeys: [keys.rsaPub] }), code('fleet.mender.checksum-mismatch'));
  // ... and the manifest edited to match it: now the signature fails.
  const rewritten = tamperArtifact(lab.dir, signed, 'rewritten.mender', (d) => {
    replacePayload(d, 'app.bin', evil);
    const m = readFileSync(join(d, 'manifest'), 'utf8').replace(/^[0-9a-f]{64}(?= {2}data\/0000\/app\.bin)/m, Buffer.from(sha256Base64(evil), 'base64').toString('hex'));
    writeFileSync(join(d, 'manifest'), m);
  });
  await assert.rejects(make(`mender:${rewritten}`, { menderKeys: [keys.rsaPub] }), code('fleet.mender.signature-invalid'));
  // Unsigned and tampered: checksums still catch it.
  const unsignedSwapped = tamperArtifact(lab.dir, unsigned, 'unsigned-swapped.mender', (d) => replacePayload(d, 'app.bin', evil));
  await assert.rejects(make(`mender:${unsignedSwapped}`, { allowUnsigned: true }), code('fleet.mender.checksum-mismatch'));

  const other = menderArtifact(lab.dir, 'other-hw.mender', payload, { name: 'sensor-fw-1.2.3', deviceTypes: ['acme-sensor-rev1'], key: keys.ec });
  await assert.rejects(make(`mender:${other}`, { menderKeys: [keys.ecPub] }), code('fleet.device-type-mismatch'));

  // Uncompressed artifacts are read; lzma ones are refused by name (node has no xz decompressor).
  const plain = menderArtifact(lab.dir, 'plain.mender', payload, { name: 'gw-fw-1.2.3', deviceTypes: ['acme-gw-revB'], key: keys.rsa, compression: 'none' });
  assert.equal((await make(`mender:${plain}`, { menderKeys: [keys.rsaPub] })).metadata.provenance!.proof.method, 'mender-signature');
  const xz = menderArtifact(lab.dir, 'xz.mender', payload, { name: 'gw-fw-1.2.3', deviceTypes: ['acme-gw-revB'], key: keys.rsa, compression: 'lzma' });
  await assert.rejects(make(`mender:${xz}`, { menderKeys: [keys.rsaPub] }), code('fleet.mender.compression-unsupported'));

  // Not a Mender artifact at all.
  await assert.rejects(make(`mender:${payload}`, { menderKeys: [keys.ecPub] }), code('fleet.mender.invalid'));
});

function awsJob(name: string, signer: string, file: string, over: Record<string, unknown> = {}, wrap = false): string {
  const doc = {
    afr_ota: {
      protocols: ['MQTT'],
      streamname: 'AFR_OTA-1a2b3c',
      files: [{ filepath: '/fw/app.bin', filesize: fileBytes(file).length, fileid: 0, certfile: 'codesign.crt', 'sig-sha256-ecdsa': otaSignature(signer, file), ...over }],
    },
  };
  return lab.file(name, JSON.stringify(wrap ? { execution: { jobId: 'AFR_OTA-gw-1-2-3', thingName: 'gw-0042', status: 'QUEUED', versionNumber: 1, executionNumber: 1, jobDocument: doc } } : doc));
}

test('AWS IoT / FreeRTOS OTA: a job signed by the trusted code-signing certificate imports; tampered, resized, other-signed, expired and wrong-curve are refused', { skip }, async () => {
  const good = codeSigning(lab.dir, 'acme-codesign');
  const other = codeSigning(lab.dir, 'other-codesign');
  const p384 = codeSigning(lab.dir, 'p384-codesign', { curve: 'secp384r1' });
  const app = join(lab.dir, 'app.bin');
  const job = awsJob('job.json', good.key, app, {}, true);
  const r = await make(`aws-ota:${job}`, { awsCertificate: good.cert, awsFiles: [`0=${app}`] });
  assert.equal(r.metadata.version, '1.2.3+4', 'a job document has no version: the image header gives it');
  assert.deepEqual(r.metadata.product.hardwareRevisions, ['B'], 'a job names no hardware: the spec maps "*"');
  const prov = r.metadata.provenance!;
  assert.equal(prov.system, 'aws-iot-ota');
  assert.deepEqual(prov.identifiers, { jobId: 'AFR_OTA-gw-1-2-3', thingName: 'gw-0042', streamname: 'AFR_OTA-1a2b3c', 'file:0': '/fw/app.bin' });
  assert.equal(prov.proof.method, 'aws-code-signing');
  assert.equal(prov.proof.subject, 'CN=acme-codesign');
  await checkBundle(r.path, { dir: lab.dataDir });

  const bare = awsJob('bare.json', good.key, app);
  assert.equal((await make(`aws-ota:${bare}`, { awsCertificate: good.cert, awsFiles: [app], awsJobId: 'job-7' })).metadata.provenance!.identifiers.jobId, 'job-7');

  const evil = fileBytes(app);
  evil[200]! ^= 1;
  const evilPath = lab.file('evil.bin', evil);
  await assert.rejects(make(`aws-ota:${bare}`, { awsCertificate: good.cert, awsFiles: [evilPath] }), code('fleet.aws.signature-invalid'));
  await assert.rejects(make(`aws-ota:${bare}`, { awsCertificate: other.cert, awsFiles: [app] }), code('fleet.aws.signature-invalid'));
  const resized = awsJob('resized.json', good.key, app, { filesize: 1234 });
  await assert.rejects(make(`aws-ota:${resized}`, { awsCertificate: good.cert, awsFiles: [app] }), code('fleet.aws.size-mismatch'));
  await assert.rejects(make(`aws-ota:${bare}`, { awsCertificate: good.cert, awsFiles: [app], now: Date.now() + 800 * 86_400_000 }), code('fleet.aws.certificate-expired'));
  await assert.rejects(make(`aws-ota:${bare}`, { awsCertificate: p384.cert, awsFiles: [app] }), code('fleet.aws.certificate-key'));
  await assert.rejects(make(`aws-ota:${bare}`, { awsCertificate: good.cert }), code('fleet.aws.file-missing'));
  await assert.rejects(make(`aws-ota:${bare}`, { awsFiles: [app] }), code('fleet.aws.certificate-required'));
  // A delta patch (or anything not an MCUboot image), correctly signed, is still not something a cable installs.
  const patch = lab.file('app.bsdiff', new Uint8Array(4096).fill(0x42));
  const patchJob = awsJob('patch.json', good.key, patch);
  await assert.rejects(make(`aws-ota:${patchJob}`, { awsCertificate: good.cert, awsFiles: [patch] }), code('fleet.not-mcuboot'));
  const typo = lab.file('typo.json', JSON.stringify({ afr_ota: { files: [{ filepath: '/a', filesize: 1, fileid: 0, certfile: 'c', 'sig-sha256-ecdsa': 'MEUCIQDabcdefghijklmn', fileSize: 3 }] } }));
  await assert.rejects(make(`aws-ota:${typo}`, { awsCertificate: good.cert, awsFiles: [app] }), code('fleet.aws.invalid'));
});

function aduManifest(name: string, file: string, over: { bytes?: Uint8Array; size?: number; compatibility?: Record<string, string>[] } = {}): string {
  const bytes = over.bytes ?? fileBytes(file);
  return lab.file(
    name,
    JSON.stringify({
      updateId: { provider: 'Acme', name: 'Gateway', version: '1.2.3' },
      isDeployable: true,
      compatibility: over.compatibility ?? [{ manufacturer: 'acme', model: 'gw-b' }],
      instructions: { steps: [{ handler: 'microsoft/swupdate:2', files: ['app.bin'], handlerProperties: { installedCriteria: '1.2.3' } }] },
      files: [{ filename: 'app.bin', sizeInBytes: over.size ?? bytes.length, hashes: { sha256: sha256Base64(bytes) } }],
      manifestVersion: '5.0',
      createdDateTime: '2026-12-01T10:00:00Z',
    }),
  );
}

test('Azure Device Update: an import manifest whose files match becomes a vendor-signed bundle; wrong hash, size, compatibility and fields are refused', { skip }, async () => {
  const app = join(lab.dir, 'app.bin');
  const r = await make(`adu:${aduManifest('adu.importmanifest.json', app)}`);
  const prov = r.metadata.provenance!;
  assert.deepEqual(prov.identifiers, { provider: 'Acme', name: 'Gateway', version: '1.2.3' });
  assert.deepEqual(prov.targets, ['manufacturer=acme,model=gw-b']);
  assert.deepEqual(prov.proof, { method: 'hashes-only' });
  assert.equal(r.metadata.version, '1.2.3');
  assert.deepEqual(r.metadata.product.hardwareRevisions, ['B']);
  await checkBundle(r.path, { dir: lab.dataDir });

  const other = fileBytes(app);
  other[300]! ^= 1;
  await assert.rejects(make(`adu:${aduManifest('adu-hash.json', app, { bytes: other })}`), code('fleet.adu.hash-mismatch'));
  await assert.rejects(make(`adu:${aduManifest('adu-size.json', app, { size: 99 })}`), code('fleet.adu.size-mismatch'));
  await assert.rejects(make(`adu:${aduManifest('adu-compat.json', app, { compatibility: [{ manufacturer: 'acme', model: 'sensor' }] })}`), code('fleet.device-type-mismatch'));
  const bad = lab.file('adu-field.json', readFileSync(aduManifest('adu-x.json', app), 'utf8').replace('"isDeployable"', '"isDeployble"'));
  await assert.rejects(make(`adu:${bad}`), code('fleet.adu.invalid'));
});

test('the update library keeps an imported release\'s provenance; the CLI shows it and refuses a tampered artifact with its code', { skip }, async () => {
  const art = menderArtifact(lab.dir, 'cli.mender', join(lab.dir, 'app.bin'), { name: 'gw-fw-1.2.3', deviceTypes: ['acme-gw-revC'], version: '1.2.3', key: keys.ec });
  lab.file('release.pem', exportPrivatePem(vendor.releaseKeys[0]!));
  const cli = (...args: string[]) => {
    const p = spawnSync(process.execPath, ['bin/unbrick.js', ...args, '--json'], { encoding: 'utf8', env: { ...process.env, UNBRICK_DATA_DIR: lab.dataDir } });
    return { status: p.status, json: JSON.parse(p.stdout) as Record<string, unknown> };
  };
  const out = join(lab.dir, 'cli.ubundle');
  let r = cli('bundle', 'create', join(lab.dir, 'spec.json'), '--from', `mender:${art}`, '--mender-key', keys.ecPub, '--key', join(lab.dir, 'release.pem'), '-o', out);
  assert.equal(r.status, 0, JSON.stringify(r.json));
  assert.equal((r.json.provenance as { system: string }).system, 'mender');
  r = cli('bundle', 'verify', out);
  assert.equal(r.status, 0, JSON.stringify(r.json));
  assert.equal((r.json.provenance as { identifiers: Record<string, string> }).identifiers.artifact_name, 'gw-fw-1.2.3');
  r = cli('bundle', 'create', join(lab.dir, 'spec.json'), '--from', `mender:${art}`, '--mender-key', keys.rsaPub, '--key', join(lab.dir, 'release.pem'), '-o', join(lab.dir, 'no.ubundle'));
  assert.equal(r.status, 1);
  assert.equal(r.json.error, 'fleet.mender.signature-invalid');

  const lib = new BundleLibrary('update', { dir: lab.dataDir });
  const { entry } = await lib.import(out);
  assert.equal(entry.provenance?.identifiers.artifact_name, 'gw-fw-1.2.3');
  assert.equal(lib.entries().find((e) => e.id === entry.id)?.provenance?.proof.method, 'mender-signature', 'kept in the index');
});
