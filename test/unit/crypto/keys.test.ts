/**
 * Keys in imgtool's formats: every vector key loads (private PEM, public PEM, raw DER),
 * yields exactly the bytes MCUboot embeds, and exports back to the files imgtool wrote.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { toHex } from '../../../src/core/bytes.ts';
import { UnbrickError } from '../../../src/core/errors.ts';
import { createPrivateKey } from 'node:crypto';
import { exportPrivatePem, exportPublicPem, generateKey, KEY_TYPES, loadKey, privatePkcs8 } from '../../../src/crypto/keys.ts';
import { encodePem } from './der.ts';
import { manifest, VECTORS } from '../mcuboot/vectors.ts';

const read = (rel: string) => readFileSync(join(VECTORS, rel));

for (const [name, entry] of Object.entries(manifest.keys)) {
  test(`vector key ${name}: loads and round-trips imgtool's formats`, () => {
    const priv = loadKey(read(entry.private_pem).toString('utf8'));
    const pub = loadKey(read(entry.public_pem).toString('utf8'));
    const raw = loadKey(new Uint8Array(read(entry.public_raw)));
    assert.equal(priv.type, entry.type === 'ecdsa-p256' && name.startsWith('enc') ? 'ecdsa-p256' : entry.type);
    // The exact bytes MCUboot embeds / hashes.
    assert.equal(toHex(priv.publicDer), toHex(read(entry.public_raw)));
    assert.equal(toHex(pub.publicDer), toHex(read(entry.public_raw)));
    assert.equal(toHex(raw.publicDer), toHex(read(entry.public_raw)));
    assert.equal(priv.fingerprint, entry.public_raw_sha256);
    if (entry.pubhash_sha256_raw) assert.equal(priv.fingerprint, toHex(read(entry.pubhash_sha256_raw)));
    // Export equals what imgtool wrote.
    assert.equal(exportPrivatePem(priv), read(entry.private_pem).toString('utf8'));
    assert.equal(exportPublicPem(pub), read(entry.public_pem).toString('utf8'));
    assert.equal(pub.privateKey, undefined);
  });
}

test('generated keys of every type reload from their own PEM', () => {
  for (const type of KEY_TYPES) {
    const k = generateKey(type);
    const again = loadKey(exportPrivatePem(k));
    assert.equal(again.type, type);
    assert.equal(toHex(again.publicDer), toHex(k.publicDer));
    assert.equal(loadKey(exportPublicPem(k)).fingerprint, k.fingerprint);
  }
});

test('SEC1 and PKCS#1 PEM forms are accepted', () => {
  const ec = loadKey(read('keys/ecdsa-p256-a.pem').toString('utf8'));
  // Build the SEC1 form from the PKCS#8 content (OpenSSL's "EC PRIVATE KEY").
  const pkcs8 = privatePkcs8(ec);
  const sec1 = pkcs8.subarray(pkcs8.length - 0x6d);
  assert.equal(loadKey(encodePem('EC PRIVATE KEY', withCurve(sec1))).fingerprint, ec.fingerprint);
  const rsa = loadKey(new Uint8Array(read('keys/rsa-2048.pub.der')));
  assert.equal(loadKey(encodePem('RSA PUBLIC KEY', rsa.publicDer)).fingerprint, rsa.fingerprint);
});

/** Inserts the [0] curve parameters into a parameter-less SEC1 key so it stands alone. */
function withCurve(sec1: Uint8Array): Uint8Array {
  const body = sec1.subarray(2); // SEQUENCE, short length
  const ver = body.subarray(0, 3);
  const priv = body.subarray(3, 3 + 34);
  const rest = body.subarray(37);
  const params = Uint8Array.from([0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
  const len = ver.length + priv.length + params.length + rest.length;
  return Uint8Array.from([0x30, ...(len < 0x80 ? [len] : [0x81, len]), ...ver, ...priv, ...params, ...rest]);
}

test('unreadable keys are typed input errors', () => {
  const codeOf = (input: string | Uint8Array) => {
    try {
      loadKey(input);
      return 'no error';
    } catch (e) {
      assert.ok(e instanceof UnbrickError, String(e));
      assert.equal(e.kind, 'input');
      return e.code;
    }
  };
  assert.equal(codeOf('hello'), 'keys.no-pem');
  assert.equal(codeOf('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'), 'keys.malformed');
  assert.equal(codeOf('-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n'), 'keys.encrypted');
  assert.equal(codeOf(new Uint8Array([1, 2, 3, 4])), 'keys.unreadable');
  const spki = loadKey(read('keys/ecdsa-p256-a.pub.pem').toString('utf8')).publicDer.slice();
  spki[spki.length - 1]! ^= 0xff; // point off the curve
  assert.equal(codeOf(encodePem('PUBLIC KEY', spki)), 'keys.malformed');
});

test('C arrays and raw forms match imgtool getpub -e lang-c / getpriv / getpub -e raw', async () => {
  const { exportCSource, bootloaderPrivateDer } = await import('../../../src/crypto/keys.ts');
  for (const [name, entry] of Object.entries(manifest.keys)) {
    const priv = loadKey(read(entry.private_pem).toString('utf8'));
    assert.equal(exportCSource(priv, 'public'), read(entry.public_c).toString('utf8'), name);
    if (entry.purpose === 'encrypt') {
      assert.equal(exportCSource(priv, 'private'), read(`keys/${name}.priv.c`).toString('utf8'), `${name} getpriv`);
      assert.ok(bootloaderPrivateDer(priv).length > 32);
    }
  }
});

test('encrypted private keys load with their passphrase; a missing or wrong one is a typed error', () => {
  const code = (f: () => unknown) => {
    try {
      f();
      return 'no error';
    } catch (e) {
      assert.ok(e instanceof UnbrickError, String(e));
      assert.equal(e.kind, 'input');
      return e.code;
    }
  };
  for (const name of ['ecdsa-p256-a', 'ed25519-a', 'rsa-2048']) {
    const plain = loadKey(read(`keys/${name}.pem`).toString('utf8'));
    const obj = createPrivateKey(read(`keys/${name}.pem`));
    // What `imgtool keygen -p` writes: PKCS#8 "ENCRYPTED PRIVATE KEY" (PBES2), as PEM and as DER.
    const pem = String(obj.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'correct horse' }));
    const der = new Uint8Array(obj.export({ type: 'pkcs8', format: 'der', cipher: 'aes-256-cbc', passphrase: 'correct horse' }));
    assert.match(pem, /BEGIN ENCRYPTED PRIVATE KEY/);
    for (const input of [pem, der]) {
      const k = loadKey(input, name, { passphrase: 'correct horse' });
      assert.equal(k.fingerprint, plain.fingerprint, name);
      assert.equal(exportPrivatePem(k), exportPrivatePem(plain), `${name}: the decrypted key is the same key`);
      assert.equal(code(() => loadKey(input, name)), 'keys.encrypted', name);
      assert.equal(code(() => loadKey(input, name, { passphrase: 'wrong horse' })), 'keys.bad-passphrase', name);
    }
  }
  // Legacy OpenSSL PEM encryption ("Proc-Type: 4,ENCRYPTED" in an EC PRIVATE KEY block).
  const ec = createPrivateKey(read('keys/ecdsa-p256-a.pem'));
  const legacy = String(ec.export({ type: 'sec1', format: 'pem', cipher: 'aes-128-cbc', passphrase: 'pw' }));
  assert.match(legacy, /Proc-Type: 4,ENCRYPTED/);
  assert.equal(loadKey(legacy, 'legacy', { passphrase: 'pw' }).fingerprint, manifest.keys['ecdsa-p256-a']!.public_raw_sha256);
  assert.equal(code(() => loadKey(legacy)), 'keys.encrypted');
  assert.equal(code(() => loadKey(legacy, 'legacy', { passphrase: 'nope' })), 'keys.bad-passphrase');
  // A passphrase given for a plain key is not needed and does no harm.
  assert.equal(loadKey(read('keys/ed25519-a.pem').toString('utf8'), 'x', { passphrase: 'unused' }).type, 'ed25519');
});
