/**
 * `unbrick bundle create --from SYSTEM:FILE`: a fleet OTA release (Mender
 * artifact, AWS IoT / FreeRTOS OTA job, Azure Device Update import manifest)
 * checked with its own proof (signature, code-signing certificate, hashes),
 * then made into an ordinary signed .ubundle by the vendor's release key,
 * keeping where it came from in the signed metadata (`provenance`).
 * The codecs (src/formats/fleet) are pure; this module reads the files.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { inputError, usageError } from '../core/errors.ts';
import { literal, num, obj, oneOf, opt, parseJsonAs, record, str, utcTime } from '../core/schema.ts';
import type { ImageKey } from '../crypto/keys.ts';
import { createBundle, type BundleSpec, type CreateResult } from '../formats/bundle/create.ts';
import { decodeImage, looksLikeMcubootImage, versionString } from '../formats/mcuboot/index.ts';
import { readAduImport, readAduManifest } from '../formats/fleet/adu.ts';
import { readAwsJobDocument, readAwsOtaJob } from '../formats/fleet/aws-ota.ts';
import { readMenderArtifact, MAX_MENDER_BYTES } from '../formats/fleet/mender.ts';
import { mapTargets, readTrustedCertificate, readTrustedKey, type FleetRelease } from '../formats/fleet/release.ts';

export const FLEET_SOURCES = ['mender', 'aws-ota', 'adu'] as const;
export type FleetSource = (typeof FLEET_SOURCES)[number];

const uuid = str({ max: 64, pattern: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/ });

/**
 * The vendor's side of an import (docs/fleet.md): what the fleet release does
 * not say. `hardware` maps the source system's targets (Mender device types,
 * ADU compatibility sets as "manufacturer=…,model=…", `*` for AWS jobs, which
 * name none) to this product's hardware revisions.
 */
export const FleetSpecSchema = obj({
  kind: opt(oneOf(['update', 'golden'] as const)),
  product: obj({ vendorId: uuid, classId: uuid, name: str({ max: 100 }), mcuProductId: opt(num({ int: true, min: 0, max: 0xffff })) }),
  hardware: record(str({ min: 1, max: 32 }), { max: 64 }),
  sequence: num({ int: true, min: 0, max: Number.MAX_SAFE_INTEGER }),
  validDays: opt(num({ int: true, min: 1, max: 36500 })),
  expires: opt(utcTime()),
  created: opt(utcTime()),
  releaseNotes: opt(str({ max: 16384 })),
  /** The MCUboot image-signing public key file (relative to the spec). */
  imageKey: str({ min: 1, max: 4096 }),
  /** Which of the release's files is the MCUboot image, when it has several. */
  payload: opt(str({ min: 1, max: 255 })),
  image: opt(num({ int: true, min: 0, max: 15 })),
  format: opt(literal(1)),
});

export interface FleetImportOptions {
  /** "mender:FILE", "aws-ota:JOBDOC" or "adu:MANIFEST". */
  from: string;
  specPath: string;
  releaseKeys: ImageKey[];
  out: string;
  /** Mender verification keys (PEM files). */
  menderKeys?: string[];
  allowUnsigned?: boolean;
  /** AWS: the trusted code-signing certificate (PEM file) and the files ("ID=PATH", or PATH for a one-file job). */
  awsCertificate?: string;
  awsFiles?: string[];
  awsJobId?: string;
  now?: number;
}

function readBytes(path: string, max = MAX_MENDER_BYTES): Uint8Array {
  try {
    const b = readFileSync(path);
    if (b.length > max) throw inputError('fleet.too-large', `${path} is larger than ${max} bytes; not a microcontroller release.`);
    return new Uint8Array(b);
  } catch (e) {
    if (e instanceof Error && 'kind' in e) throw e;
    throw inputError('fleet.read-failed', `Cannot read ${path}: ${(e as Error).message}.`);
  }
}
const readText = (path: string) => Buffer.from(readBytes(path, 1 << 20)).toString('utf8');

export function parseFrom(from: string): { system: FleetSource; path: string } {
  const m = /^(mender|aws-ota|adu):(.+)$/.exec(from);
  if (!m) throw usageError('fleet.bad-source', `--from must be mender:FILE, aws-ota:JOBDOC or adu:MANIFEST, not "${from}".`);
  return { system: m[1] as FleetSource, path: m[2]! };
}

/** Reads and checks the fleet release named by --from, with the trust inputs its system needs. */
export function readFleetRelease(o: FleetImportOptions): FleetRelease {
  const { system, path } = parseFrom(o.from);
  if (system === 'mender') {
    const keys = (o.menderKeys ?? []).map((k) => readTrustedKey(readText(k), basename(k)));
    return readMenderArtifact(readBytes(path), { keys, allowUnsigned: o.allowUnsigned });
  }
  if (system === 'aws-ota') {
    if (!o.awsCertificate) throw usageError('fleet.aws.certificate-required', 'Give the code-signing certificate the fleet signs OTA files with (--aws-cert PEM).');
    const text = readText(path);
    const doc = readAwsJobDocument(text);
    const files = new Map<number, Uint8Array>();
    for (const spec of o.awsFiles ?? []) {
      const m = /^(\d+)=(.+)$/.exec(spec);
      if (!m && doc.files.length !== 1) throw usageError('fleet.aws.file-id', `The job has ${doc.files.length} files: give each as --aws-file ID=PATH.`);
      files.set(m ? Number(m[1]) : doc.files[0]!.fileid, readBytes(m ? m[2]! : spec));
    }
    return readAwsOtaJob(text, { certificate: readTrustedCertificate(readText(o.awsCertificate), basename(o.awsCertificate)), files, now: o.now ?? Date.now(), jobId: o.awsJobId });
  }
  const text = readText(path);
  const manifest = readAduManifest(text);
  const files = new Map<string, Uint8Array>();
  for (const f of manifest.files ?? []) {
    try {
      files.set(f.filename, readBytes(join(dirname(resolve(path)), f.filename)));
    } catch {
      /* reported by the codec as fleet.adu.file-missing */
    }
  }
  return readAduImport(text, files);
}

const safeName = (n: string) => n.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[^A-Za-z0-9]+/, '').slice(0, 100) || 'image.bin';

/** Checks the release, then signs it into a bundle with the vendor's release keys. */
export async function createBundleFromFleet(o: FleetImportOptions): Promise<CreateResult & { release: FleetRelease }> {
  const specText = (() => {
    try {
      return readFileSync(o.specPath, 'utf8');
    } catch (e) {
      throw inputError('bundle.spec-invalid', `Cannot read the import spec ${o.specPath}: ${(e as Error).message}.`);
    }
  })();
  const spec = parseJsonAs(FleetSpecSchema, specText, { what: o.specPath, code: 'bundle.spec-invalid' });
  const release = readFleetRelease(o);
  const hardwareRevisions = mapTargets(release.provenance, spec.hardware);
  const file = spec.payload ? release.files.find((f) => f.name === spec.payload) : release.files.length === 1 ? release.files[0] : undefined;
  if (!file)
    throw inputError(
      'fleet.payload-choice',
      spec.payload
        ? `The release holds no file named ${spec.payload} (it holds ${release.files.map((f) => f.name).join(', ')}).`
        : `The release holds ${release.files.length} files (${release.files.map((f) => f.name).join(', ')}); name the MCUboot image with "payload" in the import spec.`,
    );
  if (!looksLikeMcubootImage(file.data))
    throw inputError('fleet.not-mcuboot', `${file.name} is not an MCUboot image (a delta patch or another format?); Unbrick installs whole MCUboot images.`);
  let version = release.version;
  if (!version) {
    let h: ReturnType<typeof decodeImage>['header'] | undefined;
    try {
      h = decodeImage(file.data).header;
    } catch {
      h = undefined;
    }
    if (!h) throw inputError('fleet.not-mcuboot', `${file.name} is not an MCUboot image (a delta patch or another format?); Unbrick installs whole MCUboot images.`);
    version = versionString(h.version).replace(/\+0$/, '');
  }
  const kind = spec.kind ?? 'update';
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-fleet-'));
  try {
    const name = safeName(file.name);
    writeFileSync(join(dir, name), file.data);
    const ids = Object.entries(release.provenance.identifiers)
      .slice(0, 4)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    const bundleSpec: BundleSpec = {
      kind,
      product: { vendorId: spec.product.vendorId, classId: spec.product.classId, name: spec.product.name, hardwareRevisions, ...(spec.product.mcuProductId !== undefined ? { mcuProductId: spec.product.mcuProductId } : {}) },
      version: version.slice(0, 64),
      sequence: spec.sequence,
      releaseNotes: spec.releaseNotes ?? `Imported from ${release.provenance.system} (${ids}).`,
      ...(spec.expires ? { expires: spec.expires } : {}),
      ...(spec.validDays ? { validDays: spec.validDays } : {}),
      ...(spec.created ? { created: spec.created } : {}),
      payloads: [{ file: name, name, role: 'mcuboot-image', target: { kind: 'smp', image: spec.image ?? 0, slot: kind === 'golden' ? 0 : 1 }, imageKey: resolve(dirname(resolve(o.specPath)), spec.imageKey) }],
      provenance: release.provenance,
    };
    const r = await createBundle(bundleSpec, dir, o.releaseKeys, o.out, { ...(o.now !== undefined ? { now: o.now } : {}) });
    return { ...r, release };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One line per fact of a release's provenance, for `bundle verify` / `bundle inspect`. */
export function provenanceLines(p: NonNullable<BundleSpec['provenance']>): string[] {
  const proof =
    p.proof.method === 'hashes-only'
      ? 'sizes and hashes only (the source is not signed); vouched for by the release key that signed this bundle'
      : `${p.proof.method} ${p.proof.algorithm ?? ''} by ${p.proof.subject ? `${p.proof.subject} ` : ''}${p.proof.fingerprint?.slice(0, 16)}…`;
  return [
    `  imported from ${p.system}: ${Object.entries(p.identifiers)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}`,
    ...(p.targets.length ? [`  source targets: ${p.targets.join(', ')}`] : []),
    `  proved by: ${proof}`,
  ];
}
