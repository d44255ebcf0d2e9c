/**
 * The laptop's trust store: per vendor, the chain of root versions accepted so
 * far (first one confirmed by a person via a root-key fingerprint, each later
 * one verified as a rotation of the one before), plus keys revoked locally.
 * No key is trusted by default. The chain is re-verified on every load, so a
 * hand-edited or damaged store is refused rather than half-trusted.
 *
 * File: <dataDir>/trust/store.json, replaced atomically.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkError, inputError, usageError } from '../core/errors.ts';
import { dataDir } from '../core/paths.ts';
import { writeFileAtomic } from '../core/atomic-file.ts';
import { arr, literal, obj, parseJsonAs, record, str } from '../core/schema.ts';
import type { ImageKey } from '../crypto/keys.ts';
import { checkSignatures } from '../formats/bundle/dsse.ts';
import { isoSeconds } from '../formats/bundle/schema.ts';
import type { TrustView, VendorTrust } from '../formats/bundle/verify.ts';
import { parseRoot, roleRing, verifyRotation, verifySelfSignedRoot, type LoadedRoot } from './root.ts';

export interface LocalRevocation {
  keyid: string;
  reason: string;
  revokedAt: string;
}

interface StoreFile {
  format: 1;
  vendors: Record<string, { roots: string[]; confirmedKeyid: string; addedAt: string }>;
  revocations: LocalRevocation[];
}

export interface VendorChain {
  vendorId: string;
  roots: LoadedRoot[];
  confirmedKeyid: string;
  addedAt: string;
}

export const trustDir = (dir = dataDir()): string => join(dir, 'trust');
export const storePath = (dir = dataDir()): string => join(trustDir(dir), 'store.json');

const StoreSchema = obj({
  format: literal(1),
  vendors: record(obj({ roots: arr(str({ max: 1 << 20 }), { min: 1, max: 1000 }), confirmedKeyid: str({ max: 128 }), addedAt: str({ max: 40 }) }), { max: 1000 }),
  revocations: arr(obj({ keyid: str({ max: 128 }), reason: str({ max: 2000 }), revokedAt: str({ max: 40 }) }), { max: 100_000 }),
});

const corrupt = (why: string) =>
  inputError('trust.store-corrupt', `The trust store is damaged or was edited by hand (${why}). Restore it from a backup or re-create it with \`unbrick trust init --force\` and re-add the vendors' roots.`);

export class TrustStore {
  readonly path: string;
  private file: StoreFile;
  private chains = new Map<string, VendorChain>();

  private constructor(path: string, file: StoreFile) {
    this.path = path;
    this.file = file;
    for (const [vendorId, v] of Object.entries(file.vendors)) this.chains.set(vendorId, TrustStore.verifyChain(vendorId, v));
  }

  private static verifyChain(vendorId: string, v: StoreFile['vendors'][string]): VendorChain {
    const roots: LoadedRoot[] = [];
    try {
      for (const b64 of v.roots) {
        const root = parseRoot(new Uint8Array(Buffer.from(b64, 'base64')));
        if (roots.length === 0) {
          verifySelfSignedRoot(root);
          // The first root is trusted because a person confirmed this key's fingerprint: it must still be its signer.
          const { validKeyids } = checkSignatures(root.envelope, roleRing(root, 'root'));
          if (!validKeyids.includes(v.confirmedKeyid)) throw new Error('the first root is not signed by the root key confirmed when it was added');
        }
        // Local revocations do not apply to past rotations: they were accepted before the revocation.
        else verifyRotation(roots[roots.length - 1]!, root);
        roots.push(root);
      }
    } catch (e) {
      throw corrupt(`vendor ${vendorId}: ${(e as Error).message}`);
    }
    if (roots.length === 0 || roots[0]!.meta.vendorId !== vendorId) throw corrupt(`vendor ${vendorId} has no valid root`);
    return { vendorId, roots, confirmedKeyid: v.confirmedKeyid, addedAt: v.addedAt };
  }

  static exists(dir = dataDir()): boolean {
    return existsSync(storePath(dir));
  }

  /** Loads the store; refuses when it was never initialised. */
  static load(dir = dataDir()): TrustStore {
    const path = storePath(dir);
    if (!existsSync(path))
      throw usageError('trust.no-store', `No trust store in ${trustDir(dir)}. Create it with \`unbrick trust init\`, then add a vendor root with \`unbrick trust add-root\`.`);
    let file: StoreFile;
    try {
      file = parseJsonAs(StoreSchema, readFileSync(path, 'utf8'), { what: path, code: 'trust.store-corrupt', maxChars: 64 << 20 });
    } catch (e) {
      throw corrupt((e as Error).message);
    }
    return new TrustStore(path, file);
  }

  static init(dir = dataDir(), force = false): TrustStore {
    const path = storePath(dir);
    if (existsSync(path) && !force) throw usageError('trust.exists', `A trust store already exists at ${path}. Use --force to replace it with an empty one.`);
    const store = new TrustStore(path, { format: 1, vendors: {}, revocations: [] });
    store.save();
    return store;
  }

  private save(): void {
    writeFileAtomic(this.path, JSON.stringify(this.file, null, 2) + '\n');
  }

  get revocations(): readonly LocalRevocation[] {
    return this.file.revocations;
  }

  vendors(): VendorChain[] {
    return [...this.chains.values()];
  }

  chain(vendorId: string): VendorChain | undefined {
    return this.chains.get(vendorId);
  }

  /** Parses and self-verifies a root file, returning what a person must confirm. */
  static inspectRoot(bytes: Uint8Array): LoadedRoot {
    const root = parseRoot(bytes);
    verifySelfSignedRoot(root);
    return root;
  }

  /**
   * Adds a vendor's first root. `fingerprint` (full key id or a prefix of at
   * least 16 hex digits) must name a root key that validly signed this file:
   * naming a key merely listed in it would let a forged root borrow the
   * vendor's public key.
   */
  addRoot(bytes: Uint8Array, fingerprint: string): LoadedRoot {
    const root = TrustStore.inspectRoot(bytes);
    const fp = fingerprint.toLowerCase().replace(/[^0-9a-f]/g, '');
    if (fp.length < 16) throw usageError('trust.fingerprint-short', 'Give at least the first 16 hex digits of the root key fingerprint you confirmed with the vendor.');
    const { checks } = checkSignatures(root.envelope, roleRing(root, 'root'));
    const signer = checks.find((c) => c.status === 'valid' && c.keyid.startsWith(fp));
    if (!signer)
      throw checkError('trust.fingerprint-mismatch', `No root key with fingerprint ${fp} signed this root file. Do not add it; check the fingerprint with the vendor.`, {
        signers: checks.filter((c) => c.status === 'valid').map((c) => c.keyid),
      });
    if (this.file.vendors[root.meta.vendorId])
      throw usageError('trust.vendor-exists', `A root for ${root.meta.vendorName} (${root.meta.vendorId}) is already trusted; use \`unbrick trust rotate\` to move to a new root version.`);
    this.file.vendors[root.meta.vendorId] = { roots: [Buffer.from(bytes).toString('base64')], confirmedKeyid: signer.keyid, addedAt: isoSeconds(Date.now()) };
    this.chains.set(root.meta.vendorId, { vendorId: root.meta.vendorId, roots: [root], confirmedKeyid: signer.keyid, addedAt: this.file.vendors[root.meta.vendorId]!.addedAt });
    this.save();
    return root;
  }

  /** Applies one or more successive root versions (each signed by the one before). */
  rotate(files: Uint8Array[]): LoadedRoot[] {
    const applied: LoadedRoot[] = [];
    const revoked = this.file.revocations.map((r) => r.keyid);
    const pending = new Map<string, string[]>();
    for (const bytes of files) {
      const next = parseRoot(bytes);
      const chain = this.chains.get(next.meta.vendorId);
      if (!chain) throw usageError('trust.vendor-unknown', `No root for ${next.meta.vendorName} (${next.meta.vendorId}) is trusted yet; add its first root with \`unbrick trust add-root\`.`);
      const current = applied.filter((r) => r.meta.vendorId === next.meta.vendorId).at(-1) ?? chain.roots.at(-1)!;
      verifyRotation(current, next, revoked);
      applied.push(next);
      pending.set(next.meta.vendorId, [...(pending.get(next.meta.vendorId) ?? []), Buffer.from(bytes).toString('base64')]);
    }
    // All or nothing: the store changes only when every file verified.
    for (const [vendorId, roots] of pending) this.file.vendors[vendorId]!.roots.push(...roots);
    for (const r of applied) this.chains.get(r.meta.vendorId)!.roots.push(r);
    this.save();
    return applied;
  }

  /** Stops trusting a vendor: its chain of roots leaves the store, so its bundles are refused from now on. */
  removeVendor(vendorId: string): void {
    if (!this.file.vendors[vendorId]) throw usageError('trust.vendor-unknown', `No root for vendor ${vendorId} is trusted.`);
    delete this.file.vendors[vendorId];
    this.chains.delete(vendorId);
    this.save();
  }

  /** Finds a key id by full id or unique prefix among every key any root names. */
  resolveKeyid(idOrPrefix: string): string {
    const p = idOrPrefix.toLowerCase();
    if (/^[0-9a-f]{64}$/.test(p)) return p;
    if (!/^[0-9a-f]{8,63}$/.test(p)) throw usageError('trust.bad-keyid', 'Give a key fingerprint (64 hex digits) or a unique prefix of at least 8.');
    const all = new Set<string>();
    for (const c of this.chains.values()) for (const r of c.roots) for (const id of [...r.keys.keys(), ...r.imageKeys.keys()]) all.add(id);
    const hits = [...all].filter((id) => id.startsWith(p));
    if (hits.length !== 1) throw usageError('trust.bad-keyid', hits.length ? `"${p}" matches ${hits.length} keys; give more digits.` : `No key in the trust store starts with "${p}"; give the full 64-digit fingerprint to revoke an unknown key.`);
    return hits[0]!;
  }

  revoke(keyid: string, reason: string): LocalRevocation {
    const existing = this.file.revocations.find((r) => r.keyid === keyid);
    if (existing) return existing;
    const r = { keyid, reason, revokedAt: isoSeconds(Date.now()) };
    this.file.revocations.push(r);
    this.save();
    return r;
  }

  /** What the bundle verifier needs to know about each vendor. */
  view(): TrustView {
    const localRevoked = this.file.revocations.map((r) => r.keyid);
    return {
      vendor: (vendorId: string): VendorTrust | undefined => {
        const chain = this.chains.get(vendorId);
        if (!chain) return undefined;
        const current = chain.roots.at(-1)!;
        const retired = new Set<string>();
        for (const r of chain.roots.slice(0, -1)) for (const id of r.meta.roles.release.keyids) if (!current.meta.roles.release.keyids.includes(id)) retired.add(id);
        const release = roleRing(current, 'release', localRevoked, retired);
        const imageKeys = new Map<string, ImageKey>();
        for (const [id, k] of current.imageKeys) if (!release.revoked.has(id)) imageKeys.set(id, k);
        return {
          vendorName: current.meta.vendorName,
          rootVersion: current.meta.version,
          rootExpires: current.meta.expires,
          release,
          threshold: current.meta.roles.release.threshold,
          imageKeys,
        };
      },
    };
  }

  /** The current root file of a vendor, as it can be added on another laptop. */
  exportRoot(vendorId: string): Uint8Array {
    const chain = this.chains.get(vendorId);
    if (!chain) throw usageError('trust.vendor-unknown', `No root for vendor ${vendorId} is trusted.`);
    return chain.roots.at(-1)!.bytes;
  }
}
