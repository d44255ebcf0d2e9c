/**
 * The Bundles screen: bundle files added from the browser travel in chunks over
 * the contract, are verified against the trust store and land in the golden or
 * update library their signed metadata names; an untrusted one is refused with
 * its reason, and no upload leaves a file behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openApp, screenshot } from './helpers.ts';
import { Lab, makeBundle, makeVendor } from '../unit/bundle/fixture.ts';
import { TrustStore } from '../../src/trust/store.ts';

test('bundles screen: add golden and update bundles from the browser; an untrusted one is refused', { timeout: 120_000 }, async (t) => {
  const { served, page } = await openApp(t);
  const files = new Lab();
  t.after(() => files.cleanup());
  const vendor = makeVendor();
  TrustStore.init(served.dataDir).addRoot(vendor.rootBytes, vendor.rootKeys[0]!.fingerprint);
  const golden = await makeBundle(files, 'recovery.ubundle', [vendor.releaseKeys[0]!], { kind: 'golden', version: '1.2.0', sequence: 4 });
  const update = await makeBundle(files, 'release.ubundle', [vendor.releaseKeys[0]!], { version: '1.3.0', sequence: 5 });
  const stranger = await makeBundle(files, 'stranger.ubundle', [makeVendor().releaseKeys[0]!], { kind: 'golden' });

  await page.getByTestId('nav-library').click();
  await page.getByTestId('library').waitFor();

  const add = async (path: string) => {
    await page.getByTestId('bundle-file').setInputFiles(path);
    await page.getByTestId('bundle-outcome').waitFor({ timeout: 60_000 });
    return page.getByTestId('bundle-outcome').innerText();
  };
  assert.match(await add(golden), /Verified and added to the golden library: Acme Gateway 1\.2\.0\./);
  await page.getByTestId('library-golden').getByText('Acme Gateway').waitFor();
  assert.match(await add(update), /Verified and added to the update library: Acme Gateway 1\.3\.0\./);
  await page.getByTestId('library-update').getByText('1.3.0').waitFor();
  assert.match(await add(stranger), /Not added: .*\(bundle\.key-unknown\)/s);
  assert.equal(await page.getByTestId('library-golden').locator('tbody tr').count(), 1, 'the refused bundle is not listed');

  // Check re-verifies now: a release key revoked since import shows as BAD with its reason.
  const id = async (kind: string) => (await page.getByTestId(`library-${kind}`).locator('tbody tr code').first().innerText()).trim();
  const goldenId = await id('golden');
  const updateId = await id('update');
  await page.getByTestId(`check-${goldenId}`).getByRole('button').click();
  await page.getByTestId(`check-${goldenId}`).getByText('verified just now').waitFor();
  TrustStore.load(served.dataDir).revoke(vendor.releaseKeys[0]!.fingerprint, 'laptop stolen');
  await page.getByTestId(`check-${updateId}`).getByRole('button').click();
  await page.getByTestId(`check-${updateId}`).getByText(/BAD: .*\(bundle\.key-revoked\)/).waitFor();
  await screenshot(page, '15-bundles');

  // Remove asks first, then the entry is gone from the library.
  page.once('dialog', (d) => void d.accept());
  await page.getByTestId(`remove-${goldenId}`).click();
  await page.getByTestId('library').getByText('None yet.').waitFor();

  const uploads = join(served.dataDir, 'uploads');
  assert.deepEqual(existsSync(uploads) ? readdirSync(uploads) : [], [], 'no upload left behind');
});
