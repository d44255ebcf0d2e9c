/**
 * The Bundles screen shows where an imported fleet release came from: a
 * Mender artifact (made by mender-artifact, ECDSA-signed) re-signed by the
 * vendor and added from the browser lists its artifact name and proof.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openApp } from './helpers.ts';
import { CLASS_ID, Lab, makeVendor, vectorImage, vectorKeyPath, VENDOR_ID } from '../unit/bundle/fixture.ts';
import { have, menderArtifact, run } from '../unit/fleet/fixture.ts';
import { createBundleFromFleet } from '../../src/app/fleet-import.ts';
import { TrustStore } from '../../src/trust/store.ts';

const skip = have('mender-artifact') && have('openssl') ? false : 'needs mender-artifact and openssl (apt)';

test('bundles screen: an imported Mender release shows its artifact name and the key that proved it', { skip, timeout: 120_000 }, async (t) => {
  const { served, page } = await openApp(t);
  const files = new Lab();
  t.after(() => files.cleanup());
  const vendor = makeVendor();
  TrustStore.init(served.dataDir).addRoot(vendor.rootBytes, vendor.rootKeys[0]!.fingerprint);
  run('openssl', ['ecparam', '-genkey', '-name', 'prime256v1', '-noout', '-out', join(files.dir, 'mender.pem')]);
  run('openssl', ['ec', '-in', join(files.dir, 'mender.pem'), '-pubout', '-out', join(files.dir, 'mender.pub.pem')]);
  copyFileSync(vectorImage('ed25519_basic'), join(files.dir, 'app.bin'));
  const art = menderArtifact(files.dir, 'gw.mender', join(files.dir, 'app.bin'), { name: 'gw-fw-1.2.3', deviceTypes: ['acme-gw-revB'], version: '1.2.3', key: join(files.dir, 'mender.pem') });
  const spec = join(files.dir, 'import.json');
  writeFileSync(spec, JSON.stringify({ product: { vendorId: VENDOR_ID, classId: CLASS_ID, name: 'Acme Gateway' }, hardware: { 'acme-gw-revB': 'B' }, sequence: 7, validDays: 30, imageKey: vectorKeyPath('ed25519-a') }));
  const b = await createBundleFromFleet({ from: `mender:${art}`, specPath: spec, menderKeys: [join(files.dir, 'mender.pub.pem')], releaseKeys: [vendor.releaseKeys[0]!], out: join(files.dir, 'gw.ubundle') });

  await page.getByTestId('nav-library').click();
  await page.getByTestId('library').waitFor();
  await page.getByTestId('bundle-file').setInputFiles(b.path);
  await page.getByTestId('bundle-outcome').waitFor({ timeout: 60_000 });
  assert.match(await page.getByTestId('bundle-outcome').innerText(), /Verified and added to the update library: Acme Gateway 1\.2\.3\./);
  const id = (await page.getByTestId('library-update').locator('tbody tr code').first().innerText()).trim();
  const line = await page.getByTestId(`provenance-${id}`).innerText();
  assert.match(line, /from mender: artifact_name gw-fw-1\.2\.3/);
  assert.match(line, /proved by ECDSA P-256 SHA-256, key [0-9a-f]{16}/);
});
