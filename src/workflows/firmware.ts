/**
 * Where the firmware a workflow writes comes from: verified bundles in the
 * golden library (Recover, Full unbrick) and the update library (Offline
 * update) of the unit's data directory. Every use re-hashes and fully
 * re-verifies the bundle against the trust store (see trust/library.ts), and
 * the bytes written are the payload bytes whose SHA-256 the bundle signs.
 */
import { deviceError, usageError } from '../core/errors.ts';
import { decodeImage, imageHashHex, versionString } from '../formats/mcuboot/index.ts';
import { productKey, type FlashLayout, type PayloadInfo, type Provenance } from '../formats/bundle/metadata.ts';
import type { Preconditions } from '../formats/bundle/preconditions.ts';
import { BundleLibrary, type LibraryEntry, type LibraryKind, type LoadedBundle } from '../trust/library.ts';
import type { DeviceHandle } from '../devices/registry.ts';

/** Where a unit's firmware comes from: a data directory, and the unit's product when known. */
export interface FirmwareSource {
  dir: string;
  product?: { vendorId: string; classId: string };
}

export async function firmwareSource(handle: DeviceHandle, dataDir: string): Promise<FirmwareSource> {
  return { dir: (await handle.libraryDir?.()) ?? dataDir, ...(handle.product ? { product: handle.product } : {}) };
}

/** The bundle a payload came from, for the service record and the user. */
export interface BundleOrigin {
  bundleId: string;
  product: string;
  version: string;
  sequence: number;
  /** Where an imported fleet release came from (signed in the bundle): kept in the service record. */
  provenance?: Provenance;
}

/** A bundle and the payloads used from it, as service-record inputs (file and payload SHA-256s). */
export function recordInputs(o: BundleOrigin, payloads: { name: string; sha256: string; bytes: number }[]): { name: string; sha256: string; size?: number }[] {
  return [{ name: `${o.product} ${o.version} bundle (sequence ${o.sequence})`, sha256: o.bundleId }, ...payloads.map((p) => ({ name: p.name, sha256: p.sha256, size: p.bytes }))];
}

export interface RegionPayload {
  name: string;
  role: PayloadInfo['role'];
  address: number;
  data: Uint8Array;
  sha256: string;
  /** Version from the bundle, or read from the MCUboot header when the region is an image. */
  version?: string;
  /** The MCUboot image hash, when the region is an MCUboot image (what the unit lists once it runs it). */
  imageHash?: string;
}

/** What a full unbrick writes: every flash region of a golden bundle; the bootloader is where the unit starts. */
export interface GoldenSet {
  origin: BundleOrigin;
  regions: RegionPayload[];
  bootloader: RegionPayload;
}

/** An MCUboot image to send over SMP. */
export interface SmpImage {
  origin: BundleOrigin;
  name: string;
  version: string;
  imageHash: string;
  /** SHA-256 of the payload file, as the bundle signs it. */
  sha256: string;
  image: Uint8Array;
  slot: number;
  /** What the unit must show before the image is sent (signed in the bundle). */
  preconditions?: Preconditions;
}

const origin = (e: LibraryEntry): BundleOrigin => ({ bundleId: e.id, product: e.product.name, version: e.version, sequence: e.sequence });

/**
 * The entry to use: the one named (id or prefix), else the newest (highest
 * sequence) entry that fits, of the unit's product when it is known. Several
 * products fitting and none named is a question for the user, not a guess.
 */
function pick(kind: LibraryKind, lib: BundleLibrary, src: FirmwareSource, fits: (e: LibraryEntry) => boolean, id: string | undefined, what: string): LibraryEntry {
  if (id) {
    const e = lib.find(id);
    if (!fits(e)) throw usageError('firmware.wrong-bundle', `Library entry ${e.id.slice(0, 12)} (${e.product.name} ${e.version}) does not fit this unit: it holds no ${what}.`);
    if (src.product && productKey(e.product) !== productKey(src.product))
      throw usageError('firmware.wrong-product', `Library entry ${e.id.slice(0, 12)} is for ${e.product.name}, not for this unit's product.`);
    return e;
  }
  let hits = lib.entries().filter(fits);
  if (src.product) hits = hits.filter((e) => productKey(e.product) === productKey(src.product!));
  const noun = kind === 'golden' ? 'golden' : 'update';
  if (!hits.length)
    throw deviceError(
      'firmware.none',
      `The ${noun} library holds no bundle with ${what}${src.product ? ' for this product' : ''}. Import the product's ${noun} bundle (\`unbrick ${kind === 'golden' ? 'golden' : 'updates'} import FILE\`), then try again.`,
    );
  const products = new Set(hits.map((e) => productKey(e.product)));
  if (products.size > 1)
    throw usageError('firmware.choose', `The ${noun} library holds bundles for ${products.size} products that fit this unit (${[...new Set(hits.map((e) => e.product.name))].join(', ')}); choose one.`, {
      choices: hits.map((e) => ({ id: e.id, product: e.product.name, version: e.version })),
    });
  return hits.reduce((a, b) => (b.sequence > a.sequence ? b : a));
}

async function load(kind: LibraryKind, src: FirmwareSource, fits: (e: LibraryEntry) => boolean, id: string | undefined, what: string): Promise<LoadedBundle> {
  const lib = new BundleLibrary(kind, { dir: src.dir });
  return lib.load(pick(kind, lib, src, fits, id, what));
}

/** Version and image hash of a region that is an MCUboot image; nothing for other regions. */
function asImage(data: Uint8Array): { version?: string; imageHash?: string } {
  try {
    const h = decodeImage(data).header;
    return h ? { version: versionString(h.version).replace(/\+0$/, ''), imageHash: imageHashHex(data) } : {};
  } catch {
    return {};
  }
}

/** The golden set for an STM32 product ID, from the golden library. */
export async function goldenForStm32(src: FirmwareSource, pid: number, id?: string): Promise<GoldenSet> {
  // Entries imported before the index kept the product ID are checked after loading.
  const fits = (e: LibraryEntry) => e.payloads.some((p) => p.target.startsWith('address:')) && (e.product.mcuProductId ?? pid) === pid;
  const b = await load('golden', src, fits, id, `flash images for STM32 product ID 0x${pid.toString(16)}`);
  if (b.metadata.product.mcuProductId !== pid)
    throw deviceError(
      'firmware.wrong-chip',
      `The golden bundle ${b.entry.product.name} ${b.entry.version} is for STM32 product ID 0x${(b.metadata.product.mcuProductId ?? 0).toString(16)}, but this chip reports 0x${pid.toString(16)}. Use the golden bundle of this unit's product.`,
    );
  const regions: RegionPayload[] = b.metadata.payloads
    .filter((p) => p.target.kind === 'address')
    .map((p) => {
      const data = b.payloads.get(p.name)!;
      const img = p.role === 'bootloader' ? {} : asImage(data);
      const version = p.version ?? img.version;
      return { name: p.name, role: p.role, address: (p.target as { address: number }).address, data, sha256: p.sha256, ...(version ? { version } : {}), ...(img.imageHash ? { imageHash: img.imageHash } : {}) };
    })
    .sort((a, b) => a.address - b.address);
  const boots = regions.filter((r) => r.role === 'bootloader');
  if (boots.length !== 1)
    throw deviceError('firmware.no-bootloader', `The golden bundle ${b.entry.product.name} ${b.entry.version} must hold exactly one bootloader region for a full unbrick; it holds ${boots.length}.`);
  return { origin: origin(b.entry), regions, bootloader: boots[0]! };
}

async function smpImage(kind: LibraryKind, src: FirmwareSource, slot: number, id?: string): Promise<SmpImage> {
  const target = `smp:image0`;
  const fits = (e: LibraryEntry) => e.payloads.some((p) => p.target === target && p.imageHash);
  const b = await load(kind, src, fits, id, 'an MCUboot image for image 0');
  const p = b.metadata.payloads.find((x) => x.target.kind === 'smp' && x.target.image === 0)!;
  if (p.target.kind === 'smp' && p.target.slot !== slot)
    throw usageError(
      'firmware.wrong-slot',
      `The bundle ${b.entry.product.name} ${b.entry.version} targets slot ${p.target.slot}; ${slot === 0 ? 'serial recovery writes slot 0 (use a golden bundle)' : 'an update goes to slot 1 (use an update bundle)'}.`,
    );
  const o = b.metadata.provenance ? { ...origin(b.entry), provenance: b.metadata.provenance } : origin(b.entry);
  return { origin: o, name: p.name, version: p.version!.replace(/\+0$/, ''), imageHash: p.imageHash!, sha256: p.sha256, image: b.payloads.get(p.name)!, slot, ...(b.metadata.preconditions ? { preconditions: b.metadata.preconditions } : {}) };
}

/** The golden application to push through MCUboot serial recovery (slot 0). */
export const goldenForSmp = (src: FirmwareSource, id?: string): Promise<SmpImage> => smpImage('golden', src, 0, id);

/** The update image to install on a unit running its application (slot 1, then test and confirm). */
export const updateForSmp = (src: FirmwareSource, id?: string): Promise<SmpImage> => smpImage('update', src, 1, id);

/** Where the product keeps MCUboot and its slots, and which bundle said so. */
export interface KnownLayout {
  layout: FlashLayout;
  /** "Acme Gateway 1.2.0 golden bundle" */
  source: string;
}

/**
 * The flash layout of the unit's product, from the newest golden bundle for
 * this STM32 product ID that gives one (re-verified: a diagnosis must not read
 * flash at addresses a tampered file suggests). Several products on the same
 * chip with different layouts, and the unit's product unknown: no layout.
 */
export async function layoutForStm32(src: FirmwareSource, pid: number | undefined): Promise<KnownLayout | undefined> {
  const lib = new BundleLibrary('golden', { dir: src.dir });
  // pid undefined: a unit reached over SMP (no chip ID), known by its product only (used to draw its flash map).
  const hits = lib
    .entries()
    .filter((e) => (pid === undefined ? !!src.product : (e.product.mcuProductId ?? pid) === pid) && (!src.product || productKey(e.product) === productKey(src.product)))
    .sort((a, b) => b.sequence - a.sequence);
  const found: KnownLayout[] = [];
  const products = new Set<string>();
  for (const e of hits) {
    if (products.has(productKey(e.product))) continue; // the newest of each product decides
    try {
      const md = (await lib.use(e)).check.report.metadata;
      if (md.partitions && (pid === undefined || md.product.mcuProductId === pid)) {
        products.add(productKey(e.product));
        found.push({ layout: md.partitions, source: `${e.product.name} ${e.version} golden bundle` });
      }
    } catch {
      /* a bundle that no longer verifies gives no layout */
    }
  }
  const same = found.every((f) => JSON.stringify(f.layout) === JSON.stringify(found[0]!.layout));
  return found.length && same ? found[0] : undefined;
}

/**
 * Image hashes of every golden and update bundle in the libraries, for matching
 * what a unit reports. A damaged or unreadable library matches nothing rather
 * than failing a diagnosis.
 */
export function libraryImages(dir: string): { name: string; version: string; imageHash: string }[] {
  const out = [];
  for (const kind of ['golden', 'update'] as const) {
    try {
      for (const e of new BundleLibrary(kind, { dir }).entries())
        for (const p of e.payloads) if (p.imageHash) out.push({ name: `${e.product.name} ${p.version?.replace(/\+0$/, '') ?? e.version} (${kind})`, version: p.version ?? e.version, imageHash: p.imageHash });
    } catch {
      /* an unreadable library matches nothing */
    }
  }
  return out;
}
