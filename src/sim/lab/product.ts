/**
 * The product every demo-lab unit is: the seed device, an STM32L4 (1 MiB
 * flash, 2 KiB pages) running MCUboot and a signed application, with the
 * partition layout a real product would publish: 32 KiB MCUboot, two 448 KiB
 * slots, 16 KiB scratch. Images are several hundred KiB, as in the field.
 * They are built at lab start and signed with a lab key made for this process
 * (ECDSA P-256), which the lab's simulated MCUboot trusts.
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
  /** Flash pages the partition covers (STM32L4 page indexes, 2 KiB each). */
  pages: number[];
}

const PAGE = 2048;
const partition = (address: number, size: number): Partition => {
  const first = (address - 0x0800_0000) / PAGE;
  return { address, size, pages: Array.from({ length: size / PAGE }, (_, i) => first + i) };
};

export const LAB_PRODUCT = {
  name: 'Unbrick demo gateway',
  chip: 'l476',
  flashStart: 0x0800_0000,
  /** Flash erase unit (STM32L4 page), also the SMP simulators' sector size. */
  pageSize: PAGE,
  partitions: {
    mcuboot: partition(0x0800_0000, 0x8000),
    slot0: partition(0x0800_8000, 0x7_0000),
    slot1: partition(0x0807_8000, 0x7_0000),
    scratch: partition(0x080e_8000, 0x4000),
  } satisfies Record<string, Partition>,
  /** The protection policy units ship with: the bootloader pages write-protected, RDP level 0. */
  policy: { wrpPages: Array.from({ length: 16 }, (_, i) => i), rdpLevel: 0 as const },
};

/** The lab application's payload: several hundred KiB, as a real product's (benches pass their own size). */
export const LAB_APP_BYTES = 320 * 1024;

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
export function labApplicationImage(version: string, opts: { confirm?: boolean; pad?: boolean; slotSize?: number; payloadBytes?: number } = {}): Uint8Array {
  const payload = new Uint8Array(opts.payloadBytes ?? LAB_APP_BYTES);
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
