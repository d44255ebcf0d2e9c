/**
 * Builds signed MCUboot images (imgtool layout: 32-byte header padded to
 * 0x200, payload, TLV area with SHA-256 hash, key hash and ECDSA P-256
 * signature) so the simulators and the demo lab have images of any size to
 * upload. Signing uses Node's crypto; checking them stays with
 * src/formats/mcuboot.
 */
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

export interface BuiltImage {
  bytes: Uint8Array;
  /** The SHA-256 hash TLV value devices report. */
  hash: Uint8Array;
}

export interface SigningKey {
  privateKey: KeyObject;
  publicPem: string;
}

export function generateSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

export function buildImage(opts: {
  /** Total image size wanted (header + payload + TLVs); the payload is sized to match. */
  size?: number;
  payload?: Uint8Array;
  version?: { major: number; minor: number; revision: number; build: number };
  key: SigningKey;
  headerSize?: number;
}): BuiltImage {
  const hdrSize = opts.headerSize ?? 0x200;
  const TLV_BYTES = 4 + 36 + 36 + 4 + 72; // info, hash, key hash, signature (DER up to 72)
  const payload = opts.payload ?? new Uint8Array(randomBytes(Math.max(4, (opts.size ?? 4096) - hdrSize - TLV_BYTES)));
  const v = opts.version ?? { major: 1, minor: 0, revision: 0, build: 0 };
  const header = Buffer.alloc(hdrSize, 0);
  header.writeUInt32LE(0x96f3b83d, 0);
  header.writeUInt32LE(0, 4);
  header.writeUInt16LE(hdrSize, 8);
  header.writeUInt16LE(0, 10);
  header.writeUInt32LE(payload.length, 12);
  header.writeUInt32LE(0, 16);
  header[20] = v.major;
  header[21] = v.minor;
  header.writeUInt16LE(v.revision, 22);
  header.writeUInt32LE(v.build, 24);
  const hashed = Buffer.concat([header, payload]);
  const hash = createHash('sha256').update(hashed).digest();
  const spki = createPublicKey(opts.key.publicPem).export({ type: 'spki', format: 'der' });
  const keyHash = createHash('sha256').update(spki).digest();
  const sig = sign('sha256', hashed, opts.key.privateKey);
  const tlv = (type: number, value: Buffer) => {
    const h = Buffer.alloc(4);
    h.writeUInt16LE(type, 0);
    h.writeUInt16LE(value.length, 2);
    return Buffer.concat([h, value]);
  };
  const body = Buffer.concat([tlv(0x10, hash), tlv(0x01, keyHash), tlv(0x22, sig)]);
  const info = Buffer.alloc(4);
  info.writeUInt16LE(0x6907, 0);
  info.writeUInt16LE(body.length + 4, 2);
  return { bytes: new Uint8Array(Buffer.concat([hashed, info, body])), hash: new Uint8Array(hash) };
}
