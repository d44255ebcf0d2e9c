import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportPrivatePem, generateKey } from '../../../src/crypto/keys.ts';
import { goldenDir } from '../../../src/trust/library.ts';
import { rollbackPath } from '../../../src/trust/rollback-state.ts';
import { baseSpec, Lab, vectorImage, vectorKeyPath, VENDOR_ID, CLASS_ID } from './fixture.ts';

function cli(lab: Lab, ...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/unbrick.js', ...args, '--json'], { encoding: 'utf8', env: { ...process.env, UNBRICK_DATA_DIR: lab.dataDir } });
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    assert.fail(`not JSON (exit ${r.status}): ${r.stdout}\n${r.stderr}`);
  }
  return { status: r.status, json, stderr: r.stderr };
}

test('CLI: vendor makes a root and bundles; technician trusts, verifies, imports golden, matches, revokes', async () => {
  const lab = new Lab();
  try {
    const rootKey = generateKey('ed25519');
    const releaseKey = generateKey('ecdsa-p256');
    lab.file('root.pem', exportPrivatePem(rootKey));
    lab.file('release.pem', exportPrivatePem(releaseKey));
    lab.file('root-spec.json', JSON.stringify({ vendorId: VENDOR_ID, vendorName: 'Acme', version: 1, validDays: 3650, rootKeys: ['root.pem'], rootThreshold: 1, releaseKeys: ['release.pem'], releaseThreshold: 1, imageKeys: [vectorKeyPath('ed25519-a')] }));
    let r = cli(lab, 'trust', 'create-root', join(lab.dir, 'root-spec.json'), '--key', join(lab.dir, 'root.pem'), '-o', join(lab.dir, 'root.json'));
    assert.equal(r.status, 0, JSON.stringify(r.json));

    r = cli(lab, 'bundle', 'verify', join(lab.dir, 'x.ubundle'));
    assert.equal(r.json.error, 'trust.no-store');
    assert.equal(cli(lab, 'trust', 'init').status, 0);
    // Without --fingerprint: shows the root and its signer, changes nothing.
    r = cli(lab, 'trust', 'add-root', join(lab.dir, 'root.json'));
    assert.equal(r.status, 2);
    assert.equal(r.json.error, 'trust.confirm-fingerprint');
    assert.deepEqual((r.json.details as { signers: string[] }).signers, [rootKey.fingerprint]);
    assert.deepEqual(cli(lab, 'trust', 'list').json.vendors, []);
    r = cli(lab, 'trust', 'add-root', join(lab.dir, 'root.json'), '--fingerprint', rootKey.fingerprint.slice(0, 20));
    assert.equal(r.status, 0, JSON.stringify(r.json));

    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    lab.file('update.json', JSON.stringify({ ...baseSpec({ created: now, expires: undefined, validDays: 30 }) }));
    r = cli(lab, 'bundle', 'create', join(lab.dir, 'update.json'), '--key', join(lab.dir, 'release.pem'), '-o', join(lab.dir, 'update.ubundle'));
    assert.equal(r.status, 0, JSON.stringify(r.json));
    const device = JSON.stringify({ vendorId: VENDOR_ID, classId: CLASS_ID, hardwareRevision: 'B', mcuProductId: '0x413' });
    r = cli(lab, 'bundle', 'verify', join(lab.dir, 'update.ubundle'), '--device-id', device);
    assert.equal(r.status, 0, JSON.stringify(r.json));
    assert.equal(r.json.ok, true);
    r = cli(lab, 'bundle', 'verify', join(lab.dir, 'update.ubundle'), '--device-id', JSON.stringify({ classId: CLASS_ID, hardwareRevision: 'Z' }));
    assert.equal(r.status, 1);
    assert.equal(r.json.error, 'bundle.wrong-hardware');
    assert.equal(r.json.kind, 'check');
    r = cli(lab, 'bundle', 'inspect', join(lab.dir, 'update.ubundle'));
    assert.equal((r.json.verdict as { verified: boolean }).verified, true);
    assert.equal(existsSync(rollbackPath(lab.dataDir)), false);

    // Golden: an update bundle is refused (nothing written), a golden one is imported and matched.
    r = cli(lab, 'golden', 'import', join(lab.dir, 'update.ubundle'));
    assert.equal(r.json.error, 'golden.not-golden');
    assert.deepEqual(existsSync(goldenDir(lab.dataDir)) ? readdirSync(goldenDir(lab.dataDir)) : [], []);
    lab.file('golden.json', JSON.stringify({ ...baseSpec({ kind: 'golden', created: now, expires: undefined, validDays: 30 }) }));
    assert.equal(cli(lab, 'bundle', 'create', join(lab.dir, 'golden.json'), '--key', join(lab.dir, 'release.pem'), '-o', join(lab.dir, 'golden.ubundle')).status, 0);
    r = cli(lab, 'golden', 'import', join(lab.dir, 'golden.ubundle'));
    assert.equal(r.status, 0, JSON.stringify(r.json));
    const id = (r.json.entry as { id: string }).id;
    const imageHash = (r.json.entry as { payloads: { imageHash: string }[] }).payloads[0]!.imageHash;
    // The hash a unit reports for its slot is the MCUboot image hash TLV (imgtool dumpinfo shows it too).
    const manifest = JSON.parse(readFileSync(join(vectorImage('ed25519_basic'), '../../manifest.json'), 'utf8')) as { images: { id: string; decoded: { semantic: { image_hash: { value_hex: string } } } }[] };
    const expected = manifest.images.find((i) => i.id === 'ed25519_basic')!;
    assert.equal(imageHash, expected.decoded.semantic.image_hash.value_hex);
    r = cli(lab, 'golden', 'match', '--hash', imageHash);
    assert.equal(r.status, 0);
    assert.equal((r.json.matches as { version: string; ok: boolean }[])[0]!.ok, true);
    r = cli(lab, 'golden', 'match', '--hash', 'ab'.repeat(32));
    assert.equal(r.status, 1);

    // A modified library file is detected on use.
    const file = join(goldenDir(lab.dataDir), `${id}.ubundle`);
    const bytes = readFileSync(file);
    bytes[bytes.length - 30]! ^= 0xff;
    writeFileSync(file, bytes);
    r = cli(lab, 'golden', 'list');
    assert.equal(r.status, 1);
    assert.equal((r.json.entries as { error: string }[])[0]!.error, 'golden.file-modified');
    assert.equal((cli(lab, 'golden', 'match', '--hash', imageHash).json.matches as { ok: boolean }[])[0]!.ok, false);
    assert.equal(cli(lab, 'golden', 'remove', id.slice(0, 10)).status, 0);
    assert.equal((cli(lab, 'golden', 'list').json.entries as unknown[]).length, 0);

    // Revoking the release key on this laptop stops its bundles.
    assert.equal(cli(lab, 'trust', 'revoke', releaseKey.fingerprint.slice(0, 12), '--reason', 'key leaked').status, 0);
    r = cli(lab, 'bundle', 'verify', join(lab.dir, 'update.ubundle'));
    assert.equal(r.json.error, 'bundle.key-revoked');
    r = cli(lab, 'trust', 'export', '-o', join(lab.dir, 'exported.json'));
    assert.equal(r.status, 0);
    assert.deepEqual(readFileSync(join(lab.dir, 'exported.json')), readFileSync(join(lab.dir, 'root.json')));
  } finally {
    lab.cleanup();
  }
});
