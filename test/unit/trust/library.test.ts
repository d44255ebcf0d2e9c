import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { BundleLibrary, goldenDir } from '../../../src/trust/library.ts';
import { TrustStore } from '../../../src/trust/store.ts';
import { inTrustedLab, makeBundle, makeVendor, T0, DAY } from '../bundle/fixture.ts';
import { hasCode as code } from '../../helpers/errors.ts';


test('golden library: failed imports write nothing; entries are re-verified on every use', inTrustedLab(async (lab, v) => {
  const lib = new BundleLibrary('golden', { dir: lab.dataDir, clock: T0 + DAY });
  const stranger = makeVendor();
  const untrusted = await makeBundle(lab, 'u.ubundle', [stranger.releaseKeys[0]!], { kind: 'golden' });
  await assert.rejects(lib.import(untrusted), code('bundle.key-unknown'));
  const update = await makeBundle(lab, 'up.ubundle', [v.releaseKeys[0]!]);
  await assert.rejects(lib.import(update), code('golden.not-golden'));
  assert.deepEqual(existsSync(goldenDir(lab.dataDir)) ? readdirSync(goldenDir(lab.dataDir)) : [], [], 'nothing left behind');

  const golden = await makeBundle(lab, 'g.ubundle', [v.releaseKeys[0]!], { kind: 'golden', sequence: 3 });
  const { entry } = await lib.import(golden);
  assert.equal((await lib.import(golden)).alreadyPresent, true);
  assert.equal(lib.entries().length, 1);
  assert.equal((await lib.status(entry)).ok, true);
  // Revoking the release key after import takes effect at the next use.
  TrustStore.load(lab.dataDir).revoke(v.releaseKeys[0]!.fingerprint, 'compromised');
  const st = await lib.status(entry);
  assert.equal(st.ok, false);
  assert.equal(st.code, 'bundle.key-revoked');
  await assert.rejects(lib.use(entry), code('bundle.key-revoked'));
  const m = await lib.match(entry.payloads[0]!.imageHash!);
  assert.equal(m.length, 1);
  assert.equal(m[0]!.status.ok, false);
  lib.remove(entry.id.slice(0, 8));
  assert.deepEqual(readdirSync(goldenDir(lab.dataDir)).filter((f) => f.endsWith('.ubundle')), []);
}));

test('update library: takes update bundles only; load gives the signed payload bytes, re-checked', inTrustedLab(async (lab, v) => {
  const lib = new BundleLibrary('update', { dir: lab.dataDir, clock: T0 + DAY });
  const golden = await makeBundle(lab, 'g.ubundle', [v.releaseKeys[0]!], { kind: 'golden' });
  await assert.rejects(lib.import(golden), code('golden.not-update'));
  const update = await makeBundle(lab, 'up.ubundle', [v.releaseKeys[0]!]);
  const { entry } = await lib.import(update);
  assert.deepEqual(new BundleLibrary('golden', { dir: lab.dataDir }).entries(), [], 'the golden library is a separate one');
  const loaded = await lib.load(entry);
  assert.equal(loaded.metadata.kind, 'update');
  for (const p of loaded.metadata.payloads) {
    const bytes = loaded.payloads.get(p.name)!;
    assert.equal(bytes.length, p.size);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), p.sha256);
  }
}));
