/**
 * Bundles around images signed at test time with the image toolkit's signImage
 * and image keys generated here: security counters, image-key revocation and
 * an image key the vendor's root does not list.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { exportPublicPem, generateKey, type ImageKey } from '../../../src/crypto/keys.ts';
import { signImage } from '../../../src/formats/mcuboot/index.ts';
import { checkBundle } from '../../../src/trust/check.ts';
import { TrustStore } from '../../../src/trust/store.ts';
import { Lab, makeBundle, makeVendor, T0, DAY } from './fixture.ts';
import { hasCode as code } from '../../helpers/errors.ts';


function image(lab: Lab, key: ImageKey, name: string, version: string, securityCounter: number): { file: string; keyFile: string } {
  const bytes = signImage(randomBytes(4096), { key, version, securityCounter, headerSize: 0x200, padHeader: true });
  return { file: lab.file(name, bytes), keyFile: lab.file(`${key.fingerprint.slice(0, 8)}.pub.pem`, exportPublicPem(key)) };
}

const payload = (i: { file: string; keyFile: string }) => [
  { file: i.file, name: 'app.bin', role: 'mcuboot-image' as const, target: { kind: 'smp' as const, image: 0, slot: 1 }, imageKey: i.keyFile },
];

test('security counter: an update with a lower counter than accepted is a downgrade, even at a higher version', async () => {
  const lab = new Lab();
  try {
    const imageKey = generateKey('ecdsa-p256');
    const v = makeVendor({ imageKeys: [imageKey] });
    lab.trust(v);
    const k = [v.releaseKeys[0]!];
    const b1 = await makeBundle(lab, 'b1.ubundle', k, { sequence: 1, payloads: payload(image(lab, imageKey, 'a.bin', '2.0.0', 5)) });
    const r = await checkBundle(b1, { dir: lab.dataDir, clock: T0 + DAY, record: true });
    assert.equal(r.report.metadata.payloads[0]!.securityCounter, 5);
    const b2 = await makeBundle(lab, 'b2.ubundle', k, { sequence: 2, payloads: payload(image(lab, imageKey, 'b.bin', '2.1.0', 4)) });
    await assert.rejects(checkBundle(b2, { dir: lab.dataDir, clock: T0 + DAY }), code('bundle.downgrade'));
    const b3 = await makeBundle(lab, 'b3.ubundle', k, { sequence: 3, payloads: payload(image(lab, imageKey, 'c.bin', '2.1.0', 5)) });
    await checkBundle(b3, { dir: lab.dataDir, clock: T0 + DAY });
  } finally {
    lab.cleanup();
  }
});

test('an image key the root does not list, or a revoked one, is refused', async () => {
  const lab = new Lab();
  try {
    const listed = generateKey('ed25519');
    const unlisted = generateKey('ed25519');
    const v = makeVendor({ imageKeys: [listed] });
    lab.trust(v);
    const k = [v.releaseKeys[0]!];
    const bad = await makeBundle(lab, 'bad.ubundle', k, { payloads: payload(image(lab, unlisted, 'u.bin', '1.0.0', 1)) });
    await assert.rejects(checkBundle(bad, { dir: lab.dataDir, clock: T0 + DAY }), code('bundle.image-key-unknown'));
    const good = await makeBundle(lab, 'good.ubundle', k, { payloads: payload(image(lab, listed, 'l.bin', '1.0.0', 1)) });
    await checkBundle(good, { dir: lab.dataDir, clock: T0 + DAY });
    TrustStore.load(lab.dataDir).revoke(listed.fingerprint, 'image key leaked');
    await assert.rejects(checkBundle(good, { dir: lab.dataDir, clock: T0 + DAY }), code('bundle.image-key-revoked'));
  } finally {
    lab.cleanup();
  }
});

test('bundle creation refuses an image that does not verify with its named image key', async () => {
  const lab = new Lab();
  try {
    const v = makeVendor();
    const a = generateKey('ed25519');
    const b = generateKey('ed25519');
    const img = image(lab, a, 'x.bin', '1.0.0', 1);
    const wrongKeyFile = lab.file('b.pub.pem', exportPublicPem(b));
    await assert.rejects(makeBundle(lab, 'x.ubundle', [v.releaseKeys[0]!], { payloads: [{ ...payload(img)[0]!, imageKey: wrongKeyFile }] }), code('bundle.image-invalid'));
  } finally {
    lab.cleanup();
  }
});
