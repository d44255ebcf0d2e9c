/**
 * The `unbrick image` and `unbrick keys` commands as a user runs them (real process):
 * --json shape, exit codes 0 valid / 1 invalid / 2 unreadable input, sign → verify round trip.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { writeIntelHex } from '../../../src/formats/ihex.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VECTORS } from './vectors.ts';

const BIN = new URL('../../../bin/unbrick.js', import.meta.url).pathname;
function unbrick(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr, json: () => JSON.parse(r.stdout) };
}
const v = (rel: string) => join(VECTORS, rel);

test('image verify --json: valid image, exit 0, required fields', () => {
  const r = unbrick('image', 'verify', v('images/ecdsa-p256_seccnt-auto_dep.bin'), '--key', v('keys/ed25519-a.pub.pem'), '--key', v('keys/ecdsa-p256-a.pub.pem'), '--json');
  assert.equal(r.code, 0, r.err);
  const j = r.json();
  assert.equal(j.valid, true);
  assert.equal(j.version, '3.4.5+6');
  assert.equal(j.securityCounter, (3 << 24) | (4 << 16) | 5);
  assert.equal(j.hashAlgorithm, 'sha256');
  assert.match(j.hash, /^[0-9a-f]{64}$/);
  assert.equal(j.signature.type, 'ecdsa-p256');
  assert.equal(j.signature.keyIndex, 1, 'the second --key matched');
  assert.deepEqual(j.tlvs.map((t: { type: number; protected: boolean }) => [t.type, t.protected]), [[0x50, true], [0x40, true], [0x10, false], [0x01, false], [0x22, false]]);
  assert.equal(j.header.hdrSize, 0x200);
});

test('image verify: tampered image exits 1 with the reason; unreadable input exits 2', () => {
  const bad = unbrick('image', 'verify', v('tampered/T-payload-flip_ecdsa-p256.bin'), '--key', v('keys/ecdsa-p256-a.pub.pem'), '--json');
  assert.equal(bad.code, 1);
  assert.equal(bad.json().valid, false);
  assert.equal(bad.json().code, 'mcuboot.hash-mismatch');
  assert.ok(bad.json().reason.length > 20);
  const human = unbrick('image', 'verify', v('images/ed25519_enc-x25519.bin'), '--key', v('keys/ed25519-a.pub.pem'));
  assert.equal(human.code, 1);
  assert.match(human.out, /--enc-key/);
  assert.equal(unbrick('image', 'verify', v('images/nope.bin')).code, 2);
  assert.equal(unbrick('image', 'verify', v('images/ed25519_basic.bin'), '--key', v('payloads/p1k.bin')).code, 2);
  assert.equal(unbrick('image', 'info', v('payloads/p1k.bin')).code, 2);
});

test('keys generate + image sign + image verify + image info round trip', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-mcuboot-'));
  try {
    const key = join(dir, 'k.pem');
    const pub = join(dir, 'k.pub.pem');
    const g = unbrick('keys', 'generate', '--type', 'ecdsa-p256', '--out', key, '--public-out', pub, '--json');
    assert.equal(g.code, 0, g.err);
    assert.equal(statSync(key).mode & 0o777, 0o600);
    assert.match(readFileSync(key, 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
    assert.equal(unbrick('keys', 'generate', '--type', 'ecdsa-p256', '--out', key).code, 2, 'refuses to overwrite a key');
    const out = join(dir, 'app.hex');
    const s = unbrick('image', 'sign', v('payloads/p37k.bin'), out, '-k', key, '-v', '1.2.3+4', '--pad-header', '-S', '0x10000', '--confirm', '-s', 'auto', '-x', '0x08020000', '--json');
    assert.equal(s.code, 0, s.err);
    assert.equal(s.json().signature.keyFingerprint, g.json().fingerprint);
    const ok = unbrick('image', 'verify', out, '--key', pub, '--json');
    assert.equal(ok.code, 0, ok.out);
    assert.equal(ok.json().trailer.confirmed, true);
    const info = unbrick('image', 'info', out, '--json');
    assert.equal(info.code, 0);
    assert.equal(info.json().hexAddress, 0x08020000);
    assert.equal(info.json().header.versionString, '1.2.3+4');
    // Intel HEX in, Intel HEX out: the header goes in front of the input's address (as imgtool does).
    const hexIn = join(dir, 'fw.hex');
    writeFileSync(hexIn, writeIntelHex({ segments: [{ address: 0x08020200, data: readFileSync(v('payloads/p1k.bin')) }] }));
    const hexOut = join(dir, 'fw.signed.hex');
    assert.equal(unbrick('image', 'sign', hexIn, hexOut, '-k', key, '-v', '1', '--pad-header', '-H', '0x200').code, 0);
    assert.equal(unbrick('image', 'info', hexOut, '--json').json().hexAddress, 0x08020000);
    const enc = join(dir, 'app.enc.bin');
    const e = unbrick('image', 'sign', v('payloads/p1k.bin'), enc, '-k', key, '-v', '2', '--pad-header', '-E', v('keys/enc-x25519.pub.pem'), '--json');
    assert.equal(e.code, 0, e.err);
    assert.equal(unbrick('image', 'verify', enc, '--key', pub).code, 1, 'encrypted: cannot check without the key');
    const d = unbrick('image', 'verify', enc, '--key', pub, '--enc-key', v('keys/enc-x25519.pem'), '--json');
    assert.equal(d.code, 0, d.out);
    assert.equal(d.json().encryption.payload, 'decrypted');
    const other = unbrick('image', 'verify', out, '--key', v('keys/ecdsa-p256-a.pub.pem'), '--json');
    assert.equal(other.code, 1);
    assert.equal(other.json().code, 'mcuboot.key-not-found');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('keys export reproduces imgtool getpub -e lang-c and getpubhash', () => {
  const c = unbrick('keys', 'export', v('keys/ecdsa-p256-a.pem'), '--format', 'c');
  assert.equal(c.code, 0, c.err);
  assert.equal(c.out, readFileSync(v('keys/ecdsa-p256-a.pub.c'), 'utf8'));
  const h = unbrick('keys', 'export', v('keys/ed25519-a.pub.pem'), '--format', 'hash', '--json');
  assert.equal(h.json().content, readFileSync(v('keys/ed25519-a.pubhash.sha256.bin')).toString('hex'));
});
