/**
 * Signing with a passphrase-protected key (PKCS#8 "ENCRYPTED PRIVATE KEY", what `imgtool keygen -p`
 * writes): the passphrase comes from an environment variable the user names or from a pipe, never
 * from the command line; a wrong or missing one is a typed input error (exit 2), nothing written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadKey } from '../../../src/crypto/keys.ts';
import { checkSignatures, signEnvelope } from '../../../src/formats/bundle/dsse.ts';
import { verifyImage } from '../../../src/formats/mcuboot/index.ts';
import { VECTORS } from '../mcuboot/vectors.ts';

const PASS = 'correct horse battery staple';

function encryptedVectorKey(dir: string, name: string): string {
  const pem = createPrivateKey(readFileSync(join(VECTORS, 'keys', `${name}.pem`))).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASS });
  const path = join(dir, `${name}.enc.pem`);
  writeFileSync(path, pem);
  return path;
}

function cli(args: string[], env: Record<string, string> = {}, input?: string) {
  const r = spawnSync(process.execPath, ['bin/unbrick.js', ...args, '--json'], { encoding: 'utf8', env: { ...process.env, ...env }, ...(input !== undefined ? { input } : {}) });
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    assert.fail(`not JSON (exit ${r.status}): ${r.stdout}\n${r.stderr}`);
  }
  return { status: r.status, json };
}

test('image sign with an encrypted key: passphrase from a named variable or a pipe; wrong or missing ones are refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-enckey-'));
  try {
    const key = encryptedVectorKey(dir, 'ecdsa-p256-a');
    const app = join(dir, 'app.bin');
    writeFileSync(app, new Uint8Array(3000).map((_, i) => i * 7));
    const sign = (out: string, extra: string[], env?: Record<string, string>, input?: string) =>
      cli(['image', 'sign', app, join(dir, out), '-k', key, '-v', '1.0.0', '--pad-header', ...extra], env, input);

    let r = sign('a.bin', ['--key-passphrase-env', 'TEST_KEY_PASS'], { TEST_KEY_PASS: PASS });
    assert.equal(r.status, 0, JSON.stringify(r.json));
    const pub = loadKey(readFileSync(join(VECTORS, 'keys', 'ecdsa-p256-a.pub.pem'), 'utf8'));
    assert.equal(verifyImage(new Uint8Array(readFileSync(join(dir, 'a.bin'))), { keys: [pub] }).valid, true);

    r = sign('b.bin', ['--key-passphrase-stdin'], {}, `${PASS}\n`);
    assert.equal(r.status, 0, JSON.stringify(r.json));
    assert.equal(verifyImage(new Uint8Array(readFileSync(join(dir, 'b.bin'))), { keys: [pub] }).valid, true);

    r = sign('c.bin', ['--key-passphrase-env', 'TEST_KEY_PASS'], { TEST_KEY_PASS: 'not it' });
    assert.equal(r.status, 2);
    assert.equal(r.json.error, 'keys.bad-passphrase');
    r = sign('c.bin', []);
    assert.equal(r.status, 2);
    assert.equal(r.json.error, 'keys.encrypted');
    // The option names a variable; a passphrase typed in its place is refused, not used.
    r = sign('c.bin', ['--key-passphrase-env', PASS]);
    assert.equal(r.json.error, 'usage.bad-passphrase-env');
    r = sign('c.bin', ['--key-passphrase-env', 'TEST_KEY_PASS_UNSET']);
    assert.equal(r.json.error, 'usage.passphrase-env-unset');
    assert.equal(existsSync(join(dir, 'c.bin')), false, 'nothing written');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a release key decrypted with its passphrase signs bundle envelopes that verify', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-enckey-'));
  try {
    for (const name of ['ed25519-a', 'ecdsa-p256-a']) {
      const key = loadKey(readFileSync(encryptedVectorKey(dir, name), 'utf8'), name, { passphrase: PASS });
      const env = signEnvelope('application/vnd.unbrick.test+json', new TextEncoder().encode('{"a":1}'), [key]);
      const pub = loadKey(readFileSync(join(VECTORS, 'keys', `${name}.pub.pem`), 'utf8'));
      const r = checkSignatures(env, { trusted: new Map([[pub.fingerprint, pub]]), revoked: new Set(), retired: new Set() });
      assert.deepEqual(r.validKeyids, [pub.fingerprint], name);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
