/** `unbrick trust …`: the laptop's trust store of vendor roots (see docs/bundle-format.md). */
import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { usageError, inputError } from '../../core/errors.ts';
import { writeFileAtomic } from '../../core/atomic-file.ts';
import { loadKey, type ImageKey } from '../../crypto/keys.ts';
import { checkSignatures } from '../../formats/bundle/dsse.ts';
import { isoSeconds } from '../../formats/bundle/schema.ts';
import { arr, num, obj, opt, parseJsonAs, str, utcTime } from '../../core/schema.ts';
import { buildRoot, roleRing, signRoot, type LoadedRoot } from '../../trust/root.ts';
import { TrustStore, trustDir } from '../../trust/store.ts';
import { type CommandGroup, requirePositional, requireString, stringList, stringOpt } from '../framework.ts';
import { KEY_PASSPHRASE_OPTIONS, keyPassphrase } from '../key-passphrase.ts';

function readFile(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch {
    throw inputError('trust.file-not-found', `Cannot read ${path}.`);
  }
}

export function loadKeyFile(path: string, passphrase?: string): ImageKey {
  return loadKey(readFileSync(resolve(path), 'utf8'), basename(path), { passphrase });
}

function describeRoot(root: LoadedRoot) {
  const m = root.meta;
  const name = (id: string) => m.keys[id]?.name ?? m.imageKeys[id]?.name;
  const key = (id: string) => ({ fingerprint: id, type: (root.keys.get(id) ?? root.imageKeys.get(id))!.type, ...(name(id) ? { name: name(id) } : {}) });
  return {
    vendorId: m.vendorId,
    vendorName: m.vendorName,
    version: m.version,
    expires: m.expires,
    root: { threshold: m.roles.root.threshold, keys: m.roles.root.keyids.map(key) },
    release: { threshold: m.roles.release.threshold, keys: m.roles.release.keyids.map(key) },
    imageKeys: Object.keys(m.imageKeys).map(key),
    revokedKeyids: m.revokedKeyids,
  };
}

function rootLines(d: ReturnType<typeof describeRoot>): string[] {
  const k = (x: { fingerprint: string; type: string; name?: string }) => `    ${x.fingerprint}  ${x.type}${x.name ? `  ${x.name}` : ''}`;
  return [
    `${d.vendorName} (${d.vendorId}), root version ${d.version}, expires ${d.expires}`,
    `  root keys (${d.root.threshold} of ${d.root.keys.length} sign a new root):`,
    ...d.root.keys.map(k),
    `  release keys (${d.release.threshold} of ${d.release.keys.length} sign a bundle):`,
    ...d.release.keys.map(k),
    `  image-signing keys (MCUboot):`,
    ...d.imageKeys.map(k),
    ...(d.revokedKeyids.length ? ['  revoked by the vendor:', ...d.revokedKeyids.map((id) => `    ${id}`)] : []),
  ];
}

const keyPaths = opt(arr(str({ min: 1, max: 4096 }), { max: 64 }));
const threshold = opt(num({ int: true, min: 1, max: 64 }));
/** `trust create-root` spec; the metadata built from it is checked again by buildRoot's own rules. */
const RootSpecSchema = obj({
  vendorId: str({ max: 64 }),
  vendorName: str({ max: 100 }),
  version: opt(num({ int: true, min: 1, max: 1_000_000 })),
  expires: opt(utcTime()),
  validDays: opt(num({ int: true, min: 1, max: 36500 })),
  rootKeys: keyPaths,
  rootThreshold: threshold,
  releaseKeys: keyPaths,
  releaseThreshold: threshold,
  imageKeys: keyPaths,
  revokedKeyids: opt(arr(str({ max: 128 }), { max: 10_000 })),
});

export const trustGroup: CommandGroup = {
  name: 'trust',
  summary: 'manage trusted vendor roots (release and image-signing keys)',
  commands: [
    {
      name: 'init',
      summary: 'create an empty trust store (no key is trusted by default)',
      options: { force: { type: 'boolean', description: 'replace an existing store with an empty one' } },
      async run(ctx) {
        const store = TrustStore.init(undefined, ctx.values.force === true);
        return { data: { path: store.path }, human: [`Created an empty trust store at ${store.path}.`, 'Add a vendor root with `unbrick trust add-root ROOT.json`.'] };
      },
    },
    {
      name: 'add-root',
      summary: "trust a vendor's first root, after confirming its key fingerprint",
      args: 'ROOT.json',
      description:
        'Without --fingerprint this shows the root and its key fingerprints and changes nothing. Compare the root key fingerprint with the one the vendor published (by phone, letter or their website), then run again with --fingerprint.',
      options: { fingerprint: { type: 'string', value: 'HEX', description: 'the root key fingerprint you confirmed (at least 16 hex digits)' } },
      async run(ctx) {
        const bytes = readFile(requirePositional(ctx, 0, 'ROOT.json'));
        const store = TrustStore.load();
        const fp = stringOpt(ctx, 'fingerprint');
        if (!fp) {
          const root = TrustStore.inspectRoot(bytes);
          const d = describeRoot(root);
          const signers = checkSignatures(root.envelope, roleRing(root, 'root')).checks.filter((c) => c.status === 'valid').map((c) => c.keyid);
          throw usageError(
            'trust.confirm-fingerprint',
            [...rootLines(d), '', 'Signed by root key(s):', ...signers.map((s) => `    ${s}`), '', 'Nothing was added. Confirm the fingerprint with the vendor, then run again with --fingerprint HEX.'].join('\n'),
            { root: d, signers },
          );
        }
        const root = store.addRoot(bytes, fp);
        const d = describeRoot(root);
        return { data: { added: d }, human: ['Added:', ...rootLines(d)] };
      },
    },
    {
      name: 'list',
      summary: 'list trusted vendors, their keys and local revocations',
      async run() {
        const store = TrustStore.load();
        const vendors = store.vendors().map((c) => ({ ...describeRoot(c.roots.at(-1)!), rootVersions: c.roots.length, confirmedKeyid: c.confirmedKeyid, addedAt: c.addedAt }));
        const human = vendors.length ? vendors.flatMap((v) => [...rootLines(v), '']) : [`No vendor is trusted yet (${trustDir()}).`];
        if (store.revocations.length) human.push('Revoked on this laptop:', ...store.revocations.map((r) => `    ${r.keyid}  ${r.revokedAt}  ${r.reason}`));
        return { data: { vendors, revocations: store.revocations }, human };
      },
    },
    {
      name: 'rotate',
      summary: "apply a vendor's new root version(s), each signed by the one before",
      args: 'ROOT.json…',
      async run(ctx) {
        if (ctx.positionals.length === 0) throw usageError('usage.missing-argument', 'Give the new root file(s), oldest first.');
        const applied = TrustStore.load().rotate(ctx.positionals.map(readFile));
        const ds = applied.map(describeRoot);
        return { data: { applied: ds }, human: ds.flatMap((d) => ['Now trusted:', ...rootLines(d)]) };
      },
    },
    {
      name: 'revoke',
      summary: 'stop trusting a key on this laptop (release or image-signing key)',
      args: 'FINGERPRINT',
      options: { reason: { type: 'string', value: 'TEXT', description: 'why (recorded with the revocation)' } },
      async run(ctx) {
        const store = TrustStore.load();
        const keyid = store.resolveKeyid(requirePositional(ctx, 0, 'FINGERPRINT'));
        const r = store.revoke(keyid, stringOpt(ctx, 'reason') ?? 'revoked by the user');
        return { data: { revoked: r }, human: [`Revoked ${r.keyid}: bundles and images signed with it are refused from now on.`] };
      },
    },
    {
      name: 'export',
      summary: "write a vendor's current root file (to add on another laptop)",
      args: '[VENDOR-ID]',
      options: { output: { type: 'string', short: 'o', value: 'FILE', description: 'where to write the root file' } },
      async run(ctx) {
        const store = TrustStore.load();
        const vendors = store.vendors();
        const want = ctx.positionals[0];
        const hits = want ? vendors.filter((v) => v.vendorId.startsWith(want.toLowerCase())) : vendors;
        if (hits.length !== 1) throw usageError('trust.vendor-unknown', hits.length ? 'Several vendors are trusted; name one (VENDOR-ID).' : `No trusted vendor matches "${want ?? ''}".`);
        const out = requireString(ctx, 'output');
        const root = hits[0]!.roots.at(-1)!;
        writeFileAtomic(out, store.exportRoot(hits[0]!.vendorId));
        return { data: { path: out, vendorId: root.meta.vendorId, version: root.meta.version, confirmedKeyid: hits[0]!.confirmedKeyid }, human: [`Wrote ${root.meta.vendorName} root version ${root.meta.version} to ${out}.`, `Root key to confirm on the other laptop: ${hits[0]!.confirmedKeyid}`] };
      },
    },
    {
      name: 'create-root',
      summary: 'vendor side: build and sign root metadata from a spec',
      args: 'SPEC.json',
      description:
        'SPEC.json: {"vendorId", "vendorName", "version", "expires" or "validDays", "rootKeys": [PEM…], "rootThreshold", "releaseKeys": [PEM…], "releaseThreshold", "imageKeys": [PEM…], "revokedKeyids": []}; key paths are relative to the spec. Sign with the root private keys (--key); for a rotation, with both the previous and the new root keys.',
      options: {
        key: { type: 'string', multiple: true, value: 'PEM', description: 'root private key to sign with' },
        output: { type: 'string', short: 'o', value: 'FILE', description: 'where to write the root file' },
        ...KEY_PASSPHRASE_OPTIONS,
      },
      async run(ctx) {
        const specPath = requirePositional(ctx, 0, 'SPEC.json');
        let text: string;
        try {
          text = readFileSync(specPath, 'utf8');
        } catch (e) {
          throw inputError('trust.spec-invalid', `Cannot read ${specPath}: ${(e as Error).message}.`);
        }
        const spec = parseJsonAs(RootSpecSchema, text, { what: specPath, code: 'trust.spec-invalid', maxChars: 1 << 20 });
        const dir = dirname(resolve(specPath));
        const keys = (field: 'rootKeys' | 'releaseKeys' | 'imageKeys') => (spec[field] ?? []).map((p) => loadKeyFile(resolve(dir, p)));
        const passphrase = keyPassphrase(ctx);
        const signers = stringList(ctx, 'key').map((p) => loadKeyFile(p, passphrase));
        if (signers.length === 0) throw usageError('usage.missing-option', 'Give at least one root private key with --key.');
        const created = isoSeconds(Date.now());
        const expires = spec.expires ?? isoSeconds(Date.now() + (spec.validDays ?? 0) * 86400_000);
        const meta = buildRoot({
          vendorId: spec.vendorId,
          vendorName: spec.vendorName,
          version: spec.version ?? 1,
          created,
          expires,
          rootKeys: keys('rootKeys'),
          rootThreshold: spec.rootThreshold ?? 1,
          releaseKeys: keys('releaseKeys'),
          releaseThreshold: spec.releaseThreshold ?? 1,
          imageKeys: keys('imageKeys'),
          revokedKeyids: spec.revokedKeyids ?? [],
        });
        const out = requireString(ctx, 'output');
        writeFileAtomic(out, signRoot(meta, signers));
        return { data: { path: out, vendorId: meta.vendorId, version: meta.version, rootKeys: meta.roles.root.keyids }, human: [`Wrote root version ${meta.version} for ${meta.vendorName} to ${out}.`, 'Root key fingerprint(s) to publish:', ...meta.roles.root.keyids.map((k) => `    ${k}`)] };
      },
    },
  ],
};
