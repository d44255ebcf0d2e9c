/**
 * The demo lab's vendor: a trust root, a release key, and the lab product's
 * golden and update bundles, signed and imported into a golden and an update
 * library in a private folder made for this process. Lab units take their
 * images exactly as real units do (from verified bundles in those libraries),
 * and the user's own trust store never learns the lab's keys.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKey, type ImageKey } from '../../crypto/keys.ts';
import { createBundle, type BundleSpec } from '../../formats/bundle/create.ts';
import { isoSeconds } from '../../formats/bundle/schema.ts';
import { buildRoot, signRoot } from '../../trust/root.ts';
import { TrustStore } from '../../trust/store.ts';
import { BundleLibrary } from '../../trust/library.ts';
import { LAB_PRODUCT, labApplicationImage, labBootloaderImage, labPublicKeyPem, labSigningKey } from './product.ts';

/** The lab product's identity in its bundles (made-up UUIDs, fixed so records stay comparable). */
export const LAB_BUNDLE_PRODUCT = {
  vendorId: '5eb0b1c4-1a7e-4d6a-9c1e-0de30a0ab001',
  classId: '5eb0b1c4-1a7e-4d6a-9c1e-0de30a0ab002',
  name: LAB_PRODUCT.name,
  hardwareRevisions: ['A'],
  mcuProductId: 0x415, // STM32L47x/L48x
};

/** The least battery the lab's update release accepts (a Li-ion cell under load, with margin for the swap). */
export const LAB_UPDATE_MIN_BATTERY_MV = 3500;

export interface LabVendor {
  /** Signs a bundle from its spec (payload paths relative to `specDir`) with the vendor's release key. */
  sign(spec: BundleSpec, specDir: string, out: string): Promise<void>;
  /** The release key (made for this run, in memory only): signs bundles made another way, such as a fleet import. */
  releaseKey: ImageKey;
}

/**
 * A vendor made for this run (root and release keys that exist only in
 * memory): its root goes into a new trust store in `dataDir`, and only there.
 */
export function createLabVendor(dataDir: string, o: { vendorId: string; vendorName: string; imageKeys?: ImageKey[]; validDays: number }): LabVendor {
  const rootKey = generateKey('ed25519');
  const releaseKey = generateKey('ed25519');
  const now = Date.now();
  const root = buildRoot({
    vendorId: o.vendorId,
    vendorName: o.vendorName,
    version: 1,
    created: isoSeconds(now - 86_400_000),
    expires: isoSeconds(now + o.validDays * 86_400_000),
    rootKeys: [rootKey],
    rootThreshold: 1,
    releaseKeys: [releaseKey],
    releaseThreshold: 1,
    imageKeys: o.imageKeys ?? [],
  });
  TrustStore.init(dataDir).addRoot(signRoot(root, [rootKey]), rootKey.fingerprint);
  return {
    releaseKey,
    async sign(spec, specDir, out) {
      await createBundle(spec, specDir, [releaseKey], out);
    },
  };
}

export interface LabLibraries {
  /** A data directory with a trust store and the golden and update libraries. */
  dir: string;
  vendor: LabVendor;
  close(): void;
}

/** @param payloadBytes application payload size (default: the lab product's) */
export async function createLabLibraries(payloadBytes?: number): Promise<LabLibraries> {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-lab-'));
  try {
    const files = join(dir, 'release');
    const data = join(dir, 'data');
    const now = Date.now();
    const vendor = createLabVendor(data, { vendorId: LAB_BUNDLE_PRODUCT.vendorId, vendorName: 'Unbrick demo lab (not a real vendor)', imageKeys: [labSigningKey()], validDays: 3650 });

    mkdirSync(files, { recursive: true });
    const put = (name: string, bytes: Uint8Array | string) => writeFileSync(join(files, name), bytes);
    put('image-key.pub.pem', labPublicKeyPem());
    put('mcuboot.bin', labBootloaderImage());
    // The same application twice: padded and confirmed for writing straight to flash, plain for serial recovery.
    const size = payloadBytes ? { payloadBytes } : {};
    put('app-1.2.0-slot0.bin', labApplicationImage('1.2.0', { confirm: true, ...size }));
    put('app-1.2.0.bin', labApplicationImage('1.2.0', size));
    put('app-1.3.0.bin', labApplicationImage('1.3.0', size));
    const common = { product: LAB_BUNDLE_PRODUCT, created: isoSeconds(now - 60_000), validDays: 3650 };
    const golden: BundleSpec = {
      ...common,
      kind: 'golden',
      version: '1.2.0',
      sequence: 1,
      releaseNotes: 'Demo lab golden set: MCUboot and application 1.2.0.',
      // The product's flash layout, so a diagnosis through the ROM bootloader knows where to look.
      extensions: {
        partitions: {
          mcuboot: { address: LAB_PRODUCT.partitions.mcuboot.address, size: LAB_PRODUCT.partitions.mcuboot.size },
          slot0: { address: LAB_PRODUCT.partitions.slot0.address, size: LAB_PRODUCT.partitions.slot0.size },
          slot1: { address: LAB_PRODUCT.partitions.slot1.address, size: LAB_PRODUCT.partitions.slot1.size },
        },
      },
      payloads: [
        { file: 'mcuboot.bin', role: 'bootloader', target: { kind: 'address', address: LAB_PRODUCT.partitions.mcuboot.address }, version: '2.1.0' },
        { file: 'app-1.2.0-slot0.bin', role: 'stm32-region', target: { kind: 'address', address: LAB_PRODUCT.partitions.slot0.address }, version: '1.2.0' },
        { file: 'app-1.2.0.bin', role: 'mcuboot-image', target: { kind: 'smp', image: 0, slot: 0 }, imageKey: 'image-key.pub.pem' },
      ],
    };
    const update: BundleSpec = {
      ...common,
      kind: 'update',
      version: '1.3.0',
      sequence: 2,
      releaseNotes: 'Demo lab release 1.3.0.',
      // The unit's own safeguards: enough battery for the upload and the swap, room in slot 1, and the
      // restart counter that tells a boot loop after the test boot (the lab application offers all three).
      preconditions: {
        stats: [{ group: 'power', stat: 'battery_mv', min: LAB_UPDATE_MIN_BATTERY_MV, label: 'battery', unit: 'mV' }],
        slotFits: true,
        restarts: { group: 'boot', stat: 'reset_count' },
      },
      payloads: [{ file: 'app-1.3.0.bin', role: 'mcuboot-image', target: { kind: 'smp', image: 0, slot: 1 }, imageKey: 'image-key.pub.pem' }],
    };
    for (const spec of [golden, update]) {
      const out = join(files, `${spec.kind}.ubundle`);
      await vendor.sign(spec, files, out);
      await new BundleLibrary(spec.kind === 'golden' ? 'golden' : 'update', { dir: data }).import(out);
    }
    return { dir: data, vendor, close: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
