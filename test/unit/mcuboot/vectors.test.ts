/**
 * The shared MCUboot vectors (made by MCUboot's own imgtool): every image gives its
 * manifest's bootloader-exact verdict for every key, tampered images fail for the
 * specific reason, and the decode equals the manifest's independent decode.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toHex } from '../../../src/core/bytes.ts';
import { UnbrickError } from '../../../src/core/errors.ts';
import { generateKey } from '../../../src/crypto/keys.ts';
import { decodeImage, imageHashHex, parseImage, verifyImage } from '../../../src/formats/mcuboot/index.ts';
import type { DecodedImage, TlvArea } from '../../../src/formats/mcuboot/index.ts';
import { imageBytes, manifest, vectorKey, type ManifestImage } from './vectors.ts';

const NO_KEY = '<no key>';
const encKeyFor = (im: ManifestImage) => (im.encrypted_for ? vectorKey(im.encrypted_for, 'private') : undefined);

test('the manifest lists every image with a verdict for every signing key', () => {
  assert.equal(manifest.images.length, 60);
  for (const im of manifest.images) assert.ok(Object.keys(im.expected_valid).length >= 8, im.id);
});

for (const im of manifest.images) {
  test(`verdict matches expected_valid for every key: ${im.id}`, () => {
    const bytes = imageBytes(im);
    for (const [keyName, expected] of Object.entries(im.expected_valid as Record<string, boolean>)) {
      const keys = keyName === NO_KEY ? [] : [vectorKey(keyName, 'public')];
      const r = verifyImage(bytes, { keys, encKey: encKeyFor(im) });
      assert.equal(r.valid, expected, `${im.id} with ${keyName}: got ${r.code}: ${r.reason}`);
      if (!r.valid) assert.match(r.code ?? '', /^mcuboot\./, 'invalid verdicts carry a stable code');
      if (r.valid && keyName !== NO_KEY) {
        assert.equal(r.signature?.keyIndex, 0);
        assert.equal(r.signature?.keyFingerprint, manifest.keys[keyName].public_raw_sha256, 'reports which key signed');
      }
    }
  });
}

test('with all keys at once, the report names the key that signed', () => {
  const all = Object.keys(manifest.keys)
    .filter((k) => manifest.keys[k].purpose === 'sign')
    .map((k) => vectorKey(k, 'public'));
  for (const im of manifest.images.filter((x: ManifestImage) => x.kind === 'valid' && x.signed_with)) {
    const r = verifyImage(imageBytes(im), { keys: all, encKey: encKeyFor(im) });
    assert.equal(r.valid, true, im.id);
    assert.equal(r.signature?.keyName, im.signed_with, im.id);
  }
});

// Each tampered case fails for its own reason (the tamper description in the manifest says which).
const TAMPER_CODES: Record<string, string | null> = {
  'T-payload-flip_ecdsa-p256': 'mcuboot.hash-mismatch',
  'T-sig-flip_ed25519': 'mcuboot.bad-signature',
  'T-sig-flip_ecdsa-p256': 'mcuboot.bad-signature',
  'T-sig-flip_rsa-2048': 'mcuboot.bad-signature',
  'T-hdr-version_rsa-2048': 'mcuboot.hash-mismatch',
  'T-hdr-imgsize_ecdsa-p256': 'mcuboot.bad-tlv-info-magic',
  'T-trunc-tlv_ecdsa-p384': 'mcuboot.tlv-overrun',
  'T-trunc-payload_ed25519': 'mcuboot.truncated',
  'T-hash-len_ed25519-sha512': 'mcuboot.tlv-overrun',
  'T-hash-value_ecdsa-p384': 'mcuboot.hash-mismatch',
  'T-tlvtot_rsa-3072': 'mcuboot.no-signature',
  'T-seccnt_ecdsa-p256': 'mcuboot.hash-mismatch',
  'T-keyhash-flip_ecdsa-p256': 'mcuboot.key-not-found',
  'T-bad-magic_ed25519': 'mcuboot.bad-magic',
  'T-trailer-mod_ecdsa-p384': null,
  'T-extra-unprot-tlv_ed25519': null,
  'T-payload-flip_ed25519-pure': 'mcuboot.hash-mismatch',
};

test('every tampered image is rejected with its specific reason (signer key)', () => {
  const tampered = manifest.images.filter((x: ManifestImage) => x.kind === 'tampered');
  assert.deepEqual(tampered.map((x: ManifestImage) => x.id).sort(), Object.keys(TAMPER_CODES).sort());
  for (const im of tampered) {
    const r = verifyImage(imageBytes(im), { keys: [vectorKey(im.signed_with, 'public')] });
    const want = TAMPER_CODES[im.id];
    assert.equal(r.code ?? null, want, `${im.id}: ${r.reason}`);
    if (want) assert.ok((r.reason ?? '').length > 20, 'a plain-words reason');
  }
});

test('big-endian image is recognised and rejected as such', () => {
  const im = manifest.images.find((x: ManifestImage) => x.id === 'ecdsa-p256_big-endian');
  const r = verifyImage(imageBytes(im), { keys: [vectorKey('ecdsa-p256-a', 'public')] });
  assert.equal(r.code, 'mcuboot.big-endian');
  assert.equal(r.header?.endianness, 'big');
});

test('trailer change outside the signature: still valid, no longer confirmed', () => {
  const orig = imageBytes(manifest.images.find((x: ManifestImage) => x.id === 'ecdsa-p384_seccnt_pad_confirm'));
  const mod = imageBytes(manifest.images.find((x: ManifestImage) => x.id === 'T-trailer-mod_ecdsa-p384'));
  const key = [vectorKey('ecdsa-p384', 'public')];
  assert.equal(verifyImage(orig, { keys: key }).trailer?.confirmed, true);
  const r = verifyImage(mod, { keys: key });
  assert.equal(r.valid, true);
  assert.equal(r.trailer?.confirmed, false);
});

test('unprotected vendor TLV: valid by default with a warning, rejected under the TLV allow list', () => {
  const im = manifest.images.find((x: ManifestImage) => x.id === 'T-extra-unprot-tlv_ed25519');
  const key = [vectorKey('ed25519-a', 'public')];
  const lax = verifyImage(imageBytes(im), { keys: key });
  assert.equal(lax.valid, true);
  assert.equal(lax.tlvAllowListOk, im.reference_check['ed25519-a'].tlv_allow_list_ok);
  assert.match(lax.warnings.join(' '), /allow list/);
  const strict = verifyImage(imageBytes(im), { keys: key, tlvAllowList: true });
  assert.equal(strict.valid, false);
  assert.equal(strict.code, 'mcuboot.tlv-not-allowed');
  for (const other of manifest.images.filter((x: ManifestImage) => x.kind === 'valid'))
    assert.equal(verifyImage(imageBytes(other), { encKey: encKeyFor(other) }).tlvAllowListOk, other.reference_check[NO_KEY].tlv_allow_list_ok, other.id);
});

test('encrypted images: without --enc-key the hash cannot be checked and the verdict says why', () => {
  const enc = manifest.images.filter((x: ManifestImage) => x.encrypted_for && !x.id.endsWith('_clear'));
  assert.equal(enc.length, 4);
  for (const im of enc) {
    const r = verifyImage(imageBytes(im), { keys: [vectorKey(im.signed_with, 'public')] });
    assert.equal(r.valid, false);
    assert.equal(r.code, 'mcuboot.encrypted-no-key', im.id);
    assert.match(r.reason ?? '', /--enc-key/);
    assert.equal(r.encryption?.aesBits, im.encryption.aes_key_bits);
    const ok = verifyImage(imageBytes(im), { keys: [vectorKey(im.signed_with, 'public')], encKey: encKeyFor(im) });
    assert.equal(ok.encryption?.payload, 'decrypted');
    assert.equal(ok.computedHash, ok.hash);
  }
  // A decryption key of the wrong kind or the wrong key of the right kind is named as such.
  const ec = enc.find((x: ManifestImage) => x.encrypted_for === 'enc-ec256');
  assert.equal(verifyImage(imageBytes(ec), { encKey: vectorKey('enc-x25519', 'private') }).code, 'mcuboot.enc-key-type');
  assert.equal(verifyImage(imageBytes(ec), { encKey: vectorKey('enc-ec256', 'public') }).code, 'mcuboot.enc-key-not-private');
  const xim = enc.find((x: ManifestImage) => x.encrypted_for === 'enc-x25519');
  // The right key type and public half, but another private key (as a wrong secret would be).
  const wrong = { ...vectorKey('enc-x25519', 'private'), privateKey: generateKey('x25519').privateKey };
  assert.equal(verifyImage(imageBytes(xim), { encKey: wrong }).code, 'mcuboot.enc-key-mismatch');
  const clear = manifest.images.find((x: ManifestImage) => x.id === 'ecdsa-p256_enc-ec256_clear');
  assert.equal(verifyImage(imageBytes(clear), {}).encryption?.payload, 'plaintext');
});

// ---------- decode equals the manifest's decode ----------

function areaShape(a: TlvArea | null) {
  if (!a) return null;
  return {
    offset: a.offset,
    magic: a.magic,
    tlv_tot: a.totalSize,
    tlvs: a.tlvs.map((t) => ({
      type: t.type,
      type_name: t.name,
      len: t.length,
      offset: t.offset,
      value_offset: t.valueOffset,
      value_hex: toHex(t.value),
      ...(t.overruns ? { overruns: true } : {}),
    })),
  };
}

function expectedArea(a: ManifestImage) {
  if (!a) return null;
  return {
    offset: a.offset,
    magic: a.magic,
    tlv_tot: a.tlv_tot,
    tlvs: a.tlvs.map((t: ManifestImage) => ({
      type: t.type,
      type_name: t.type_name,
      len: t.len,
      offset: t.offset,
      value_offset: t.value_offset,
      value_hex: t.value_hex,
      ...(t.overruns_area || t.value_truncated ? { overruns: true } : {}),
    })),
  };
}

/** Manifest value_hex is cut for overrunning TLVs; compare our value up to that length. */
function trimLikeManifest(ours: ReturnType<typeof areaShape>, theirs: ReturnType<typeof expectedArea>) {
  if (!ours || !theirs) return ours;
  ours.tlvs.forEach((t, i) => {
    const e = theirs.tlvs[i];
    if (e && t.overruns) t.value_hex = t.value_hex.slice(0, e.value_hex.length);
  });
  return ours;
}

for (const im of manifest.images) {
  test(`decode equals the manifest: ${im.id}`, () => {
    const bytes = imageBytes(im);
    const d: DecodedImage = decodeImage(bytes);
    const e = im.decoded;
    assert.equal(bytes.length, e.file_size);
    const h = d.header!;
    assert.deepEqual(
      {
        magic: h.magic,
        load_addr: h.loadAddr,
        hdr_size: h.hdrSize,
        protect_tlv_size: h.protectTlvSize,
        img_size: h.imgSize,
        flags: h.flags,
        flag_names: h.flagNames,
        version: h.version,
        pad1: h.pad1,
        endian: h.endianness,
      },
      {
        magic: e.header.magic,
        load_addr: e.header.load_addr,
        hdr_size: e.header.hdr_size,
        protect_tlv_size: e.header.protect_tlv_size,
        img_size: e.header.img_size,
        flags: e.header.flags,
        flag_names: e.header.flag_names,
        version: e.header.version,
        pad1: e.header.pad1,
        endian: e.endian,
      },
    );
    if (!e.header.magic_ok) {
      assert.equal(d.problems[0]?.code, 'mcuboot.bad-magic');
      assert.throws(() => parseImage(bytes), (err: unknown) => err instanceof UnbrickError && err.code === 'mcuboot.bad-magic' && err.kind === 'input');
      return;
    }
    if (e.tlv_area === null) {
      assert.equal(d.tlvArea, null);
      assert.equal(d.problems[0]?.code, 'mcuboot.truncated');
    } else {
      const want = expectedArea(e.tlv_area);
      assert.deepEqual(trimLikeManifest(areaShape(d.tlvArea), want), want);
    }
    const wantProt = expectedArea(e.protected_tlv_area);
    assert.deepEqual(trimLikeManifest(areaShape(d.protectedTlvArea), wantProt), wantProt);
    assert.deepEqual(
      { protected: (d.protectedTlvArea?.tlvs ?? []).map((t) => [t.type, t.length]), unprotected: (d.tlvArea?.tlvs ?? []).map((t) => [t.type, t.length]) },
      e.tlv_list,
    );
    // Anything the manifest flags as an error is a structural problem here, and parseImage throws it typed.
    const broken = (e.errors?.length ?? 0) > 0 || e.tlv_area?.tlvs.some((t: ManifestImage) => t.overruns_area || t.value_truncated);
    if (broken) {
      assert.ok(d.problems.length > 0);
      assert.throws(() => parseImage(bytes), (err: unknown) => err instanceof UnbrickError && err.code.startsWith('mcuboot.'));
    }
    const img = d.image;
    if (!img) {
      assert.ok(broken);
      return;
    }
    assert.deepEqual(img.hashedRegion, { start: e.hashed_region.start, end: e.hashed_region.end });
    // Trailer.
    const t = e.trailer;
    if (!t.padded) assert.equal(img.trailer, null);
    else {
      const kind = { standard: 'standard (max_align 8)', 'max-align': `max_align-encoded (${img.trailer?.maxAlign})`, none: 'none/invalid' }[img.trailer!.magicKind];
      assert.deepEqual(
        {
          bytes_after_tlvs: img.trailer!.bytesAfterTlvs,
          magic_hex: img.trailer!.magicHex,
          magic_kind: kind,
          image_ok: img.trailer!.imageOk,
          image_ok_offset_from_end: img.trailer!.imageOkOffsetFromEnd,
          copy_done: img.trailer!.copyDone,
          swap_info: img.trailer!.swapInfo,
          swap_size: img.trailer!.swapSize,
          max_align: img.trailer!.maxAlign,
          confirmed: img.trailer!.confirmed,
        },
        {
          bytes_after_tlvs: t.bytes_after_tlvs,
          magic_hex: t.magic_hex,
          magic_kind: t.magic_kind,
          image_ok: t.image_ok,
          image_ok_offset_from_end: t.image_ok_offset_from_end,
          copy_done: t.copy_done,
          swap_info: t.swap_info,
          swap_size: t.swap_size,
          max_align: t.max_align,
          confirmed: t.confirmed,
        },
      );
    }
    // Meaning of the TLVs.
    const s = e.semantic;
    assert.equal(img.securityCounter, s.security_counter);
    if (s.image_hash) {
      assert.equal(img.hashTlv?.alg, s.image_hash.alg);
      assert.equal(toHex(img.hashTlv!.value), s.image_hash.value_hex);
      if (!broken) assert.equal(imageHashHex(bytes), s.image_hash.value_hex);
    }
    assert.deepEqual(
      img.dependencies,
      (s.dependencies ?? []).map((x: ManifestImage) => ({ imageId: x.image_id, version: x.version })),
    );
    assert.deepEqual(img.bootRecord, s.boot_record ?? null);
    assert.equal(img.uuidVid, s.uuid_vid ?? null);
    assert.equal(img.uuidCid, s.uuid_cid ?? null);
    assert.equal(img.decompressedSize, s.decomp_size ?? null);
    assert.equal(img.sigPure, s.sig_pure ?? false);
    assert.equal(img.encrypted?.aesBits ?? null, im.encryption?.aes_key_bits ?? null);
  });
}

test('Intel HEX vector keeps its load address', async () => {
  const { readImageFile } = await import('../../../src/formats/mcuboot/input.ts');
  const { readVector } = await import('./vectors.ts');
  const im = manifest.images.find((x: ManifestImage) => x.file.endsWith('.hex'));
  const input = readImageFile(readVector(im.file), im.file);
  assert.equal(input.format, 'hex');
  assert.equal(input.address, im.hex_min_addr);
  const { digest } = await import('../../../src/crypto/hash.ts');
  assert.equal(toHex(digest('sha256', input.bytes)), im.binary_from_hex_sha256);
});
