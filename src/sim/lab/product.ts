/**
 * The product every demo-lab unit is: an STM32F405 board running MCUboot and a
 * signed application, with the partition layout a real product would publish.
 * Images are built at lab start and signed with a lab key made for this
 * process (ECDSA P-256), which the lab's simulated MCUboot trusts.
 */
import { signImage } from '../../formats/mcuboot/index.ts';
import { exportPublicPem, generateKey, type ImageKey } from '../../crypto/keys.ts';

let labKey: ImageKey | undefined;
/** The lab product's image-signing key: made once per process (the lab's devices trust its public half). */
export function labSigningKey(): ImageKey {
  return (labKey ??= generateKey('ecdsa-p256'));
}
export const labPublicKeyPem = (): string => exportPublicPem(labSigningKey());

export interface Partition {
  address: number;
  size: number;
  /** Flash sectors the partition covers (STM32F405 sector indexes). */
  sectors: number[];
}

export const LAB_PRODUCT = {
  name: 'Unbrick demo gateway',
  chip: 'f405',
  flashStart: 0x0800_0000,
  partitions: {
    mcuboot: { address: 0x0800_0000, size: 0x1_0000, sectors: [0, 1, 2, 3] },
    slot0: { address: 0x0802_0000, size: 0x2_0000, sectors: [5] },
    slot1: { address: 0x0804_0000, size: 0x2_0000, sectors: [6] },
  } satisfies Record<string, Partition>,
  /** The protection policy units ship with: the bootloader sectors write-protected, RDP level 0. */
  policy: { wrpSectors: [0, 1, 2, 3], rdpLevel: 0 as const },
};

/** A stand-in MCUboot binary: a valid-looking Cortex-M vector table and a marker string. */
export function labBootloaderImage(): Uint8Array {
  const img = new Uint8Array(24 * 1024).fill(0xff);
  const dv = new DataView(img.buffer);
  dv.setUint32(0, 0x2002_0000, true); // initial stack pointer: top of SRAM
  dv.setUint32(4, 0x0800_0101, true); // reset handler (Thumb)
  for (let i = 8; i < 0x188; i += 4) dv.setUint32(i, 0x0800_0131, true);
  const marker = new TextEncoder().encode('MCUboot 2.1.0 (Unbrick demo lab build)');
  img.set(marker, 0x200);
  for (let i = 0x400; i < img.length; i++) img[i] = (i * 31 + 7) & 0xff;
  return img;
}

/** The lab application at a version: a deterministic payload, signed with the lab key as an MCUboot image. */
export function labApplicationImage(version: string, opts: { confirm?: boolean; pad?: boolean; slotSize?: number } = {}): Uint8Array {
  const payload = new Uint8Array(40 * 1024);
  const seed = [...version].reduce((a, c) => a * 33 + c.charCodeAt(0), 5381) >>> 0;
  let x = seed || 1;
  for (let i = 0; i < payload.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    payload[i] = x & 0xff;
  }
  return signImage(payload, {
    key: labSigningKey(),
    version,
    padHeader: true,
    slotSize: opts.slotSize ?? LAB_PRODUCT.partitions.slot0.size,
    align: 8,
    ...(opts.pad || opts.confirm ? { pad: true } : {}),
    ...(opts.confirm ? { confirm: true } : {}),
  });
}
