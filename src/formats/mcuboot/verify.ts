/**
 * Bootloader-exact image verification, following bootutil's
 * bootutil_img_validate (image_validate.c) rather than `imgtool verify`:
 *  - the TLV layout must be exactly as bootutil_tlv_iter_begin/next expect
 *    (protected it_tlv_tot == ih_protect_tlv_size, no TLV overrunning its area or the file);
 *  - the hash TLV must have the digest's length and equal the hash of
 *    [0, hdr_size + img_size + protect_tlv_size), over the plaintext for encrypted images;
 *  - a signature counts only after a KEYHASH (hash of the key with the image's hash
 *    algorithm) or PUBKEY TLV that matches one of the given keys, and only if it is the
 *    signature type that key produces; any valid one makes the image valid;
 *  - unprotected TLVs outside bootutil's allow list are reported (and rejected with
 *    `tlvAllowList: true`, like MCUboot built with MCUBOOT_USE_TLV_ALLOW_LIST).
 * Never throws for a bad image: the verdict carries a stable `code` and a plain reason.
 */
import { asUnbrickError } from '../../core/errors.ts';
import { bytesEqual, toHex } from '../../core/bytes.ts';
import { digest, HASH_LEN, type HashAlg } from '../../crypto/hash.ts';
import { aesCtr, ENC_SCHEMES, unwrapImageKey } from '../../crypto/image-encryption.ts';
import type { ImageKey, KeyType } from '../../crypto/keys.ts';
import { verifyEcdsa, verifyEd25519, verifyRsaPss } from '../../crypto/signatures.ts';
import { ENC_TLVS, HASH_TLVS, SIGNATURE_TLVS, TLV, UNPROTECTED_ALLOWED } from './constants.ts';
import { decodeImage, versionString, type ImageTlv, type McubootHeader, type McubootImage, type Trailer } from './parse.ts';

export interface VerifyOptions {
  /** Trusted public (or private) keys; none = integrity (hash) check only. */
  keys?: ImageKey[];
  /** Private key to unwrap the AES key of an encrypted image. */
  encKey?: ImageKey;
  /** The AES image key itself, when already known (e.g. right after signing). */
  aesKey?: Uint8Array;
  /** Reject unprotected TLVs outside bootutil's allow list (MCUBOOT_USE_TLV_ALLOW_LIST). */
  tlvAllowList?: boolean;
}

export interface VerifySignature {
  /** Signature scheme, e.g. "ecdsa-p256", "ed25519-pure". */
  type: string;
  tlvType: number;
  /** Which of the given keys verified it (index into opts.keys). */
  keyIndex: number;
  keyType: KeyType;
  keyFingerprint: string;
  keyName?: string;
  /** How the image names its key: by KEYHASH or by the full PUBKEY. */
  keyTlv: 'KEYHASH' | 'PUBKEY';
}

export interface VerifyResult {
  valid: boolean;
  /** Stable code of the first failed check (absent when valid). */
  code?: string;
  reason?: string;
  version: string | null;
  securityCounter: number | null;
  hashAlgorithm: HashAlg | null;
  /** Hash TLV value (hex): what the device reports for this image. */
  hash: string | null;
  /** The hash recomputed over the covered bytes (hex), when it could be computed. */
  computedHash: string | null;
  signature: VerifySignature | null;
  /** Signature TLV types present in the image (e.g. ["ECDSASIG"]). */
  signatureTlvs: string[];
  encryption: { aesBits: 128 | 256; scheme: string; payload: 'decrypted' | 'plaintext' | 'encrypted' } | null;
  tlvAllowListOk: boolean;
  warnings: string[];
  tlvs: { type: number; name: string; length: number; protected: boolean }[];
  header: (McubootHeader & { versionString: string }) | null;
  trailer: Trailer | null;
}

/** Key type -> the signature TLV that key type produces. */
const SIG_TLV_FOR: Record<KeyType, number | undefined> = {
  'ecdsa-p256': TLV.ECDSA_SIG,
  'ecdsa-p384': TLV.ECDSA_SIG,
  ed25519: TLV.ED25519,
  'rsa-2048': TLV.RSA2048_PSS,
  'rsa-3072': TLV.RSA3072_PSS,
  x25519: undefined,
};

/** Hash algorithms a bootloader built for each key type uses (imgtool enforces the same pairs). */
const HASHES_FOR: Record<KeyType, HashAlg[]> = {
  'ecdsa-p256': ['sha256'],
  'ecdsa-p384': ['sha384'],
  ed25519: ['sha256', 'sha512'],
  'rsa-2048': ['sha256'],
  'rsa-3072': ['sha256'],
  x25519: [],
};

/** Hash of the covered region, decrypting the payload first when `aesKey` is given. */
export function hashCoveredRegion(bytes: Uint8Array, img: McubootImage, alg: HashAlg, aesKey?: Uint8Array): Uint8Array {
  const { hdrSize, imgSize } = img.header;
  const end = img.hashedRegion.end;
  if (!aesKey) return digest(alg, bytes.subarray(0, end));
  return digest(alg, bytes.subarray(0, hdrSize), aesCtr(aesKey, bytes.subarray(hdrSize, hdrSize + imgSize)), bytes.subarray(hdrSize + imgSize, end));
}

function baseResult(img: McubootImage | null, header: McubootHeader | null): VerifyResult {
  const tlvs = img?.tlvs ?? [];
  return {
    valid: false,
    version: header ? versionString(header.version) : null,
    securityCounter: img?.securityCounter ?? null,
    hashAlgorithm: img?.hashTlv?.alg ?? null,
    hash: img?.hashTlv ? toHex(img.hashTlv.value) : null,
    computedHash: null,
    signature: null,
    signatureTlvs: tlvs.filter((t) => SIGNATURE_TLVS.has(t.type)).map((t) => t.name),
    encryption: null,
    tlvAllowListOk: true,
    warnings: [],
    tlvs: tlvs.map((t) => ({ type: t.type, name: t.name, length: t.length, protected: t.protected })),
    header: header ? { ...header, versionString: versionString(header.version) } : null,
    trailer: img?.trailer ?? null,
  };
}

const fail = (r: VerifyResult, code: string, reason: string): VerifyResult => ({ ...r, valid: false, code, reason });

export function verifyImage(bytes: Uint8Array, opts: VerifyOptions = {}): VerifyResult {
  try {
    return verifyInner(bytes, opts);
  } catch (e) {
    // Defensive: a typed error from a helper becomes a verdict, never an exception.
    const err = asUnbrickError(e);
    return fail(baseResult(null, null), err.code, err.message);
  }
}

/**
 * The checks in bootutil's order; each step either hands on the verdict so far
 * or ends with a failed one (a verdict with a `code`).
 */
function verifyInner(bytes: Uint8Array, opts: VerifyOptions): VerifyResult {
  const decoded = decodeImage(bytes);
  const img = decoded.image;
  const base = baseResult(img, decoded.header);
  const problem = decoded.problems[0];
  if (problem || !img) return fail(base, problem?.code ?? 'mcuboot.malformed', problem?.message ?? 'The image could not be decoded.');
  const r = checkTlvAreas(base, img, opts);
  if (r.code) return r;
  const hash = findHashTlv(r, img);
  if ('valid' in hash) return hash;
  const payload = hashPayload(r, bytes, img, hash, opts);
  if ('valid' in payload) return payload;
  const hashed = checkHash(payload.r, img, hash, payload);
  if (hashed.code) return hashed;
  const keys = opts.keys ?? [];
  if (keys.length === 0) return { ...hashed, valid: true };
  return checkSignature(hashed, bytes, img, hash.alg, payload, keys);
}

/** The hash TLV bootutil checks the image against, and its algorithm. */
interface HashTlv {
  tlv: ImageTlv;
  alg: HashAlg;
}

/** The hash of the covered region as bootutil computes it: over the plaintext, with the AES key that gave it. */
interface PayloadHash {
  r: VerifyResult;
  computed: Uint8Array;
  aesKey?: Uint8Array;
}

/** Warnings (and, with opts.tlvAllowList, the verdict) on TLVs bootutil would skip or reject. */
function checkTlvAreas(r: VerifyResult, img: McubootImage, opts: VerifyOptions): VerifyResult {
  // Unprotected-TLV allow list (image_validate.c, MCUBOOT_USE_TLV_ALLOW_LIST).
  const disallowed = img.tlvArea.tlvs.filter((t) => !UNPROTECTED_ALLOWED.has(t.type));
  if (disallowed.length) {
    const names = disallowed.map((t) => `0x${t.type.toString(16)} (${t.name})`).join(', ');
    const msg = `Unprotected TLV ${names} is outside MCUboot's allow list: a bootloader built with MCUBOOT_USE_TLV_ALLOW_LIST (Zephyr's default) rejects this image. Such TLVs belong in the protected area.`;
    r = { ...r, tlvAllowListOk: false, warnings: [...r.warnings, msg] };
    if (opts.tlvAllowList) return fail(r, 'mcuboot.tlv-not-allowed', msg);
  }
  if (img.compressed)
    r = {
      ...r,
      warnings: [
        ...r.warnings,
        `The image is compressed (${img.compressed}); the hash and signature of the compressed form are checked, the DECOMP_SHA/DECOMP_SIGNATURE of the decompressed form are not.`,
      ],
    };
  return r;
}

/** The hash TLV: bootutil requires exactly one configured type with the digest's exact length. */
function findHashTlv(r: VerifyResult, img: McubootImage): HashTlv | VerifyResult {
  const tlv = img.tlvs.find((t) => HASH_TLVS[t.type] !== undefined);
  if (!tlv) return fail(r, 'mcuboot.no-hash', 'The image has no SHA256/SHA384/SHA512 TLV, so MCUboot cannot check its integrity.');
  const alg = HASH_TLVS[tlv.type]!;
  if (tlv.length !== HASH_LEN[alg]) return fail(r, 'mcuboot.bad-hash-length', `The ${tlv.name} TLV is ${tlv.length} bytes instead of ${HASH_LEN[alg]}: the TLV area is corrupted.`);
  return { tlv, alg };
}

/** Hashes the covered region; an encrypted payload is hashed as plaintext, so it is decrypted first when a key allows. */
function hashPayload(r: VerifyResult, bytes: Uint8Array, img: McubootImage, { tlv: hashTlv, alg }: HashTlv, opts: VerifyOptions): PayloadHash | VerifyResult {
  const computed = hashCoveredRegion(bytes, img, alg);
  if (!img.encrypted) return { r, computed };
  const encTlv = img.tlvArea.tlvs.find((t) => ENC_TLVS.has(t.type));
  const scheme = encTlv ? (ENC_SCHEMES[encTlv.type] ?? 'unknown') : 'no key TLV';
  const aesBits = img.encrypted.aesBits;
  const decrypted = (aesKey: Uint8Array): PayloadHash => ({
    r: { ...r, encryption: { aesBits, scheme, payload: 'decrypted' } },
    computed: hashCoveredRegion(bytes, img, alg, aesKey),
    aesKey,
  });
  if (bytesEqual(computed, hashTlv.value))
    // imgtool --clear: flag and key TLV present, payload still in plaintext (valid in the primary slot).
    return {
      r: {
        ...r,
        encryption: { aesBits, scheme, payload: 'plaintext' },
        warnings: [...r.warnings, 'The encrypted flag is set but the payload is stored in plaintext (imgtool --clear).'],
      },
      computed,
    };
  if (opts.aesKey) return decrypted(opts.aesKey);
  r = { ...r, encryption: { aesBits, scheme, payload: 'encrypted' } };
  if (!opts.encKey)
    return fail(
      r,
      'mcuboot.encrypted-no-key',
      `The payload is encrypted (AES-${aesBits}-CTR, key wrapped with ${scheme}) and MCUboot hashes the plaintext, so the hash cannot be checked without the decryption key: pass --enc-key with the device's private encryption key.`,
    );
  if (!encTlv) return fail(r, 'mcuboot.enc-no-key-tlv', 'The image is flagged encrypted but carries no encryption key TLV (ENC_*): MCUboot cannot decrypt it.');
  try {
    return decrypted(unwrapImageKey(encTlv.type, encTlv.value, opts.encKey, aesBits / 8));
  } catch (e) {
    const err = asUnbrickError(e);
    return fail(r, err.code, err.message);
  }
}

/** Compares the computed hash with every TLV of the hash type (bootutil checks them all, not just the first). */
function checkHash(r: VerifyResult, img: McubootImage, { tlv: hashTlv, alg }: HashTlv, { computed, aesKey }: PayloadHash): VerifyResult {
  r = { ...r, computedHash: toHex(computed) };
  const hashCopies = img.tlvs.filter((t) => t.type === hashTlv.type);
  if (hashCopies.some((t) => t.length !== HASH_LEN[alg])) return fail(r, 'mcuboot.bad-hash-length', `A second ${hashTlv.name} TLV has the wrong length: the TLV area is corrupted.`);
  if (!hashCopies.every((t) => bytesEqual(computed, t.value)))
    return fail(
      r,
      'mcuboot.hash-mismatch',
      `The image hash does not match its ${hashTlv.name} TLV: the header, payload or protected TLVs were changed after signing${aesKey ? ', or the decrypted payload is wrong' : ''}. Do not flash it.`,
    );
  return r;
}

/** Walks the TLVs in order like bootutil: a key TLV selects the key for the signature after it; any valid signature makes the image valid. */
function checkSignature(r: VerifyResult, bytes: Uint8Array, img: McubootImage, alg: HashAlg, { computed, aesKey }: PayloadHash, keys: ImageKey[]): VerifyResult {
  let current = -1;
  let currentVia: 'KEYHASH' | 'PUBKEY' = 'KEYHASH';
  let keyMatched = false;
  let sigTried = false;
  let hashUnfit: KeyType | undefined;
  const keyHashes = keys.map((k) => digest(alg, k.publicDer));
  let region: Uint8Array | undefined; // the covered region (plaintext)
  for (const t of img.tlvs) {
    if (t.type === TLV.KEYHASH) {
      // bootutil_find_key: longer than the digest aborts validation; otherwise it compares only
      // `len` bytes and takes the first key whose hash starts with them.
      if (t.length > HASH_LEN[alg])
        return fail(r, 'mcuboot.bad-keyhash-length', `The KEYHASH TLV is ${t.length} bytes, longer than the ${alg} digest: MCUboot rejects the image.`);
      current = keyHashes.findIndex((h) => bytesEqual(h.subarray(0, t.length), t.value));
      if (current >= 0 && t.length < HASH_LEN[alg])
        r = { ...r, warnings: [...r.warnings, `The KEYHASH TLV holds only ${t.length} of ${HASH_LEN[alg]} bytes; MCUboot matches keys on that prefix alone.`] };
      currentVia = 'KEYHASH';
      keyMatched ||= current >= 0;
    } else if (t.type === TLV.PUBKEY) {
      current = keys.findIndex((k) => bytesEqual(k.publicDer, t.value));
      currentVia = 'PUBKEY';
      keyMatched ||= current >= 0;
    } else if (SIGNATURE_TLVS.has(t.type)) {
      if (current < 0) continue;
      const key = keys[current]!;
      // A bootloader verifies only the signature type its key produces; others are skipped.
      if (SIG_TLV_FOR[key.type] !== t.type) continue;
      // ...and is built for one hash per key type (image_validate.c EXPECTED_HASH_TLV).
      if (!HASHES_FOR[key.type].includes(alg)) {
        hashUnfit = key.type;
        continue;
      }
      sigTried = true;
      // image_validate.c: a wrong length for the expected signature type aborts validation.
      const lenOk = key.type === 'ed25519' ? t.length === 64 : key.rsaBits ? t.length === key.rsaBits / 8 : t.length <= 128;
      if (!lenOk)
        return fail(r, 'mcuboot.bad-signature-length', `The ${t.name} signature TLV is ${t.length} bytes, not a length MCUboot accepts for a ${key.type} key.`);
      region ??= aesKey ? concatRegion(bytes, img, aesKey) : bytes.subarray(0, img.hashedRegion.end);
      const type = signatureCheck(key, img, t.value, region, computed, alg);
      if (type)
        return {
          ...r,
          valid: true,
          signature: {
            type,
            tlvType: t.type,
            keyIndex: current,
            keyType: key.type,
            keyFingerprint: key.fingerprint,
            ...(key.name ? { keyName: key.name } : {}),
            keyTlv: currentVia,
          },
        };
      current = -1;
    }
  }
  return unverifiedVerdict(r, alg, { keyMatched, sigTried, hashUnfit });
}

/**
 * One signature with its key; the scheme name when it verifies. ECDSA, RSA-PSS and pure
 * Ed25519 sign the covered region (OpenSSL hashes it again, equal to `computed` as
 * checked before); default Ed25519 signs the digest bytes themselves.
 */
function signatureCheck(key: ImageKey, img: McubootImage, sig: Uint8Array, region: Uint8Array, computed: Uint8Array, alg: HashAlg): string | undefined {
  if (key.type === 'ed25519' && img.sigPure) return verifyEd25519(key, region, sig) ? 'ed25519-pure' : undefined;
  if (key.type === 'ed25519') return verifyEd25519(key, computed, sig) ? key.type : undefined;
  if (key.type === 'rsa-2048' || key.type === 'rsa-3072') return verifyRsaPss(key, region, sig) ? key.type : undefined;
  return verifyEcdsa(key, region, sig, alg) ? key.type : undefined;
}

/** Why no signature made the image valid, in the order a technician can act on. */
function unverifiedVerdict(r: VerifyResult, alg: HashAlg, walk: { keyMatched: boolean; sigTried: boolean; hashUnfit: KeyType | undefined }): VerifyResult {
  if (r.signatureTlvs.length === 0 && !walk.keyMatched)
    return fail(r, 'mcuboot.unsigned', 'The image is not signed (it has only a hash), but a signing key was given: MCUboot with signature checking rejects it.');
  if (!walk.keyMatched)
    return fail(
      r,
      'mcuboot.key-not-found',
      'No KEYHASH/PUBKEY TLV in the image matches the given key(s): it was signed with a different key, so MCUboot would not find its key and rejects the image.',
    );
  if (!walk.sigTried && walk.hashUnfit)
    return fail(
      r,
      'mcuboot.hash-alg-for-key',
      `The image is hashed with ${alg}, which MCUboot never pairs with a ${walk.hashUnfit} key (P-256/RSA use SHA-256, P-384 SHA-384, Ed25519 SHA-256 or SHA-512): re-sign it with the right hash.`,
    );
  if (!walk.sigTried) return fail(r, 'mcuboot.no-signature', 'The image names the given key but has no signature of that key type after it: MCUboot rejects it.');
  return fail(r, 'mcuboot.bad-signature', 'The signature does not verify with the matching key: the signature or the signed data was altered.');
}

function concatRegion(bytes: Uint8Array, img: McubootImage, aesKey: Uint8Array): Uint8Array {
  const { hdrSize, imgSize } = img.header;
  const out = bytes.slice(0, img.hashedRegion.end);
  out.set(aesCtr(aesKey, bytes.subarray(hdrSize, hdrSize + imgSize)), hdrSize);
  return out;
}
