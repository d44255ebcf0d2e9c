/**
 * Vendor side: builds a bundle from a spec file and release private keys.
 * Payload hashes are streamed; MCUboot images are verified with their image
 * key (a bundle is never made around an image that would not boot), and their
 * version, security counter and image hash are copied into the metadata from
 * the image itself. The file appears only when complete (temp file + rename).
 */
import { hasher } from '../../crypto/hash.ts';
import { createReadStream, createWriteStream, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { inputError, usageError } from '../../core/errors.ts';
import { loadKey, type ImageKey } from '../../crypto/keys.ts';
import { canonicalBytes, type Json } from './canonical-json.ts';
import { writeContainer } from './container.ts';
import { encodeEnvelope, isReleaseKeyType, signEnvelope } from './dsse.ts';
import { verifyMcubootPayload } from './image-check.ts';
import { BUNDLE_PAYLOAD_TYPE, METADATA_TYPE, readMetadata, SPEC_VERSION, type BundleMetadata, type PayloadInfo } from './metadata.ts';
import { isoSeconds } from './schema.ts';
import { arr, bool, json, literal, num, obj, oneOf, opt, parseJsonAs, record, str, tagged, utcTime } from '../../core/schema.ts';
import { MAX_IMAGE_IN_MEMORY, type ImageVerifier } from './verify.ts';
import { PreconditionsSchema, type Preconditions } from './preconditions.ts';

/** A payload as the vendor describes it in the spec (paths relative to the spec file). */
export interface PayloadSpec {
  file: string;
  name?: string;
  role: PayloadInfo['role'];
  target: PayloadInfo['target'];
  /** MCUboot images: the image-signing public (or private) key file. */
  imageKey?: string;
  /** Raw regions: optional version for downgrade checks. */
  version?: string;
  compress?: boolean;
}

export interface BundleSpec {
  kind: BundleMetadata['kind'];
  product: BundleMetadata['product'];
  version: string;
  sequence: number;
  releaseNotes?: string;
  /** Either an absolute expiry or a validity in days from creation. */
  expires?: string;
  validDays?: number;
  /** Override the creation time (reproducible builds, tests). */
  created?: string;
  payloads: PayloadSpec[];
  provisioning?: BundleMetadata['provisioning'];
  critical?: string[];
  extensions?: Record<string, Json>;
  /** Set by a fleet import (app/fleet-import.ts), not written in spec files by hand. */
  provenance?: BundleMetadata['provenance'];
  preconditions?: Preconditions;
}

export interface CreateResult {
  path: string;
  metadata: BundleMetadata;
  bytes: number;
  signers: string[];
}

async function sha256File(path: string): Promise<string> {
  const h = hasher('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.hex();
}

const count = (max: number) => num({ int: true, min: 0, max });
const TargetSpec = tagged('kind', {
  smp: obj({ kind: literal('smp'), image: count(15), slot: count(1) }),
  address: obj({ kind: literal('address'), address: count(0xffffffff) }),
});

/**
 * The spec file, strictly: an unknown or misspelt field is refused with its
 * path and the field it most likely meant. Fields copied into the metadata
 * unchanged (provisioning, extensions) are checked by `readMetadata` below,
 * exactly as a verifier will check them.
 */
export const BundleSpecSchema = obj({
  kind: oneOf(['update', 'golden', 'provisioning'] as const),
  product: obj({
    vendorId: str({ max: 64 }),
    classId: str({ max: 64 }),
    name: str({ max: 100 }),
    hardwareRevisions: arr(str({ max: 32 }), { min: 1, max: 64 }),
    mcuProductId: opt(count(0xffff)),
  }),
  version: str({ max: 64 }),
  sequence: count(Number.MAX_SAFE_INTEGER),
  releaseNotes: opt(str({ max: 16384 })),
  expires: opt(utcTime()),
  validDays: opt(num({ int: true, min: 1, max: 36500 })),
  created: opt(utcTime()),
  payloads: arr(
    obj({
      file: str({ min: 1, max: 4096 }),
      name: opt(str({ max: 100 })),
      role: oneOf(['mcuboot-image', 'bootloader', 'stm32-region'] as const),
      target: TargetSpec,
      imageKey: opt(str({ min: 1, max: 4096 })),
      version: opt(str({ max: 32 })),
      compress: opt(bool()),
    }),
    { max: 32 },
  ),
  provisioning: opt(json()),
  critical: opt(arr(str({ max: 100 }), { max: 64 })),
  extensions: opt(record(json(), { max: 64 })),
  preconditions: opt(PreconditionsSchema),
});

export function readSpec(path: string): BundleSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw inputError('bundle.spec-invalid', `Cannot read the bundle spec ${path}: ${(e as Error).message}.`);
  }
  const spec = parseJsonAs(BundleSpecSchema, text, { what: path, code: 'bundle.spec-invalid', maxChars: 1 << 20 });
  // provisioning is checked field by field by readMetadata when the bundle is made.
  return spec as BundleSpec;
}

export async function createBundle(
  spec: BundleSpec,
  specDir: string,
  releaseKeys: ImageKey[],
  outPath: string,
  opts: { now?: number; verifyImage?: ImageVerifier } = {},
): Promise<CreateResult> {
  if (releaseKeys.length === 0) throw usageError('bundle.no-keys', 'Give at least one release private key (--key PEM).');
  for (const k of releaseKeys) if (!isReleaseKeyType(k.type)) throw usageError('bundle.key-type', `Release keys must be Ed25519 or ECDSA P-256; ${k.name ?? k.fingerprint.slice(0, 16)} is ${k.type}.`);
  if (!Array.isArray(spec.payloads)) throw inputError('bundle.spec-invalid', 'The spec needs a "payloads" list.');
  const verify = opts.verifyImage ?? verifyMcubootPayload;
  const now = opts.now ?? Date.now();
  const created = spec.created ?? isoSeconds(now);
  const expires = spec.expires ?? (spec.validDays ? isoSeconds(Date.parse(created) + spec.validDays * 86400_000) : undefined);
  if (!expires) throw inputError('bundle.spec-invalid', 'The spec needs "expires" (UTC time) or "validDays".');

  const files: { name: string; path: string; compress: boolean }[] = [];
  const payloads: PayloadInfo[] = [];
  for (const ps of spec.payloads) {
    const path = resolve(specDir, ps.file);
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      throw inputError('bundle.spec-invalid', `Payload file ${path} does not exist.`);
    }
    const name = ps.name ?? basename(ps.file);
    const p: PayloadInfo = { name, role: ps.role, target: ps.target, size, sha256: await sha256File(path) };
    if (ps.version) p.version = ps.version;
    if (ps.role === 'mcuboot-image') {
      if (!ps.imageKey) throw inputError('bundle.spec-invalid', `Payload ${name} is an MCUboot image: give "imageKey" (its image-signing public key file).`);
      const key = loadKey(readFileSync(resolve(specDir, ps.imageKey), 'utf8'), basename(ps.imageKey));
      if (size > MAX_IMAGE_IN_MEMORY) throw inputError('bundle.spec-invalid', `Payload ${name} is too large for an MCUboot image.`);
      const verdict = verify(new Uint8Array(readFileSync(path)), key);
      if (!verdict.valid)
        throw inputError('bundle.image-invalid', `Payload ${name} does not verify with image key ${key.fingerprint.slice(0, 16)}…: ${verdict.reason ?? verdict.code}. Refusing to bundle it.`);
      p.version = verdict.version!;
      if (ps.version && ps.version !== p.version) throw inputError('bundle.spec-invalid', `Payload ${name}: the spec says version ${ps.version} but the image is ${p.version}.`);
      if (verdict.securityCounter !== null && verdict.securityCounter !== undefined) p.securityCounter = verdict.securityCounter;
      p.imageKey = key.fingerprint;
      p.imageHash = verdict.hash!;
    }
    payloads.push(p);
    files.push({ name, path, compress: ps.compress ?? false });
  }

  const md: Record<string, unknown> = {
    type: METADATA_TYPE,
    specVersion: SPEC_VERSION,
    kind: spec.kind,
    product: spec.product,
    version: spec.version,
    sequence: spec.sequence,
    created,
    expires,
    releaseNotes: spec.releaseNotes ?? '',
    payloads,
    provisioning: spec.provisioning,
    critical: spec.critical,
    extensions: spec.extensions,
    provenance: spec.provenance,
    preconditions: spec.preconditions,
  };
  // Validate exactly what will be signed, with the verifier's own rules.
  const bytes = canonicalBytes(md);
  const metadata = readMetadata(JSON.parse(Buffer.from(bytes).toString('utf8')) as Json);
  const envelope = signEnvelope(BUNDLE_PAYLOAD_TYPE, bytes, releaseKeys);

  const tmp = join(dirname(resolve(outPath)), `.${basename(outPath)}.${process.pid}.tmp`);
  try {
    await writeContainer({ metadataEnvelope: encodeEnvelope(envelope), payloads: files }, createWriteStream(tmp));
    renameSync(tmp, outPath);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  return { path: outPath, metadata, bytes: statSync(outPath).size, signers: releaseKeys.map((k) => k.fingerprint) };
}
