import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkBundle } from '../../../src/trust/check.ts';
import { rollbackPath } from '../../../src/trust/rollback-state.ts';
import { canonicalBytes } from '../../../src/formats/bundle/canonical-json.ts';
import { decodeEnvelope, encodeEnvelope, signEnvelope } from '../../../src/formats/bundle/dsse.ts';
import { BUNDLE_PAYLOAD_TYPE } from '../../../src/formats/bundle/metadata.ts';
import { Lab, makeBundle, makeVendor, patchBytes, readZip, T0, DAY, vectorImage, vectorKeyPath, writeZip, type Vendor } from './fixture.ts';

const META = 'metadata.dsse.json';

async function expectRefusal(lab: Lab, path: string, code: string): Promise<void> {
  await assert.rejects(checkBundle(path, { dir: lab.dataDir, clock: T0 + DAY, record: true }), (e: Error & { code?: string; kind?: string }) => {
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    assert.ok(e.message.length > 20, 'a plain-words message');
    return true;
  });
  assert.equal(existsSync(rollbackPath(lab.dataDir)), false, 'nothing written to the anti-rollback state on failure');
}

async function setup(): Promise<{ lab: Lab; v: Vendor; path: string; entries: Map<string, Buffer> }> {
  const lab = new Lab();
  const v = makeVendor();
  lab.trust(v);
  const path = await makeBundle(lab, 'good.ubundle', [v.releaseKeys[0]!], {
    payloads: [
      { file: vectorImage('ed25519_basic'), name: 'app.bin', role: 'mcuboot-image', target: { kind: 'smp', image: 0, slot: 1 }, imageKey: vectorKeyPath('ed25519-a') },
      { file: vectorImage('ed25519_basic'), name: 'region.bin', role: 'stm32-region', target: { kind: 'address', address: 0x08040000 }, version: '1.0.0' },
    ],
  });
  return { lab, v, path, entries: await readZip(path) };
}

/** A test body given a lab that trusts the vendor and a good bundle (its path and zip entries); the lab is removed after. */
function withGoodBundle(fn: (g: Awaited<ReturnType<typeof setup>>) => Promise<void>): () => Promise<void> {
  return async () => {
    const g = await setup();
    try {
      await fn(g);
    } finally {
      g.lab.cleanup();
    }
  };
}

/** The zip's entries with `name` holding `data` instead. */
const withEntry = (entries: Map<string, Buffer>, name: string, data: Buffer): [string, Buffer][] => [...entries].map(([n, d]) => [n, n === name ? data : d]);

/** Re-signs a modified metadata object with the vendor's release key. */
function resign(v: Vendor, md: Record<string, unknown>): Buffer {
  return Buffer.from(encodeEnvelope(signEnvelope(BUNDLE_PAYLOAD_TYPE, canonicalBytes(md), [v.releaseKeys[0]!])));
}

function metadataOf(entries: Map<string, Buffer>): Record<string, unknown> {
  const env = decodeEnvelope(entries.get(META)!, 'm', 'bundle', 1 << 20);
  return JSON.parse(Buffer.from(env.payload).toString('utf8')) as Record<string, unknown>;
}

test('tampered payloads are refused (MCUboot image and raw region)', withGoodBundle(async ({ lab, entries }) => {
  for (const name of ['payloads/app.bin', 'payloads/region.bin']) {
    const data = Buffer.from(entries.get(name)!);
    data[0x300]! ^= 0x01;
    const p = await writeZip(join(lab.dir, 'tampered.ubundle'), withEntry(entries, name, data));
    await expectRefusal(lab, p, 'bundle.payload-hash-mismatch');
  }
}));

test('tampered metadata and metadata signed over other bytes are refused', withGoodBundle(async ({ lab, entries }) => {
  const env = decodeEnvelope(entries.get(META)!, 'm', 'bundle', 1 << 20);
  // Raise the sequence in the signed payload, keep the old signature.
  const text = Buffer.from(env.payload).toString('utf8').replace('"sequence":10', '"sequence":99');
  const tampered = Buffer.from(encodeEnvelope({ ...env, payload: Buffer.from(text) }));
  const p = await writeZip(join(lab.dir, 't.ubundle'), withEntry(entries, META, tampered));
  await expectRefusal(lab, p, 'bundle.signature-invalid');
  // Same values, other bytes (pretty-printed): the signature covers exact bytes, so it fails.
  const pretty = Buffer.from(JSON.stringify(JSON.parse(Buffer.from(env.payload).toString('utf8')), null, 1));
  const p2 = await writeZip(join(lab.dir, 't2.ubundle'), withEntry(entries, META, Buffer.from(encodeEnvelope({ ...env, payload: pretty }))));
  await expectRefusal(lab, p2, 'bundle.signature-invalid');
}));

test('non-canonical signed bytes and unknown critical fields are refused', withGoodBundle(async ({ lab, v, entries }) => {
  const md = metadataOf(entries);
  const env = signEnvelope(BUNDLE_PAYLOAD_TYPE, Buffer.from(JSON.stringify(md, null, 1)), [v.releaseKeys[0]!]);
  const p = await writeZip(join(lab.dir, 'nc.ubundle'), withEntry(entries, META, Buffer.from(encodeEnvelope(env))));
  await expectRefusal(lab, p, 'bundle.metadata-invalid');
  for (const extra of [{ allowDowngrade: true }, { critical: ['x-acme-encrypted-payloads'], extensions: { 'x-acme-encrypted-payloads': true } }]) {
    const p2 = await writeZip(join(lab.dir, 'crit.ubundle'), withEntry(entries, META, resign(v, { ...md, ...extra })));
    await expectRefusal(lab, p2, 'bundle.unknown-critical-field');
  }
  // A non-critical extension is ignored.
  const p3 = await writeZip(join(lab.dir, 'ext.ubundle'), withEntry(entries, META, resign(v, { ...md, extensions: { 'x-acme-note': 'hi' } })));
  await checkBundle(p3, { dir: lab.dataDir, clock: T0 + DAY });
}));

test('mix-and-match: a genuine image from another bundle is refused as substituted', withGoodBundle(async ({ lab, v, path }) => {
  const a = await readZip(path);
  // rom-fixed (3.0.1) and sha512 (1.2.4) are genuine images signed with the same image key;
  // the first has the same size as the bundle's own image, the second does not.
  for (const id of ['ed25519_rom-fixed', 'ed25519_sha512']) {
    const other = await makeBundle(lab, 'other.ubundle', [v.releaseKeys[0]!], {
      payloads: [{ file: vectorImage(id), name: 'app.bin', role: 'mcuboot-image', target: { kind: 'smp', image: 0, slot: 1 }, imageKey: vectorKeyPath('ed25519-a') }],
    });
    const b = await readZip(other);
    const mixed = await writeZip(join(lab.dir, 'mixed.ubundle'), withEntry(a, 'payloads/app.bin', b.get('payloads/app.bin')!));
    await expectRefusal(lab, mixed, 'bundle.payload-substituted');
  }
  // A same-sized image signed with another key is not genuine for this vendor: plain mismatch.
  const forged = await writeZip(join(lab.dir, 'forged.ubundle'), withEntry(a, 'payloads/app.bin', readFileSync(vectorImage('ed25519_signed-with-key-b'))));
  await expectRefusal(lab, forged, 'bundle.payload-hash-mismatch');
}));

test('path traversal, duplicate, unexpected, unlisted and missing entries are refused', withGoodBundle(async ({ lab, entries }) => {
  const list = [...entries];
  // Entry names rewritten in place (local and central headers alike), same length.
  const trav = await writeZip(join(lab.dir, 'trav.ubundle'), list.map(([n, d]) => [n === 'payloads/region.bin' ? 'payloads/XXXXXX.bin' : n, d] as [string, Buffer]));
  patchBytes(trav, 'payloads/XXXXXX.bin', '../../../etc/passwd');
  await expectRefusal(lab, trav, 'bundle.path-traversal');
  const abs = await writeZip(join(lab.dir, 'abs.ubundle'), list.map(([n, d]) => [n === 'payloads/region.bin' ? 'payloads/XXXXXX.bin' : n, d] as [string, Buffer]));
  patchBytes(abs, 'payloads/XXXXXX.bin', '/tmp/payloads/x.bin');
  await expectRefusal(lab, abs, 'bundle.path-traversal');
  const dup = await writeZip(join(lab.dir, 'dup.ubundle'), [...list, ['payloads/bpp.bin', entries.get('payloads/app.bin')!]]);
  patchBytes(dup, 'payloads/bpp.bin', 'payloads/app.bin');
  await expectRefusal(lab, dup, 'bundle.duplicate-entry');
  await expectRefusal(lab, await writeZip(join(lab.dir, 'x.ubundle'), [...list, ['README.txt', Buffer.from('hi')]]), 'bundle.unexpected-entry');
  await expectRefusal(lab, await writeZip(join(lab.dir, 'y.ubundle'), [...list, ['payloads/extra.bin', Buffer.from('hi')]]), 'bundle.unlisted-payload');
  await expectRefusal(lab, await writeZip(join(lab.dir, 'z.ubundle'), list.filter(([n]) => n !== 'payloads/region.bin')), 'bundle.payload-missing');
  await expectRefusal(lab, await writeZip(join(lab.dir, 'w.ubundle'), list.filter(([n]) => n !== META)), 'bundle.metadata-missing');
}));

test('archive bombs, lying sizes and truncated archives are refused', withGoodBundle(async ({ lab, entries }) => {
  const list = [...entries];
  // 16 MiB of zeros deflates to ~16 KiB: ratio ~1000:1.
  const bomb = await writeZip(join(lab.dir, 'bomb.ubundle'), [...list, ['payloads/zeros.bin', Buffer.alloc(16 << 20), true]]);
  await expectRefusal(lab, bomb, 'bundle.archive-bomb');
  // A compressed entry whose central directory understates its size: stopped while inflating.
  const data = Buffer.alloc(200_000, 7);
  const liar = await writeZip(join(lab.dir, 'liar.ubundle'), list.map(([n, d]) => [n, n === 'payloads/region.bin' ? data : d, n === 'payloads/region.bin'] as [string, Buffer, boolean]));
  const buf = readFileSync(liar);
  const cd = buf.lastIndexOf(Buffer.from('payloads/region.bin')) - 46;
  assert.equal(buf.readUInt32LE(cd), 0x02014b50);
  buf.writeUInt32LE(entries.get('payloads/region.bin')!.length, cd + 24);
  writeFileSync(liar, buf);
  await expectRefusal(lab, liar, 'bundle.corrupt-archive');
  const whole = readFileSync(join(lab.dir, 'good.ubundle'));
  for (const cut of [whole.length - 10, Math.floor(whole.length / 2), 30]) {
    writeFileSync(join(lab.dir, 'cut.ubundle'), whole.subarray(0, cut));
    await expectRefusal(lab, join(lab.dir, 'cut.ubundle'), 'bundle.corrupt-archive');
  }
}));

test('revoked release keys (locally, or by the vendor root) are refused', withGoodBundle(async ({ lab, v, path }) => {
  const { TrustStore } = await import('../../../src/trust/store.ts');
  const store = TrustStore.load(lab.dataDir);
  store.revoke(v.releaseKeys[0]!.fingerprint, 'laptop stolen');
  await expectRefusal(lab, path, 'bundle.key-revoked');
}));
