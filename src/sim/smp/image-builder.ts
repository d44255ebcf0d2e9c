/**
 * Signed test images of any size for the simulators, the demo lab and tests:
 * random payload, signed by src/formats/mcuboot's signImage (imgtool layout).
 */
import { randomBytes } from 'node:crypto';
import { exportPublicPem, generateKey, type ImageKey } from '../../crypto/keys.ts';
import { signImage } from '../../formats/mcuboot/index.ts';
import { readSlotImage } from './image-check.ts';

export interface BuiltImage {
  bytes: Uint8Array;
  /** The SHA-256 hash TLV value devices report. */
  hash: Uint8Array;
}

export interface SigningKey {
  key: ImageKey;
  publicPem: string;
}

export function generateSigningKey(): SigningKey {
  const key = generateKey('ecdsa-p256');
  return { key, publicPem: exportPublicPem(key) };
}

/** An image of at most `size` bytes in total (header 0x200, payload, TLVs of up to 152 bytes with an ECDSA signature). */
export function buildImage(opts: { size: number; version?: string; key: SigningKey }): BuiltImage {
  const payload = new Uint8Array(randomBytes(Math.max(16, opts.size - 0x200 - 152)));
  const bytes = signImage(payload, { key: opts.key.key, version: opts.version ?? '1.0.0', headerSize: 0x200, padHeader: true, align: 4 });
  const info = readSlotImage(bytes);
  if (!info?.image.hash) throw new Error('signImage produced an image without a SHA-256 hash TLV');
  return { bytes, hash: info.image.hash };
}
