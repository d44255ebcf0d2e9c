/**
 * Test fixture: a temporary data directory, a vendor with keys generated at
 * test time, and bundles around MCUboot images from ../shared/vectors (signed
 * by imgtool with the vectors' image keys).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateKey, loadKey, type ImageKey } from '../../../src/crypto/keys.ts';
import { createBundle, type BundleSpec } from '../../../src/formats/bundle/create.ts';
import { buildRoot, signRoot, type RootSpec } from '../../../src/trust/root.ts';
import { TrustStore } from '../../../src/trust/store.ts';

export const SHARED = resolve(import.meta.dirname, '../../../../shared');
export const VECTORS = join(SHARED, 'vectors/mcuboot');
export const vectorImage = (id: string) => join(VECTORS, 'images', `${id}.bin`);
export const vectorKeyPath = (name: string) => join(VECTORS, 'keys', `${name}.pub.pem`);
export const vectorKey = (name: string): ImageKey => loadKey(readFileSync(vectorKeyPath(name), 'utf8'), name);

export const VENDOR_ID = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
export const CLASS_ID = '0a1b2c3d-4e5f-5a6b-8c7d-9e0f1a2b3c4d';
export const DAY = 86_400_000;
export const T0 = Date.parse('2026-06-01T00:00:00Z');
export const iso = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');

export interface Vendor {
  rootKeys: ImageKey[];
  releaseKeys: ImageKey[];
  rootSpec: RootSpec;
  rootBytes: Uint8Array;
}

export function makeVendor(o: { releaseThreshold?: number; releaseKeys?: ImageKey[]; rootKeys?: ImageKey[]; imageKeys?: ImageKey[]; vendorId?: string } = {}): Vendor {
  const rootKeys = o.rootKeys ?? [generateKey('ed25519')];
  const releaseKeys = o.releaseKeys ?? [generateKey('ed25519'), generateKey('ecdsa-p256')];
  const rootSpec: RootSpec = {
    vendorId: o.vendorId ?? VENDOR_ID,
    vendorName: 'Acme Field Devices',
    version: 1,
    created: iso(T0 - 30 * DAY),
    expires: iso(T0 + 3650 * DAY),
    rootKeys,
    rootThreshold: 1,
    releaseKeys,
    releaseThreshold: o.releaseThreshold ?? 1,
    imageKeys: o.imageKeys ?? [vectorKey('ed25519-a'), vectorKey('ecdsa-p256-a')],
  };
  return { rootKeys, releaseKeys, rootSpec, rootBytes: signRoot(buildRoot(rootSpec), rootKeys) };
}

export class Lab {
  readonly dir: string;
  readonly dataDir: string;
  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'unbrick-bundle-'));
    this.dataDir = join(this.dir, 'data');
  }
  /** Initialises the trust store and adds the vendor's root. */
  trust(v: Vendor): TrustStore {
    const store = TrustStore.init(this.dataDir);
    store.addRoot(v.rootBytes, v.rootKeys[0]!.fingerprint);
    return store;
  }
  file(name: string, data: string | Uint8Array): string {
    const p = join(this.dir, name);
    writeFileSync(p, data);
    return p;
  }
  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function baseSpec(over: Partial<BundleSpec> = {}): BundleSpec {
  return {
    kind: 'update',
    product: { vendorId: VENDOR_ID, classId: CLASS_ID, name: 'Acme Gateway', hardwareRevisions: ['B', 'C'], mcuProductId: 0x413 },
    version: '1.2.3',
    sequence: 10,
    created: iso(T0),
    expires: iso(T0 + 365 * DAY),
    releaseNotes: 'Fixes the watchdog reset loop.',
    payloads: [{ file: vectorImage('ed25519_basic'), name: 'app.bin', role: 'mcuboot-image', target: { kind: 'smp', image: 0, slot: 1 }, imageKey: vectorKeyPath('ed25519-a') }],
    ...over,
  };
}

export async function makeBundle(lab: Lab, name: string, keys: ImageKey[], over: Partial<BundleSpec> = {}): Promise<string> {
  const out = join(lab.dir, name);
  await createBundle(baseSpec(over), lab.dir, keys, out, { now: T0 });
  return out;
}

/** Reads every entry of a zip (test-only; small bundles). */
export async function readZip(path: string): Promise<Map<string, Buffer>> {
  const yauzl = (await import('yauzl')).default;
  const zip = await yauzl.openPromise(path, { lazyEntries: true, decodeStrings: true });
  const out = new Map<string, Buffer>();
  for await (const e of zip.eachEntry()) {
    const s = await zip.openReadStreamPromise(e);
    const chunks: Buffer[] = [];
    for await (const c of s) chunks.push(c as Buffer);
    out.set(e.fileName, Buffer.concat(chunks));
  }
  zip.close();
  return out;
}

/** Writes entries as a zip (in the given order; names are taken as they are). */
export async function writeZip(path: string, entries: [string, Buffer, boolean?][]): Promise<string> {
  const yazl = (await import('yazl')).default;
  const { createWriteStream } = await import('node:fs');
  const zip = new yazl.ZipFile();
  for (const [name, data, compress] of entries) zip.addBuffer(data, name, { compress: compress ?? false });
  await new Promise<void>((res, rej) => {
    const out = createWriteStream(path);
    out.on('finish', () => res());
    out.on('error', rej);
    zip.outputStream.pipe(out);
    zip.end();
  });
  return path;
}

/** Replaces every occurrence of `from` with `to` (same length) in a file: renames entries in both headers. */
export function patchBytes(path: string, from: string, to: string): void {
  if (from.length !== to.length) throw new Error('same length only');
  const buf = readFileSync(path);
  let i = buf.indexOf(from);
  let n = 0;
  while (i >= 0) {
    buf.write(to, i, 'latin1');
    n++;
    i = buf.indexOf(from, i + 1);
  }
  if (n === 0) throw new Error(`"${from}" not found`);
  writeFileSync(path, buf);
}

/**
 * A test body run in a fresh lab that trusts a new vendor (made with `vendor`'s options);
 * the lab's folder is removed after, pass or fail.
 */
export function inTrustedLab(fn: (lab: Lab, v: Vendor) => Promise<void> | void, vendor: Parameters<typeof makeVendor>[0] = {}): () => Promise<void> {
  return async () => {
    const lab = new Lab();
    try {
      const v = makeVendor(vendor);
      lab.trust(v);
      await fn(lab, v);
    } finally {
      lab.cleanup();
    }
  };
}

/** Bundle metadata as plain JSON (an update with no payloads, valid through 2026), for the parser's tests. */
export const metadataJson = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: 'unbrick.bundle',
  specVersion: 1,
  kind: 'update',
  product: { vendorId: VENDOR_ID, classId: CLASS_ID, name: 'Gateway', hardwareRevisions: ['B'] },
  version: '1.0.0',
  sequence: 1,
  created: '2026-01-01T00:00:00Z',
  expires: '2027-01-01T00:00:00Z',
  releaseNotes: '',
  payloads: [],
  ...over,
});
