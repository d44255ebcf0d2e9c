import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { generateKey } from '../../../src/crypto/keys.ts';
import { checkBundle } from '../../../src/trust/check.ts';
import { buildRoot, signRoot } from '../../../src/trust/root.ts';
import { storePath, TrustStore } from '../../../src/trust/store.ts';
import { inTrustedLab, Lab, makeBundle, makeVendor, T0, DAY } from '../bundle/fixture.ts';
import { hasCode as code } from '../../helpers/errors.ts';


test('add-root needs the fingerprint of a root key that actually signed the file', () => {
  const lab = new Lab();
  try {
    const v = makeVendor();
    const store = TrustStore.init(lab.dataDir);
    assert.throws(() => store.addRoot(v.rootBytes, v.releaseKeys[0]!.fingerprint), code('trust.fingerprint-mismatch'));
    assert.throws(() => store.addRoot(v.rootBytes, 'abcd'), code('trust.fingerprint-short'));
    // A forged root that lists the vendor's real root key but is signed by the forger is refused.
    const forger = generateKey('ed25519');
    const forged = signRoot(buildRoot({ ...v.rootSpec, rootKeys: [v.rootKeys[0]!, forger], rootThreshold: 1 }), [forger]);
    assert.throws(() => store.addRoot(forged, v.rootKeys[0]!.fingerprint), code('trust.fingerprint-mismatch'));
    assert.equal(TrustStore.load(lab.dataDir).vendors().length, 0, 'nothing added on failure');
    store.addRoot(v.rootBytes, v.rootKeys[0]!.fingerprint.slice(0, 16));
    assert.equal(TrustStore.load(lab.dataDir).vendors().length, 1);
  } finally {
    lab.cleanup();
  }
});

test('key rotation end to end: new release key verifies after rotation, the old one stops', inTrustedLab(async (lab, v) => {
  const [oldRelease] = v.releaseKeys;
  const oldBundle = await makeBundle(lab, 'old.ubundle', [oldRelease!]);
  await checkBundle(oldBundle, { dir: lab.dataDir, clock: T0 + DAY });

  // The vendor rotates both the root key and the release key; root v2 is signed by old and new root keys.
  const newRoot = generateKey('ecdsa-p256');
  const newRelease = generateKey('ed25519');
  const v2 = signRoot(buildRoot({ ...v.rootSpec, version: 2, rootKeys: [newRoot], releaseKeys: [newRelease] }), [v.rootKeys[0]!, newRoot]);
  const newBundle = await makeBundle(lab, 'new.ubundle', [newRelease], { sequence: 11 });
  await assert.rejects(checkBundle(newBundle, { dir: lab.dataDir, clock: T0 + DAY }), code('bundle.key-unknown'));

  // A v2 signed only by the new key (not by the trusted old root key) is refused; the store is unchanged.
  const selfOnly = signRoot(buildRoot({ ...v.rootSpec, version: 2, rootKeys: [newRoot], releaseKeys: [newRelease] }), [newRoot]);
  assert.throws(() => TrustStore.load(lab.dataDir).rotate([selfOnly]), code('trust.root-signature'));
  // Skipping a version is refused too.
  const v3early = signRoot(buildRoot({ ...v.rootSpec, version: 3, rootKeys: [newRoot], releaseKeys: [newRelease] }), [v.rootKeys[0]!, newRoot]);
  assert.throws(() => TrustStore.load(lab.dataDir).rotate([v3early]), code('trust.root-version-gap'));

  TrustStore.load(lab.dataDir).rotate([v2]);
  const after = TrustStore.load(lab.dataDir); // survives a restart (re-verified chain)
  assert.equal(after.vendors()[0]!.roots.length, 2);
  await checkBundle(newBundle, { dir: lab.dataDir, clock: T0 + DAY });
  await assert.rejects(checkBundle(oldBundle, { dir: lab.dataDir, clock: T0 + DAY }), code('bundle.key-retired'));
  // Replaying the old root is a rollback.
  assert.throws(() => after.rotate([v.rootBytes]), code('trust.root-rollback'));

  // Root v3 keeps the release key but revokes it explicitly (compromise): now refused as revoked.
  const v3 = signRoot(buildRoot({ ...v.rootSpec, version: 3, rootKeys: [newRoot], releaseKeys: [newRelease, generateKey('ed25519')], revokedKeyids: [newRelease.fingerprint] }), [newRoot]);
  after.rotate([v3]);
  await assert.rejects(checkBundle(newBundle, { dir: lab.dataDir, clock: T0 + DAY }), code('bundle.key-revoked'));
}));

test('a trust store edited by hand is detected on load', () => {
  const lab = new Lab();
  try {
    const v = makeVendor();
    lab.trust(v);
    const f = JSON.parse(readFileSync(storePath(lab.dataDir), 'utf8')) as { vendors: Record<string, { roots: string[] }> };
    const vendor = Object.values(f.vendors)[0]!;
    // Swap in a root signed by someone else (adds their release key).
    const other = makeVendor();
    vendor.roots[0] = Buffer.from(other.rootBytes).toString('base64');
    writeFileSync(storePath(lab.dataDir), JSON.stringify(f));
    assert.throws(() => TrustStore.load(lab.dataDir), code('trust.store-corrupt'));
  } finally {
    lab.cleanup();
  }
});

test('an expired vendor root stops bundle verification until a newer root is applied', inTrustedLab(async (lab, v) => {
  const path = await makeBundle(lab, 'b.ubundle', [v.releaseKeys[0]!], { expires: new Date(T0 + 5000 * DAY).toISOString().replace('.000Z', 'Z') });
  await assert.rejects(checkBundle(path, { dir: lab.dataDir, clock: T0 + 3700 * DAY }), code('trust.root-expired'));
}));
