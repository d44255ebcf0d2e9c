/**
 * Offline bundle verification. Order matters and follows TUF's rule of
 * trusting nothing before its signature is checked:
 *  1. container structure (names, sizes, ratios, duplicates) before inflating;
 *  2. release-key signatures and threshold over the exact metadata bytes;
 *  3. metadata schema (canonical JSON, no unknown critical fields);
 *  4. policy from signed data: expiry, product/hardware match, anti-rollback;
 *  5. every payload streamed and hashed; MCUboot images checked with the
 *     image toolkit against the image-signing key the metadata names.
 * The first failure throws a typed UnbrickError (kind 'check' for a bundle
 * that is well-formed but not acceptable, 'input' for a malformed one).
 * Nothing here writes anything: recording acceptance is the caller's step.
 */
import { hasher } from '../../crypto/hash.ts';
import { checkError, inputError, throwIfAborted } from '../../core/errors.ts';
import type { ImageKey } from '../../crypto/keys.ts';
import { BundleArchive, METADATA_ENTRY, PAYLOAD_PREFIX } from './container.ts';
import { parseCanonical } from './canonical-json.ts';
import { checkSignatures, decodeEnvelope, type KeyRing, type SignatureCheck } from './dsse.ts';
import {
  BUNDLE_PAYLOAD_TYPE,
  compareVersions,
  productKey,
  readMetadata,
  targetKey,
  type BundleMetadata,
  type PayloadInfo,
} from './metadata.ts';
import { LIMITS } from './container.ts';

/** What the trust store tells the verifier about one vendor. */
export interface VendorTrust {
  vendorName: string;
  rootVersion: number;
  rootExpires: string;
  release: KeyRing;
  threshold: number;
  /** Image-signing keys the vendor's root lists (revoked ones already removed). */
  imageKeys: Map<string, ImageKey>;
}

export interface TrustView {
  vendor(vendorId: string): VendorTrust | undefined;
}

/** Highest accepted values for one product (from the persisted anti-rollback state). */
export interface RollbackFloor {
  highestSequence?: number;
  targets: Record<string, { version?: string; securityCounter?: number }>;
}

/** The unit the bundle is meant for (from the device, a label, or the technician). */
export interface DeviceIdentity {
  vendorId?: string;
  classId?: string;
  hardwareRevision?: string;
  mcuProductId?: number;
  /** What is installed now, by target key (e.g. "smp:image0"): a downgrade check for updates. */
  installed?: Record<string, { version?: string; securityCounter?: number }>;
}

/** The MCUboot image toolkit's verdict, normalised (see image-check.ts). */
export interface ImageVerdict {
  valid: boolean;
  code?: string;
  reason?: string;
  /** The image hash TLV value, lower-case hex. */
  hash?: string;
  version?: string;
  securityCounter?: number | null;
}
export type ImageVerifier = (bytes: Uint8Array, key: ImageKey) => ImageVerdict;

export interface VerifyOptions {
  trust: TrustView;
  /**
   * The time (ms) to check expiry against, given the bundle's signed creation
   * time: the caller's clock decision (see trust/clock.ts).
   */
  time: (bundleCreated: number) => number;
  /** The anti-rollback floor for the bundle's product (from the persisted state). */
  floorFor?: (md: BundleMetadata) => RollbackFloor | undefined;
  device?: DeviceIdentity;
  /**
   * The user said the unit's hardware cannot be told (`--skip-hardware-check`):
   * a device identity without the hardware fields the bundle targets is then
   * accepted with a note, instead of refused.
   */
  skipHardwareCheck?: boolean;
  verifyImage: ImageVerifier;
  signal?: AbortSignal;
  /** Bytes hashed so far, for a progress meter. */
  onProgress?: (done: number, total: number) => void;
}

export interface PayloadReport {
  name: string;
  role: string;
  target: string;
  size: number;
  sha256: string;
  version?: string;
  imageHash?: string;
  imageKey?: string;
}

export interface VerifyReport {
  metadata: BundleMetadata;
  vendorName: string;
  rootVersion: number;
  signatures: SignatureCheck[];
  payloads: PayloadReport[];
  /** Notes on decisions taken (e.g. a golden bundle older than installed). */
  notes: string[];
}

/** Largest MCUboot image held in memory for the image toolkit (a slot is far smaller). */
export const MAX_IMAGE_IN_MEMORY = 32 * 1024 * 1024;

/** Starts the report note written when --skip-hardware-check let an unchecked identity through. */
export const HARDWARE_SKIPPED = 'Hardware check skipped';

const refuse = (code: string, message: string, details?: Record<string, unknown>) => checkError(`bundle.${code}`, message, details);

/** Reads the metadata envelope and checks signatures; returns the verified metadata. */
export async function readSignedMetadata(archive: BundleArchive, trust: TrustView): Promise<{ metadata: BundleMetadata; vendor: VendorTrust; checks: SignatureCheck[] }> {
  if (!archive.entries.has(METADATA_ENTRY)) throw inputError('bundle.metadata-missing', `The bundle has no ${METADATA_ENTRY}; it is not an Unbrick bundle or is incomplete.`);
  const bytes = await archive.read(METADATA_ENTRY);
  const env = decodeEnvelope(bytes, 'Bundle metadata envelope', 'bundle', LIMITS.maxMetadataBytes);
  if (env.payloadType !== BUNDLE_PAYLOAD_TYPE)
    throw inputError('bundle.metadata-invalid', `The metadata is of type "${env.payloadType}", not "${BUNDLE_PAYLOAD_TYPE}".`);

  // Only the vendor id is read before the signatures are checked: it picks whose keys apply.
  let vendorId: unknown;
  try {
    vendorId = (JSON.parse(Buffer.from(env.payload).toString('utf8')) as { product?: { vendorId?: unknown } }).product?.vendorId;
  } catch {
    throw inputError('bundle.metadata-invalid', 'The bundle metadata is not readable JSON.');
  }
  if (typeof vendorId !== 'string') throw inputError('bundle.metadata-invalid', 'The bundle metadata names no product.vendorId.');
  const vendor = trust.vendor(vendorId);
  if (!vendor)
    throw refuse('key-unknown', `No trusted root for vendor ${vendorId}: no key on this laptop may sign its bundles. Add the vendor's root with \`unbrick trust add-root\`.`, {
      vendorId,
    });

  const { checks, validKeyids } = checkSignatures(env, vendor.release);
  if (validKeyids.length < vendor.threshold) {
    const has = (s: string) => checks.some((c) => c.status === s);
    const details = { checks, threshold: vendor.threshold, valid: validKeyids.length };
    const short = `${validKeyids.length} valid signature(s) of the ${vendor.threshold} required`;
    if (has('invalid'))
      throw refuse('signature-invalid', `The metadata does not match its signatures: it was changed after signing (or signed over other bytes). ${short}. Do not use this bundle.`, details);
    if (has('revoked')) throw refuse('key-revoked', `The bundle is signed with a revoked release key (${short}). Do not use this bundle; ask the vendor for a re-signed release.`, details);
    if (has('retired'))
      throw refuse('key-retired', `The bundle is signed with a release key that ${vendor.vendorName}'s root version ${vendor.rootVersion} no longer trusts (rotated out; ${short}).`, details);
    if (validKeyids.length === 0)
      throw refuse('key-unknown', `The bundle is signed only by keys this laptop does not trust for ${vendor.vendorName} (${short}). Check you have the vendor's current root.`, details);
    throw refuse('threshold-not-met', `Only ${short} by ${vendor.vendorName}'s release keys; the bundle needs more release signatures.`, details);
  }

  const metadata = readMetadata(parseCanonical(env.payload, 'Bundle metadata', 'bundle.metadata-invalid'));
  return { metadata, vendor, checks };
}

function checkPolicy(md: BundleMetadata, vendor: VendorTrust, now: number, opts: VerifyOptions, notes: string[]): void {
  if (now > Date.parse(vendor.rootExpires))
    throw checkError(
      'trust.root-expired',
      `The trusted root for ${vendor.vendorName} (version ${vendor.rootVersion}) expired on ${vendor.rootExpires}. Get the vendor's newer root and apply it with \`unbrick trust rotate\`.`,
    );
  if (now > Date.parse(md.expires))
    throw refuse('expired', `The bundle expired on ${md.expires}. Ask the vendor for a current release (if the laptop clock is wrong, correct it).`, {
      expires: md.expires,
      now: new Date(now).toISOString(),
    });

  const dev = opts.device;
  if (dev) {
    if ((dev.vendorId && dev.vendorId !== md.product.vendorId) || (dev.classId && dev.classId !== md.product.classId))
      throw refuse('wrong-product', `This bundle is for ${md.product.name} (${productKey(md.product)}), not for this unit (${dev.vendorId ?? '?'}/${dev.classId ?? '?'}).`, {
        bundle: productKey(md.product),
        device: `${dev.vendorId ?? ''}/${dev.classId ?? ''}`,
      });
    if (dev.hardwareRevision !== undefined && !md.product.hardwareRevisions.includes(dev.hardwareRevision))
      throw refuse('wrong-hardware', `This bundle supports hardware revision(s) ${md.product.hardwareRevisions.join(', ')}; the unit is revision ${dev.hardwareRevision}.`, {
        allowed: md.product.hardwareRevisions,
        device: dev.hardwareRevision,
      });
    if (dev.mcuProductId !== undefined && md.product.mcuProductId !== undefined && dev.mcuProductId !== md.product.mcuProductId)
      throw refuse('wrong-mcu', `This bundle is for MCU product ID 0x${md.product.mcuProductId.toString(16)}; the unit reports 0x${dev.mcuProductId.toString(16)}.`);
    // After the mismatches (the more specific refusal): a check asked for that cannot be made is a failure: the bundle targets hardware the identity does not name.
    const unchecked = [
      ...(dev.hardwareRevision === undefined ? ['hardwareRevision'] : []),
      ...(md.product.mcuProductId !== undefined && dev.mcuProductId === undefined ? ['mcuProductId'] : []),
    ];
    if (unchecked.length > 0 && !opts.skipHardwareCheck)
      throw refuse(
        'hardware-unchecked',
        `This bundle targets hardware revision(s) ${md.product.hardwareRevisions.join(', ')}${md.product.mcuProductId !== undefined ? ` and MCU 0x${md.product.mcuProductId.toString(16)}` : ''}, but the device identity does not give ${unchecked.join(' or ')}, so the hardware check cannot be made. Add ${unchecked.join(' and ')} to the identity, or pass --skip-hardware-check (recorded in the service log).`,
        { missing: unchecked, allowed: md.product.hardwareRevisions },
      );
    if (unchecked.length > 0) notes.push(`${HARDWARE_SKIPPED} at the user's request (--skip-hardware-check): the identity gives no ${unchecked.join(' or ')}.`);
  }

  if (md.kind === 'golden') {
    notes.push('Golden recovery bundle: exempt from the sequence and downgrade checks because it is signed as golden.');
    return;
  }
  const floor = opts.floorFor?.(md);
  if (floor?.highestSequence !== undefined && md.sequence < floor.highestSequence)
    throw refuse('rollback', `Sequence ${md.sequence} is older than ${floor.highestSequence}, the newest already accepted for ${md.product.name}: this is a rollback to an older release.`, {
      sequence: md.sequence,
      highestAccepted: floor.highestSequence,
    });
  if (md.kind !== 'update') return;
  for (const p of md.payloads) {
    const key = targetKey(p.target);
    for (const [source, prev] of [
      ['accepted on this laptop', floor?.targets[key]],
      ['installed on the unit', dev?.installed?.[key]],
    ] as const) {
      if (!prev) continue;
      if (p.version && prev.version && compareVersions(p.version, prev.version) < 0)
        throw refuse('downgrade', `${p.name} is version ${p.version}, older than ${prev.version} ${source} (${key}). An update may not downgrade; use a golden recovery bundle.`, {
          payload: p.name,
          version: p.version,
          newest: prev.version,
          source,
        });
      if (p.securityCounter !== undefined && prev.securityCounter !== undefined && p.securityCounter < prev.securityCounter)
        throw refuse('downgrade', `${p.name} has security counter ${p.securityCounter}, lower than ${prev.securityCounter} ${source}; the bootloader would refuse it.`, {
          payload: p.name,
          securityCounter: p.securityCounter,
          newest: prev.securityCounter,
          source,
        });
    }
  }
}

async function checkPayload(archive: BundleArchive, p: PayloadInfo, vendor: VendorTrust, opts: VerifyOptions, progress: { done: number; total: number }): Promise<PayloadReport> {
  const entryName = PAYLOAD_PREFIX + p.name;
  const entry = archive.entries.get(entryName);
  if (!entry) throw refuse('payload-missing', `The metadata lists ${p.name} but the bundle does not contain it.`, { payload: p.name });
  const isImage = p.role === 'mcuboot-image';
  let imageKey: ImageKey | undefined;
  if (isImage) {
    if (vendor.release.revoked.has(p.imageKey!))
      throw refuse('image-key-revoked', `${p.name} must be signed with image key ${p.imageKey!.slice(0, 16)}…, which is revoked.`, { payload: p.name });
    imageKey = vendor.imageKeys.get(p.imageKey!);
    if (!imageKey)
      throw refuse('image-key-unknown', `${p.name} names image-signing key ${p.imageKey!.slice(0, 16)}…, which ${vendor.vendorName}'s root does not list.`, { payload: p.name });
  }
  // A raw region of the wrong size is refused unread; an MCUboot image is read (bounded) so a
  // genuine image lifted from another release can be named as such.
  if (entry.size !== p.size && (!isImage || entry.size > MAX_IMAGE_IN_MEMORY))
    throw refuse('payload-size-mismatch', `${p.name} is ${entry.size} bytes; the signed metadata says ${p.size}. The payload was replaced or damaged.`, {
      payload: p.name,
      size: entry.size,
      expected: p.size,
    });
  const hash = hasher('sha256');
  const image = isImage ? Buffer.allocUnsafe(entry.size) : undefined;
  let got = 0;
  const stream = await archive.stream(entryName);
  try {
    for await (const chunk of stream) {
      throwIfAborted(opts.signal);
      const c = chunk as Buffer;
      if (got + c.length > entry.size) throw inputError('bundle.corrupt-archive', `${p.name} holds more bytes than its declared size.`, { payload: p.name });
      hash.update(c);
      if (image) c.copy(image, got);
      got += c.length;
      progress.done += c.length;
      opts.onProgress?.(progress.done, progress.total);
    }
  } catch (e) {
    stream.destroy();
    if (e instanceof Error && 'kind' in e) throw e;
    throw inputError('bundle.corrupt-archive', `${p.name} could not be read from the bundle: ${(e as Error).message}.`, { payload: p.name });
  }
  if (got !== entry.size) throw inputError('bundle.corrupt-archive', `${p.name} ended after ${got} bytes; its declared size is ${entry.size}.`, { payload: p.name });
  const sha256 = hash.hex();
  const report: PayloadReport = { name: p.name, role: p.role, target: targetKey(p.target), size: p.size, sha256 };
  if (p.version) report.version = p.version;

  if (!image || !imageKey) {
    if (sha256 !== p.sha256)
      throw refuse('payload-hash-mismatch', `${p.name} does not match its signed SHA-256: it was modified or replaced. Do not use this bundle.`, {
        payload: p.name,
        sha256,
        expected: p.sha256,
      });
    return report;
  }

  const verdict = opts.verifyImage(image, imageKey);
  if (sha256 !== p.sha256 || got !== p.size) {
    // Tell a genuine image lifted from another release apart from corrupted bytes.
    if (verdict.valid)
      throw refuse('payload-substituted', `${p.name} is a genuine image (version ${verdict.version ?? '?'}) but not the one this bundle's metadata signs: it was taken from another bundle or release. Do not use this bundle.`, {
        payload: p.name,
        sha256,
        expected: p.sha256,
        imageVersion: verdict.version,
      });
    throw refuse('payload-hash-mismatch', `${p.name} does not match its signed SHA-256: it was modified or replaced. Do not use this bundle.`, { payload: p.name, sha256, expected: p.sha256 });
  }
  if (!verdict.valid)
    throw refuse('image-invalid', `${p.name} fails MCUboot verification with image key ${imageKey.fingerprint.slice(0, 16)}…: ${verdict.reason ?? verdict.code ?? 'invalid'}.`, {
      payload: p.name,
      imageCode: verdict.code,
    });
  const mismatch = (field: string, signed: unknown, actual: unknown) =>
    refuse('image-mismatch', `${p.name}: the image's ${field} is ${String(actual)} but the signed metadata says ${String(signed)}.`, { payload: p.name, field });
  if (verdict.hash !== p.imageHash) throw mismatch('hash', p.imageHash, verdict.hash);
  if (verdict.version !== undefined && compareVersions(verdict.version, p.version!) !== 0) throw mismatch('version', p.version, verdict.version);
  if ((verdict.securityCounter ?? undefined) !== p.securityCounter) throw mismatch('security counter', p.securityCounter, verdict.securityCounter);
  report.imageHash = verdict.hash;
  report.imageKey = imageKey.fingerprint;
  return report;
}

export async function verifyBundle(path: string, opts: VerifyOptions): Promise<VerifyReport> {
  const archive = await BundleArchive.open(path);
  try {
    const { metadata, vendor, checks } = await readSignedMetadata(archive, opts.trust);
    const listed = new Set(metadata.payloads.map((p) => PAYLOAD_PREFIX + p.name));
    for (const name of archive.entries.keys())
      if (name !== METADATA_ENTRY && !listed.has(name))
        throw refuse('unlisted-payload', `The bundle contains ${name}, which its signed metadata does not list; refusing it.`, { entry: name });
    const notes: string[] = [];
    checkPolicy(metadata, vendor, opts.time(Date.parse(metadata.created)), opts, notes);
    const progress = { done: 0, total: metadata.payloads.reduce((s, p) => s + p.size, 0) };
    const payloads: PayloadReport[] = [];
    for (const p of metadata.payloads) payloads.push(await checkPayload(archive, p, vendor, opts, progress));
    return { metadata, vendorName: vendor.vendorName, rootVersion: vendor.rootVersion, signatures: checks, payloads, notes };
  } finally {
    archive.close();
  }
}
