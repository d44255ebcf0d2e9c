/**
 * Root metadata: a vendor's trust anchor, modelled on TUF's root role.
 * It lists keys, the `root` role (who may sign the next root) and the
 * `release` role (who may sign bundles) each with a k-of-n threshold, the
 * image-signing keys MCUboot images may be signed with, and revoked key ids.
 *
 * Rotation follows TUF (spec §5.3.4): root N+1 must be signed by a threshold
 * of root N's root keys AND a threshold of its own root keys, and the version
 * must increase by exactly one. Roots travel as DSSE envelopes whose payload is
 * RFC 8785 canonical JSON.
 */
import { checkError, inputError } from '../core/errors.ts';
import { exportPublicPem, isPrivate, loadKey, type ImageKey } from '../crypto/keys.ts';
import { parseCanonical, canonicalBytes } from '../formats/bundle/canonical-json.ts';
import { checkSignatures, decodeEnvelope, encodeEnvelope, isReleaseKeyType, signEnvelope, type Envelope, type KeyRing, type SignatureCheck } from '../formats/bundle/dsse.ts';
import { Reader, UUID } from '../formats/bundle/schema.ts';

export const ROOT_TYPE = 'unbrick.root';
export const ROOT_PAYLOAD_TYPE = 'application/vnd.unbrick.root+json';
const MAX_ROOT_BYTES = 256 * 1024;

export interface RoleSpec {
  keyids: string[];
  threshold: number;
}

export interface KeyEntry {
  /** SubjectPublicKeyInfo PEM. */
  public: string;
  name?: string;
}

export interface RootMetadata {
  type: typeof ROOT_TYPE;
  specVersion: 1;
  vendorId: string;
  vendorName: string;
  version: number;
  created: string;
  expires: string;
  /** Release and root keys (Ed25519 or ECDSA P-256), by key id. */
  keys: Record<string, KeyEntry>;
  roles: { root: RoleSpec; release: RoleSpec };
  /** MCUboot image-signing public keys (any type MCUboot supports), by key id. */
  imageKeys: Record<string, KeyEntry>;
  /** Key ids that must never be trusted again (compromised), across all roles. */
  revokedKeyids: string[];
}

export interface LoadedRoot {
  meta: RootMetadata;
  /** The exact envelope bytes, kept so the chain can be re-verified on every load. */
  bytes: Uint8Array;
  envelope: Envelope;
  keys: Map<string, ImageKey>;
  imageKeys: Map<string, ImageKey>;
}

function readKeyTable(r: Reader, v: unknown, path: string, releaseOnly: boolean): Record<string, KeyEntry> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw r.fail(path, 'must be an object of key id: key');
  const out: Record<string, KeyEntry> = {};
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length > 64) throw r.fail(path, 'has more than 64 keys');
  for (const [id, val] of entries) {
    r.hex(id, `${path} key id`, 32);
    const o = r.object(val, `${path}.${id.slice(0, 12)}`, ['public', 'name']);
    const e: KeyEntry = { public: r.string(o.public, `${path}.${id.slice(0, 12)}.public`, { max: 4096 }) };
    if (o.name !== undefined) e.name = r.string(o.name, `${path}.${id.slice(0, 12)}.name`, { max: 100 });
    const k = loadKey(e.public);
    if (isPrivate(k)) throw r.fail(`${path}.${id.slice(0, 12)}`, 'holds a private key; roots carry public keys only');
    if (k.fingerprint !== id) throw r.fail(`${path}.${id.slice(0, 12)}`, `is listed under key id ${id} but its SHA-256 fingerprint is ${k.fingerprint}`);
    if (releaseOnly && !isReleaseKeyType(k.type)) throw r.fail(`${path}.${id.slice(0, 12)}`, `is ${k.type}; root and release keys must be Ed25519 or ECDSA P-256`);
    out[id] = e;
  }
  return out;
}

function readRole(r: Reader, v: unknown, path: string, keys: Record<string, KeyEntry>): RoleSpec {
  const o = r.object(v, path, ['keyids', 'threshold']);
  const keyids = r.array(o.keyids, `${path}.keyids`, (x, p) => r.hex(x, p, 32), { min: 1, max: 32 });
  if (new Set(keyids).size !== keyids.length) throw r.fail(`${path}.keyids`, 'lists a key twice');
  for (const id of keyids) if (!keys[id]) throw r.fail(`${path}.keyids`, `names key ${id.slice(0, 16)}… which is not in "keys"`);
  const threshold = r.int(o.threshold, `${path}.threshold`, 1, keyids.length);
  return { keyids, threshold };
}

export function readRootMetadata(v: unknown): RootMetadata {
  const r = new Reader('Root metadata', 'trust.root-invalid');
  const o = r.object(v, 'root', ['type', 'specVersion', 'vendorId', 'vendorName', 'version', 'created', 'expires', 'keys', 'roles', 'imageKeys', 'revokedKeyids']);
  if (o.type !== ROOT_TYPE) throw r.fail('root.type', `must be "${ROOT_TYPE}"`);
  if (o.specVersion !== 1) throw inputError('trust.unsupported-version', `This root uses format version ${String(o.specVersion)}; this Unbrick understands version 1.`);
  const keys = readKeyTable(r, o.keys, 'root.keys', true);
  const roles = r.object(o.roles, 'root.roles', ['root', 'release']);
  const meta: RootMetadata = {
    type: ROOT_TYPE,
    specVersion: 1,
    vendorId: r.string(o.vendorId, 'root.vendorId', { pattern: UUID }),
    vendorName: r.string(o.vendorName, 'root.vendorName', { max: 100 }),
    version: r.int(o.version, 'root.version', 1),
    created: r.time(o.created, 'root.created'),
    expires: r.time(o.expires, 'root.expires'),
    keys,
    roles: { root: readRole(r, roles.root, 'root.roles.root', keys), release: readRole(r, roles.release, 'root.roles.release', keys) },
    imageKeys: readKeyTable(r, o.imageKeys, 'root.imageKeys', false),
    revokedKeyids: r.array(o.revokedKeyids, 'root.revokedKeyids', (x, p) => r.hex(x, p, 32), { max: 256 }),
  };
  return meta;
}

/** Parses a root envelope (not yet trusted: call one of the verify functions). */
export function parseRoot(bytes: Uint8Array): LoadedRoot {
  if (bytes.length > MAX_ROOT_BYTES) throw inputError('trust.root-invalid', `The root file is larger than ${MAX_ROOT_BYTES} bytes.`);
  const envelope = decodeEnvelope(bytes, 'Root file', 'trust', MAX_ROOT_BYTES);
  if (envelope.payloadType !== ROOT_PAYLOAD_TYPE)
    throw inputError('trust.root-invalid', `This file is a "${envelope.payloadType}" envelope, not an Unbrick root ("${ROOT_PAYLOAD_TYPE}").`);
  const meta = readRootMetadata(parseCanonical(envelope.payload, 'Root metadata', 'trust.root-invalid'));
  const keys = new Map(Object.entries(meta.keys).map(([id, e]) => [id, loadKey(e.public, e.name)]));
  const imageKeys = new Map(Object.entries(meta.imageKeys).map(([id, e]) => [id, loadKey(e.public, e.name)]));
  return { meta, bytes, envelope, keys, imageKeys };
}

export function roleRing(root: LoadedRoot, role: 'root' | 'release', extraRevoked: Iterable<string> = [], retired: Iterable<string> = []): KeyRing {
  const revoked = new Set([...root.meta.revokedKeyids, ...extraRevoked]);
  const trusted = new Map<string, ImageKey>();
  for (const id of root.meta.roles[role].keyids) if (!revoked.has(id)) trusted.set(id, root.keys.get(id)!);
  return { trusted, revoked, retired: new Set(retired) };
}

/** Throws unless a threshold of `signer`'s root role signed `subject`. */
export function requireRootSignatures(subject: LoadedRoot, signer: LoadedRoot, which: string, extraRevoked: Iterable<string> = []): SignatureCheck[] {
  const { checks, validKeyids } = checkSignatures(subject.envelope, roleRing(signer, 'root', extraRevoked));
  const need = signer.meta.roles.root.threshold;
  if (validKeyids.length < need)
    throw checkError(
      'trust.root-signature',
      `Root version ${subject.meta.version} for ${subject.meta.vendorName} is not signed by ${need} of the ${which} root keys (valid: ${validKeyids.length}). Do not trust this file.`,
      { checks, threshold: need },
    );
  return checks;
}

/** A first root: must be signed by a threshold of its own root keys. */
export function verifySelfSignedRoot(root: LoadedRoot): void {
  requireRootSignatures(root, root, 'its own');
}

/** Verifies `next` as the successor of `current` (TUF root rotation rules). */
export function verifyRotation(current: LoadedRoot, next: LoadedRoot, extraRevoked: Iterable<string> = []): void {
  if (next.meta.vendorId !== current.meta.vendorId)
    throw checkError('trust.rotation-vendor', `The new root is for vendor ${next.meta.vendorName} (${next.meta.vendorId}), not ${current.meta.vendorName}.`);
  if (next.meta.version !== current.meta.version + 1)
    throw checkError(
      next.meta.version <= current.meta.version ? 'trust.root-rollback' : 'trust.root-version-gap',
      next.meta.version <= current.meta.version
        ? `The new root is version ${next.meta.version}, not newer than the trusted version ${current.meta.version}; refusing to roll back.`
        : `The new root is version ${next.meta.version} but the trusted one is ${current.meta.version}; apply versions ${current.meta.version + 1}..${next.meta.version - 1} first.`,
    );
  requireRootSignatures(next, current, 'previously trusted', extraRevoked);
  requireRootSignatures(next, next, 'new', extraRevoked);
}

/** Vendor side: builds and signs root metadata with the given private keys. */
export function signRoot(meta: RootMetadata, signingKeys: ImageKey[]): Uint8Array {
  readRootMetadata(JSON.parse(JSON.stringify(meta)));
  return encodeEnvelope(signEnvelope(ROOT_PAYLOAD_TYPE, canonicalBytes(meta), signingKeys));
}

export interface RootSpec {
  vendorId: string;
  vendorName: string;
  version: number;
  created: string;
  expires: string;
  rootKeys: ImageKey[];
  rootThreshold: number;
  releaseKeys: ImageKey[];
  releaseThreshold: number;
  imageKeys: ImageKey[];
  revokedKeyids?: string[];
}

/** Root metadata from public keys (private keys are reduced to their public half). */
export function buildRoot(s: RootSpec): RootMetadata {
  const keys: Record<string, KeyEntry> = {};
  for (const k of [...s.rootKeys, ...s.releaseKeys]) keys[k.fingerprint] = { public: exportPublicPem(k), ...(k.name ? { name: k.name } : {}) };
  const imageKeys: Record<string, KeyEntry> = {};
  for (const k of s.imageKeys) imageKeys[k.fingerprint] = { public: exportPublicPem(k), ...(k.name ? { name: k.name } : {}) };
  return {
    type: ROOT_TYPE,
    specVersion: 1,
    vendorId: s.vendorId,
    vendorName: s.vendorName,
    version: s.version,
    created: s.created,
    expires: s.expires,
    keys,
    roles: {
      root: { keyids: s.rootKeys.map((k) => k.fingerprint), threshold: s.rootThreshold },
      release: { keyids: s.releaseKeys.map((k) => k.fingerprint), threshold: s.releaseThreshold },
    },
    imageKeys,
    revokedKeyids: s.revokedKeyids ?? [],
  };
}
