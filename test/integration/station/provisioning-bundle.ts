/** A trust store and a signed STM32 provisioning bundle for station CLI tests. */
import { join } from 'node:path';
import { createBundle } from '../../../src/formats/bundle/create.ts';
import type { UnitDataTarget } from '../../../src/formats/bundle/metadata.ts';
import { findChip, type ChipInfo } from '../../../src/stm32/chips/index.ts';
import { Lab, makeVendor, VENDOR_ID, CLASS_ID } from '../../unit/bundle/fixture.ts';
import { TrustStore } from '../../../src/trust/store.ts';
import { testImage } from './stm32-units.ts';
import { buildImage, generateSigningKey } from '../../../src/sim/smp/image-builder.ts';

export interface ProvisioningLab {
  lab: Lab;
  /** Sets up a trust store that trusts the bundle's vendor in another data directory (another station). */
  trustIn(dataDir: string): void;
  chip: ChipInfo;
  bundle: string;
  boot: Uint8Array;
  app: Uint8Array;
}

/** The STM32 half of a provisioning bundle: bootloader and application written in `lab`, WRP over the bootloader's 4 KiB. */
function stm32Part(lab: Lab, chip: ChipInfo, appBytes = 6000) {
  const boot = testImage(4096, 5);
  const app = testImage(appBytes, 6);
  lab.file('boot.bin', boot);
  lab.file('app.bin', app);
  return {
    boot,
    app,
    payloads: [
      { file: 'boot.bin', name: 'boot.bin', role: 'bootloader' as const, target: { kind: 'address' as const, address: chip.flash.start }, version: '1.0.0' },
      { file: 'app.bin', name: 'app.bin', role: 'stm32-region' as const, target: { kind: 'address' as const, address: chip.flash.start + 0x1000 } },
    ],
    optionBytes: { rdpLevel: 0 as const, wrp: [{ start: chip.flash.start, end: chip.flash.start + 0x1000 }] },
  };
}

export async function provisioningLab(chipName = 'f103', o: { appBytes?: number; data?: (chip: ChipInfo) => UnitDataTarget } = {}): Promise<ProvisioningLab> {
  const lab = new Lab();
  const vendor = makeVendor();
  lab.trust(vendor);
  const chip = findChip(chipName);
  const { boot, app, payloads, optionBytes } = stm32Part(lab, chip, o.appBytes);
  const bundle = join(lab.dir, 'prov.ubundle');
  await createBundle(
    {
      kind: 'provisioning',
      product: { vendorId: VENDOR_ID, classId: CLASS_ID, name: 'Acme Sensor', hardwareRevisions: ['A'], mcuProductId: chip.pid },
      version: '3.1.0',
      sequence: 3,
      validDays: 30,
      payloads,
      provisioning: { optionBytes, ...(o.data ? { data: o.data(chip) } : {}) },
    },
    lab.dir,
    [vendor.releaseKeys[0]!],
    bundle,
  );
  const trustIn = (dataDir: string) => {
    TrustStore.init(dataDir).addRoot(vendor.rootBytes, vendor.rootKeys[0]!.fingerprint);
  };
  return { lab, trustIn, chip, bundle, boot, app };
}

/** A trust store and a signed provisioning bundle with STM32 address payloads and an MCUboot image. */
export async function mixedLab() {
  const lab = new Lab();
  const key = generateSigningKey();
  const vendor = makeVendor({ imageKeys: [key.key] });
  lab.trust(vendor);
  const chip = findChip('f103');
  const image = buildImage({ size: 6000, version: '2.1.0', key });
  const older = buildImage({ size: 5000, version: '2.0.0', key });
  const stm32 = stm32Part(lab, chip);
  lab.file('gateway.bin', image.bytes);
  lab.file('image-key.pem', key.publicPem);
  const bundle = join(lab.dir, 'mixed.ubundle');
  await createBundle(
    {
      kind: 'provisioning',
      product: { vendorId: VENDOR_ID, classId: CLASS_ID, name: 'Acme Line', hardwareRevisions: ['A'] },
      version: '4.0.0',
      sequence: 4,
      validDays: 30,
      payloads: [...stm32.payloads, { file: 'gateway.bin', name: 'gateway.bin', role: 'mcuboot-image', target: { kind: 'smp', image: 0, slot: 0 }, imageKey: 'image-key.pem' }],
      provisioning: { optionBytes: stm32.optionBytes },
    },
    lab.dir,
    [vendor.releaseKeys[0]!],
    bundle,
  );
  return { lab, chip, key, image, older, bundle };
}
