/** Loads the shared MCUboot reference vectors (read in place, never copied). */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadKey, type ImageKey } from '../../../src/crypto/keys.ts';
import { readImageFile } from '../../../src/formats/mcuboot/input.ts';
import type { SignOptions } from '../../../src/formats/mcuboot/sign.ts';
import { fromHex } from '../../../src/core/bytes.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const VECTORS = join(repoRoot, '..', 'shared', 'vectors', 'mcuboot');

/* eslint-disable @typescript-eslint/no-explicit-any */
export type ManifestImage = any;
export const manifest: { keys: Record<string, any>; payloads: Record<string, any>; images: ManifestImage[] } = JSON.parse(
  readFileSync(join(VECTORS, 'manifest.json'), 'utf8'),
);
/* eslint-enable @typescript-eslint/no-explicit-any */

export const readVector = (rel: string): Uint8Array => new Uint8Array(readFileSync(join(VECTORS, rel)));

/** Image bytes as MCUboot sees them (Intel HEX flattened from its lowest address). */
export function imageBytes(im: ManifestImage): Uint8Array {
  return readImageFile(readVector(im.file), im.file).bytes;
}

const keyCache = new Map<string, ImageKey>();
/** A manifest key by name: `public` for verification keys, `private` for signing/decryption. */
export function vectorKey(name: string, which: 'public' | 'private'): ImageKey {
  const id = `${name}/${which}`;
  let k = keyCache.get(id);
  if (!k) {
    const entry = manifest.keys[name];
    k = loadKey(readFileSync(join(VECTORS, which === 'public' ? entry.public_pem : entry.private_pem), 'utf8'), name);
    keyCache.set(id, k);
  }
  return k;
}

const num = (s: string) => Number(s);

/** Translates an imgtool `sign` argv (as recorded in the manifest) into SignOptions. */
export function signOptionsFromImgtool(argv: string[]): { opts: SignOptions; payload: string; hexAddress?: number } {
  const a = argv.slice(1, -2);
  const opts: SignOptions = { version: '0' };
  let hexAddress: number | undefined;
  for (let i = 0; i < a.length; i++) {
    const o = a[i]!;
    const v = () => a[++i]!;
    switch (o) {
      case '-k':
        opts.key = loadKey(readFileSync(join(VECTORS, v()), 'utf8'));
        break;
      case '-v':
        opts.version = v();
        break;
      case '-H':
        opts.headerSize = num(v());
        break;
      case '--pad-header':
        opts.padHeader = true;
        break;
      case '-S':
        opts.slotSize = num(v());
        break;
      case '--pad':
      case '--test':
        opts.pad = true;
        break;
      case '--confirm':
        opts.confirm = true;
        break;
      case '--align':
        opts.align = num(v());
        break;
      case '--max-align':
        opts.maxAlign = num(v());
        break;
      case '--overwrite-only':
        opts.overwriteOnly = true;
        break;
      case '-R':
        opts.erasedValue = num(v()) as 0 | 0xff;
        break;
      case '-s': {
        const s = v();
        opts.securityCounter = s === 'auto' ? 'auto' : num(s);
        break;
      }
      case '-d':
        opts.dependencies = [...v().matchAll(/\((\d+),([^)]+)\)/g)].map((m) => ({ imageId: +m[1]!, version: m[2]! }));
        break;
      case '-L':
        opts.ramLoadAddress = num(v());
        break;
      case '-F':
        opts.romFixedAddress = num(v());
        break;
      case '--non-bootable':
        opts.nonBootable = true;
        break;
      case '--sha':
        opts.hash = `sha${v()}` as SignOptions['hash'];
        break;
      case '--public-key-format':
        opts.publicKeyFormat = v() === 'full' ? 'full' : 'hash';
        break;
      case '--pure':
        opts.pure = true;
        break;
      case '--pad-sig':
        opts.padSig = true;
        break;
      case '--boot-record':
        opts.bootRecord = v();
        break;
      case '--vid':
        opts.vid = v();
        break;
      case '--cid':
        opts.cid = v();
        break;
      case '--custom-tlv': {
        const type = num(v());
        const raw = v();
        const value = /^0x[0-9a-f]+$/i.test(raw) ? fromHex(raw) : new TextEncoder().encode(raw);
        opts.customTlvs = [...(opts.customTlvs ?? []), { type, value }];
        break;
      }
      case '-x':
        hexAddress = num(v());
        break;
      case '-E':
        opts.encryptFor = loadKey(readFileSync(join(VECTORS, v()), 'utf8'));
        break;
      case '--encrypt-keylen':
        opts.encryptKeyBits = num(v()) as 128 | 256;
        break;
      case '--hmac-sha':
        opts.hmacSha = num(v()) as 256 | 512;
        break;
      case '--clear':
        opts.clear = true;
        break;
      case '-e':
        if (v() !== 'little') throw new Error('big-endian output is not produced');
        break;
      default:
        throw new Error(`unsupported imgtool option in vector: ${o}`);
    }
  }
  return { opts, payload: argv[argv.length - 2]!, ...(hexAddress !== undefined ? { hexAddress } : {}) };
}
