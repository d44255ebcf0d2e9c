/**
 * Where the known-good images for a product come from. A golden set is what a
 * full unbrick writes: the bootloader, the application, and the protection
 * policy to restore.
 *
 * Only the demo lab's built-in set exists yet; golden bundles from the trust
 * store's golden library (src/trust) are the next source to wire in here.
 */
import { createHash } from 'node:crypto';
import { decodeImage, imageHashHex, versionString } from '../formats/mcuboot/index.ts';
import { LAB_PRODUCT, labApplicationImage, labBootloaderImage } from '../sim/lab/product.ts';
import type { ProductLayout } from './diagnose-stm32.ts';
import { GoldenLibrary } from '../trust/golden.ts';

export interface GoldenPayload {
  name: string;
  address: number;
  data: Uint8Array;
  sha256: string;
  version?: string;
}

export interface GoldenSet {
  /** Where it came from, for the service record ("demo lab built-in set", a bundle file and its hash). */
  origin: string;
  layout: ProductLayout;
  bootloader: GoldenPayload;
  application: GoldenPayload;
  /** Sectors to write-protect again at the end. */
  wrpSectors: number[];
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The golden set for an STM32 product ID, or undefined when none is known. */
export function goldenForStm32(pid: number): GoldenSet | undefined {
  if (pid !== 0x413) return undefined; // the lab product is an STM32F405 (PID 0x413)
  const bl = labBootloaderImage();
  const app = labApplicationImage('1.2.0', { confirm: true });
  const h = decodeImage(app).header!;
  return {
    origin: 'demo lab built-in golden set (not a signed bundle)',
    layout: LAB_PRODUCT,
    bootloader: { name: 'mcuboot.bin', address: LAB_PRODUCT.partitions.mcuboot.address, data: bl, sha256: sha256(bl) },
    application: { name: 'app-1.2.0.signed.bin', address: LAB_PRODUCT.partitions.slot0.address, data: app, sha256: sha256(app), version: versionString(h.version).replace(/\+0$/, '') },
    wrpSectors: LAB_PRODUCT.policy.wrpSectors,
  };
}

/** Golden application images known to this station, by their MCUboot image hash. */
export function goldenApplications(): { name: string; version: string; imageHash: string; image: Uint8Array }[] {
  const app = labApplicationImage('1.2.0');
  return [{ name: 'app-1.2.0 (demo lab)', version: '1.2.0', imageHash: imageHashHex(app), image: app }];
}

/** Update images this station can install (the demo lab carries release 1.3.0). */
export function updateImages(): { name: string; version: string; imageHash: string; image: Uint8Array }[] {
  const app = labApplicationImage('1.3.0');
  return [{ name: 'app-1.3.0 (demo lab)', version: '1.3.0', imageHash: imageHashHex(app), image: app }];
}

/**
 * Image hashes of the golden bundles imported into this station's golden
 * library (`unbrick golden import`), for matching what a unit reports. A
 * damaged or unreadable library matches nothing rather than failing a diagnosis.
 */
export function libraryImages(dataDir: string): { name: string; version: string; imageHash: string }[] {
  try {
    return new GoldenLibrary({ dir: dataDir }).entries().flatMap((e) =>
      e.payloads.filter((p) => p.imageHash).map((p) => ({ name: `${e.product.name} ${e.version} (${p.name})`, version: p.version ?? e.version, imageHash: p.imageHash! })),
    );
  } catch {
    return [];
  }
}
