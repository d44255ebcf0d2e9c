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

/** imgtool flags that turn a SignOptions field on. */
const SWITCHES: Record<string, keyof SignOptions> = {
  '--pad-header': 'padHeader',
  '--pad': 'pad',
  '--test': 'pad',
  '--confirm': 'confirm',
  '--overwrite-only': 'overwriteOnly',
  '--non-bootable': 'nonBootable',
  '--pure': 'pure',
  '--pad-sig': 'padSig',
  '--clear': 'clear',
};
/** imgtool flags whose argument is a number (-R: the erased value, 0 or 0xff; key and HMAC sizes in bits). */
const NUMBERS: Record<string, keyof SignOptions> = {
  '-H': 'headerSize',
  '-S': 'slotSize',
  '--align': 'align',
  '--max-align': 'maxAlign',
  '-R': 'erasedValue',
  '-L': 'ramLoadAddress',
  '-F': 'romFixedAddress',
  '--encrypt-keylen': 'encryptKeyBits',
  '--hmac-sha': 'hmacSha',
};
/** imgtool flags whose argument is taken as written. */
const STRINGS: Record<string, keyof SignOptions> = { '-v': 'version', '--boot-record': 'bootRecord', '--vid': 'vid', '--cid': 'cid' };

/** Translates an imgtool `sign` argv (as recorded in the manifest) into SignOptions. */
export function signOptionsFromImgtool(argv: string[]): { opts: SignOptions; payload: string; hexAddress?: number } {
  const a = argv.slice(1, -2);
  const opts: SignOptions = { version: '0' };
  const set = opts as Record<keyof SignOptions, unknown>;
  let hexAddress: number | undefined;
  for (let i = 0; i < a.length; i++) {
    const o = a[i]!;
    const v = () => a[++i]!;
    if (SWITCHES[o]) set[SWITCHES[o]] = true;
    else if (NUMBERS[o]) set[NUMBERS[o]] = num(v());
    else if (STRINGS[o]) set[STRINGS[o]] = v();
    else
      switch (o) {
        case '-k':
          opts.key = loadKey(readFileSync(join(VECTORS, v()), 'utf8'));
          break;
        case '-E':
          opts.encryptFor = loadKey(readFileSync(join(VECTORS, v()), 'utf8'));
          break;
        case '-s': {
          const s = v();
          opts.securityCounter = s === 'auto' ? 'auto' : num(s);
          break;
        }
        case '-d':
          opts.dependencies = [...v().matchAll(/\((\d+),([^)]+)\)/g)].map((m) => ({ imageId: +m[1]!, version: m[2]! }));
          break;
        case '--sha':
          opts.hash = `sha${v()}` as SignOptions['hash'];
          break;
        case '--public-key-format':
          opts.publicKeyFormat = v() === 'full' ? 'full' : 'hash';
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
        case '-e':
          if (v() !== 'little') throw new Error('big-endian output is not produced');
          break;
        default:
          throw new Error(`unsupported imgtool option in vector: ${o}`);
      }
  }
  return { opts, payload: argv[argv.length - 2]!, ...(hexAddress !== undefined ? { hexAddress } : {}) };
}
