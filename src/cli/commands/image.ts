/**
 * `unbrick image info|verify|sign`: MCUboot images as the bootloader sees them.
 * Option names follow imgtool's long options so existing build scripts translate directly.
 */
import { existsSync } from 'node:fs';
import { writeFileAtomic } from '../../core/atomic-file.ts';
import { formatBytes, fromHex, toHex } from '../../core/bytes.ts';
import { inputError, usageError } from '../../core/errors.ts';
import { randomAesKey } from '../../crypto/image-encryption.ts';
import { loadKey, publicOnly, type ImageKey } from '../../crypto/keys.ts';
import { writeIntelHex } from '../../formats/ihex.ts';
import {
  decodeImage,
  readImageFile,
  signImage,
  verifyImage,
  versionString,
  type DecodedImage,
  type SignOptions,
  type VerifyResult,
} from '../../formats/mcuboot/index.ts';
import { KEY_PASSPHRASE_OPTIONS, keyPassphrase } from '../key-passphrase.ts';
import { formatAddress, formatVersion } from '../../api/format.ts';
import { intOpt, readUserFile, requirePositional, requireString, stringList, stringOpt, type CommandContext, type CommandGroup } from '../framework.ts';

export function readKeyFile(path: string, passphrase?: string): ImageKey {
  return loadKey(readUserFile(path, 'Key file'), path, { passphrase });
}

const hex32 = (n: number) => (n > 0xffff_ffff ? `0x${n.toString(16)}` : formatAddress(n));

function headerLines(d: DecodedImage): string[] {
  const h = d.header;
  if (!h) return [];
  return [
    `  magic           ${hex32(h.magic)}${h.endianness === 'big' ? ' (big-endian)' : ''}`,
    `  version         ${formatVersion(h.version)}`,
    `  load address    ${hex32(h.loadAddr)}`,
    `  header size     0x${h.hdrSize.toString(16)} (${h.hdrSize} bytes)`,
    `  image size      ${h.imgSize} bytes (${formatBytes(h.imgSize)})`,
    `  protected TLVs  ${h.protectTlvSize} bytes`,
    `  flags           ${hex32(h.flags)}${h.flagNames.length ? ` ${h.flagNames.join(' ')}` : ''}`,
  ];
}

function tlvLines(d: DecodedImage): string[] {
  const out: string[] = [];
  for (const area of [d.protectedTlvArea, d.tlvArea]) {
    if (!area) continue;
    out.push(`  ${area === d.protectedTlvArea ? 'protected' : 'unprotected'} TLV area at 0x${area.offset.toString(16)}, ${area.totalSize} bytes`);
    for (const t of area.tlvs) {
      const v = toHex(t.value);
      out.push(`    0x${t.type.toString(16).padStart(2, '0')} ${t.name.padEnd(16)} ${String(t.length).padStart(5)}  ${v.length > 64 ? `${v.slice(0, 64)}…` : v}${t.overruns ? '  (overruns!)' : ''}`);
    }
  }
  return out;
}

function infoData(file: string, d: DecodedImage, address?: number) {
  const img = d.image;
  return {
    file,
    ...(address !== undefined ? { hexAddress: address } : {}),
    header: d.header ? { ...d.header, versionString: versionString(d.header.version) } : null,
    protectedTlvArea: d.protectedTlvArea,
    tlvArea: d.tlvArea,
    hashedRegion: img?.hashedRegion ?? null,
    hashAlgorithm: img?.hashTlv?.alg ?? null,
    hash: img?.hashTlv ? toHex(img.hashTlv.value) : null,
    securityCounter: img?.securityCounter ?? null,
    dependencies: img?.dependencies.map((x) => ({ imageId: x.imageId, version: versionString(x.version) })) ?? [],
    bootRecord: img?.bootRecord ?? null,
    uuidVid: img?.uuidVid ?? null,
    uuidCid: img?.uuidCid ?? null,
    encrypted: img?.encrypted ?? null,
    compressed: img?.compressed ?? null,
    decompressedSize: img?.decompressedSize ?? null,
    sigPure: img?.sigPure ?? false,
    trailer: img?.trailer ?? null,
    problems: d.problems,
  };
}

function verdictLines(file: string, r: VerifyResult): string[] {
  // Without a key only the hash is checked: anyone can make an image that passes that, so it is not called VALID.
  const verdict = !r.valid ? 'INVALID' : r.signature ? 'VALID' : 'INTEGRITY ONLY';
  const lines = [`${verdict}: ${file}`];
  if (!r.valid) lines.push(`  reason: ${r.reason} [${r.code}]`);
  if (r.version) lines.push(`  version ${formatVersion(r.version)}${r.securityCounter !== null ? `, security counter ${r.securityCounter}` : ''}`);
  if (r.hash) lines.push(`  ${r.hashAlgorithm} ${r.hash}`);
  if (r.signature) lines.push(`  signed by key #${r.signature.keyIndex + 1} (${r.signature.keyName ?? r.signature.keyType}), ${r.signature.type}, via ${r.signature.keyTlv}, sha256:${r.signature.keyFingerprint.slice(0, 16)}…`);
  else if (r.valid) lines.push('  the hash matches; the signature was not checked (no --key given): this does not show who made the image');
  if (r.encryption) lines.push(`  encrypted AES-${r.encryption.aesBits}, ${r.encryption.scheme}, payload ${r.encryption.payload}`);
  if (r.trailer?.magicKind && r.trailer.magicKind !== 'none') lines.push(`  trailer: ${r.trailer.confirmed ? 'confirmed' : 'not confirmed'} (max align ${r.trailer.maxAlign})`);
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  return lines;
}

const infoCommand = {
  name: 'info',
  summary: 'show an MCUboot image: header, TLVs, trailer',
  args: 'FILE',
  description: 'Decodes a signed MCUboot image (.bin, or Intel HEX .hex) as the bootloader reads it. Damaged images are shown as far as they can be read, with the problems found.',
  options: {},
  async run(ctx: CommandContext) {
    const file = requirePositional(ctx, 0, 'FILE');
    const input = readImageFile(readUserFile(file, 'Image file'), file);
    const d = decodeImage(input.bytes);
    if (!d.header || d.problems[0]?.code === 'mcuboot.bad-magic' || d.problems[0]?.code === 'mcuboot.truncated-header') {
      const p = d.problems[0]!;
      throw inputError(p.code, p.message);
    }
    const data = infoData(file, d, input.address);
    const human = [
      `${file}: MCUboot image${input.address !== undefined ? ` (Intel HEX at ${hex32(input.address)})` : ''}`,
      ...headerLines(d),
      ...tlvLines(d),
      ...(data.hash ? [`  image hash      ${data.hashAlgorithm} ${data.hash}`] : []),
      ...(data.securityCounter !== null ? [`  security ctr    ${data.securityCounter}`] : []),
      ...data.dependencies.map((x) => `  depends on      image ${x.imageId} ≥ ${formatVersion(x.version)}`),
      ...(data.trailer
        ? [`  trailer         ${data.trailer.magicKind} magic${data.trailer.maxAlign ? `, max align ${data.trailer.maxAlign}, image_ok 0x${(data.trailer.imageOk ?? 0).toString(16)} (${data.trailer.confirmed ? 'confirmed' : 'not confirmed'})` : ''}`]
        : []),
      ...d.problems.map((p) => `  problem: ${p.message} [${p.code}]`),
    ];
    return { data, human };
  },
};

const verifyCommand = {
  name: 'verify',
  summary: 'verify an MCUboot image exactly as the bootloader does',
  args: 'FILE',
  description:
    'Checks the TLV layout, recomputes the hash over exactly the bytes MCUboot covers, finds the KEYHASH/PUBKEY TLV for the given keys and checks the signature. Without --key only integrity (the hash) is checked and the verdict is INTEGRITY ONLY, not VALID. Exit 0 when valid (or intact, without --key), 1 when not.',
  options: {
    key: { type: 'string', multiple: true, value: 'PEM', description: 'trusted signing key (public or private PEM/DER)' },
    'enc-key': { type: 'string', value: 'PEM', description: 'private key to decrypt an encrypted image' },
    'strict-tlvs': { type: 'boolean', description: "reject unprotected TLVs outside MCUboot's allow list (MCUBOOT_USE_TLV_ALLOW_LIST)" },
    ...KEY_PASSPHRASE_OPTIONS,
  },
  async run(ctx: CommandContext) {
    const file = requirePositional(ctx, 0, 'FILE');
    // A passphrase, if given, is for whichever key file is encrypted (usually the --enc-key).
    const passphrase = keyPassphrase(ctx);
    const keys = stringList(ctx, 'key').map((p) => readKeyFile(p, passphrase));
    const encPath = stringOpt(ctx, 'enc-key');
    const encKey = encPath ? readKeyFile(encPath, passphrase) : undefined;
    const input = readImageFile(readUserFile(file, 'Image file'), file);
    const r = verifyImage(input.bytes, { keys, encKey, tlvAllowList: ctx.values['strict-tlvs'] === true });
    return { data: { file, ...r }, human: verdictLines(file, r), exitCode: r.valid ? 0 : 1 };
  },
};

function num(ctx: CommandContext, name: string): number | undefined {
  return intOpt(ctx, name);
}

function parseDependencies(s: string): SignOptions['dependencies'] {
  const deps = [...s.matchAll(/\(\s*(\d+)\s*,\s*([^)]+?)\s*\)/g)].map((m) => ({ imageId: Number(m[1]), version: m[2]! }));
  if (deps.length === 0) throw usageError('usage.bad-dependencies', `--dependencies must look like "(1,2.0.0+7)" or "(0,1.0.0),(2,3.4.5)", got "${s}".`);
  return deps;
}

function parseCustomTlv(s: string): { type: number; value: Uint8Array } {
  const m = /^(0x[0-9a-f]+|\d+)=(.*)$/i.exec(s);
  if (!m) throw usageError('usage.bad-custom-tlv', `--custom-tlv must be TYPE=VALUE (e.g. 0xa0=0x01020304 or 0xa1=text), got "${s}".`);
  const value = /^0x([0-9a-f]{2})+$/i.test(m[2]!) ? fromHex(m[2]!) : new TextEncoder().encode(m[2]!);
  return { type: Number(m[1]), value };
}

const signCommand = {
  name: 'sign',
  summary: 'sign a firmware binary into an MCUboot image',
  args: 'INPUT OUTPUT',
  description:
    'Builds an image the way imgtool sign does: header, protected TLVs, hash, key hash (or full key) and signature, optionally padded to the slot with a boot trailer. INPUT and OUTPUT may be .bin or Intel .hex. The result is verified before it is written.',
  options: {
    key: { type: 'string', short: 'k', value: 'PEM', description: 'private signing key (ECDSA P-256/P-384, Ed25519, RSA); omit for a hash-only image' },
    version: { type: 'string', short: 'v', value: 'VER', description: 'image version MAJOR.MINOR.REVISION+BUILD (required)' },
    'header-size': { type: 'string', short: 'H', value: 'N', description: 'header size in bytes', default: '0x200' },
    'pad-header': { type: 'boolean', description: 'prepend the header area (else INPUT must start with that many zero bytes)' },
    'slot-size': { type: 'string', short: 'S', value: 'N', description: 'slot size: checked, and padded to with --pad/--confirm' },
    pad: { type: 'boolean', description: 'pad to the slot size and write the boot trailer magic' },
    confirm: { type: 'boolean', description: 'pad and mark the image confirmed (image_ok)' },
    align: { type: 'string', value: 'N', description: 'flash write alignment 1|2|4|8|16|32', default: '1' },
    'max-align': { type: 'string', value: 'N', description: 'trailer alignment 8|16|32 (default max(8, align))' },
    'overwrite-only': { type: 'boolean', description: 'bootloader runs in overwrite-only mode (smaller trailer)' },
    'erased-val': { type: 'string', short: 'R', value: '0|0xff', description: 'value of erased flash', default: '0xff' },
    'security-counter': { type: 'string', short: 's', value: 'N|auto', description: 'security counter TLV; auto = from the version' },
    dependencies: { type: 'string', short: 'd', value: 'DEPS', description: 'dependencies, e.g. "(1,2.0.0+7)"' },
    'load-addr': { type: 'string', short: 'L', value: 'ADDR', description: 'RAM load address (sets RAM_LOAD)' },
    'rom-fixed': { type: 'string', short: 'F', value: 'ADDR', description: 'fixed ROM address (sets ROM_FIXED)' },
    'non-bootable': { type: 'boolean', description: 'mark the image non-bootable' },
    sha: { type: 'string', value: '256|384|512', description: 'hash algorithm (default from the key)' },
    'public-key-format': { type: 'string', value: 'hash|full', description: 'embed the key hash (default) or the full public key', default: 'hash' },
    pure: { type: 'boolean', description: 'Ed25519 signature over the image itself (SIG_PURE)' },
    'pad-sig': { type: 'boolean', description: 'pad ECDSA signatures to a fixed length (MCUboot < 1.5)' },
    'boot-record': { type: 'string', value: 'SW_TYPE', description: 'add a CBOR boot record with this software type' },
    vid: { type: 'string', value: 'NAME', description: 'vendor UUID TLV (UUIDv5 of NAME)' },
    cid: { type: 'string', value: 'NAME', description: 'image class UUID TLV (UUIDv5 of NAME under the vendor UUID)' },
    'custom-tlv': { type: 'string', multiple: true, value: 'TYPE=VALUE', description: 'protected vendor TLV, VALUE as 0xHEX or text' },
    encrypt: { type: 'string', short: 'E', value: 'PEM', description: "encrypt for this device key (P-256, X25519 or RSA-2048 public key)" },
    'encrypt-keylen': { type: 'string', value: '128|256', description: 'AES key size for --encrypt', default: '128' },
    'hmac-sha': { type: 'string', value: '256|512', description: 'HKDF/HMAC hash for X25519 key wrapping', default: '256' },
    clear: { type: 'boolean', description: 'with --encrypt: mark and add the key but keep the payload in plaintext' },
    'hex-addr': { type: 'string', short: 'x', value: 'ADDR', description: 'address for Intel HEX output (default: from a .hex INPUT)' },
    force: { type: 'boolean', description: 'overwrite OUTPUT if it exists' },
    ...KEY_PASSPHRASE_OPTIONS,
  },
  async run(ctx: CommandContext) {
    const inPath = requirePositional(ctx, 0, 'INPUT');
    const outPath = requirePositional(ctx, 1, 'OUTPUT');
    if (existsSync(outPath) && ctx.values.force !== true) throw usageError('usage.output-exists', `${outPath} exists; pass --force to overwrite it.`);
    const input = readImageFile(readUserFile(inPath, 'Input file'), inPath);
    const keyPath = stringOpt(ctx, 'key');
    const key = keyPath ? readKeyFile(keyPath, keyPassphrase(ctx)) : undefined;
    const sc = stringOpt(ctx, 'security-counter');
    const sha = stringOpt(ctx, 'sha');
    if (sha !== undefined && !['256', '384', '512'].includes(sha)) throw usageError('usage.bad-sha', '--sha must be 256, 384 or 512.');
    const pkf = stringOpt(ctx, 'public-key-format') ?? 'hash';
    if (pkf !== 'hash' && pkf !== 'full') throw usageError('usage.bad-public-key-format', '--public-key-format must be hash or full.');
    const erased = num(ctx, 'erased-val') ?? 0xff;
    if (erased !== 0 && erased !== 0xff) throw usageError('usage.bad-erased-val', '--erased-val must be 0 or 0xff.');
    const deps = stringOpt(ctx, 'dependencies');
    const encPath = stringOpt(ctx, 'encrypt');
    const keylen = num(ctx, 'encrypt-keylen') ?? 128;
    if (keylen !== 128 && keylen !== 256) throw usageError('usage.bad-keylen', '--encrypt-keylen must be 128 or 256.');
    const hmacSha = num(ctx, 'hmac-sha') ?? 256;
    if (hmacSha !== 256 && hmacSha !== 512) throw usageError('usage.bad-hmac-sha', '--hmac-sha must be 256 or 512.');
    if (ctx.values.clear === true && !encPath) throw usageError('usage.clear-needs-encrypt', '--clear only makes sense with --encrypt.');
    const opts: SignOptions = {
      key,
      version: requireString(ctx, 'version'),
      headerSize: num(ctx, 'header-size') ?? 0x200,
      padHeader: ctx.values['pad-header'] === true,
      slotSize: num(ctx, 'slot-size'),
      pad: ctx.values.pad === true,
      confirm: ctx.values.confirm === true,
      align: num(ctx, 'align') ?? 1,
      maxAlign: num(ctx, 'max-align'),
      overwriteOnly: ctx.values['overwrite-only'] === true,
      erasedValue: erased as 0 | 0xff,
      securityCounter: sc === undefined ? undefined : sc === 'auto' ? 'auto' : (intOpt(ctx, 'security-counter') as number),
      dependencies: deps ? parseDependencies(deps) : undefined,
      ramLoadAddress: num(ctx, 'load-addr'),
      romFixedAddress: num(ctx, 'rom-fixed'),
      nonBootable: ctx.values['non-bootable'] === true,
      hash: sha ? (`sha${sha}` as SignOptions['hash']) : undefined,
      publicKeyFormat: pkf,
      pure: ctx.values.pure === true,
      padSig: ctx.values['pad-sig'] === true,
      bootRecord: stringOpt(ctx, 'boot-record'),
      vid: stringOpt(ctx, 'vid'),
      cid: stringOpt(ctx, 'cid'),
      customTlvs: stringList(ctx, 'custom-tlv').map(parseCustomTlv),
      encryptFor: encPath ? readKeyFile(encPath) : undefined,
      encryptKeyBits: keylen,
      hmacSha,
      clear: ctx.values.clear === true,
    };
    // A fresh AES key we keep, so an encrypted result can be self-checked through its plaintext.
    if (opts.encryptFor) opts.aesKey = randomAesKey(keylen as 128 | 256);
    const image = signImage(input.bytes, opts);
    // Self-check with the public half, exactly as the bootloader would.
    const check = verifyImage(image, { keys: key ? [publicOnly(key)] : [], aesKey: opts.aesKey });
    if (!check.valid) throw inputError('mcuboot.sign-self-check', `The signed image did not verify (${check.reason}); nothing was written.`);
    const toHexFile = /\.(hex|ihex|ihx)$/i.test(outPath);
    let address: number | undefined;
    if (toHexFile) {
      address = num(ctx, 'hex-addr') ?? (input.address !== undefined ? input.address - (opts.padHeader ? opts.headerSize! : 0) : undefined);
      if (address === undefined) throw usageError('usage.hex-needs-address', 'Intel HEX output needs an address: give --hex-addr or a .hex INPUT.');
      writeFileAtomic(outPath, writeIntelHex({ segments: [{ address, data: image }] }));
    } else writeFileAtomic(outPath, image);
    const data = {
      input: inPath,
      output: outPath,
      format: toHexFile ? 'hex' : 'bin',
      ...(address !== undefined ? { hexAddress: address } : {}),
      size: image.length,
      version: check.version,
      securityCounter: check.securityCounter,
      hashAlgorithm: check.hashAlgorithm,
      hash: check.hash,
      signature: check.signature,
      tlvs: check.tlvs,
      trailer: check.trailer,
    };
    return {
      data,
      human: [
        `wrote ${outPath}: ${formatBytes(image.length)}, version ${check.version}, ${check.hashAlgorithm} ${check.hash}`,
        key ? `  signed with ${key.type} (sha256:${key.fingerprint.slice(0, 16)}…), ${check.signature?.keyTlv}` : '  unsigned (hash only)',
        ...(check.encryption ? [`  encrypted AES-${check.encryption.aesBits} for a ${opts.encryptFor!.type} key (${check.encryption.scheme})${opts.clear ? ', payload left in plaintext' : ''}`] : []),
        ...(check.trailer ? [`  padded to ${formatBytes(image.length)}, ${check.trailer.confirmed ? 'confirmed' : 'not confirmed'}`] : []),
      ],
    };
  },
};

export const imageGroup: CommandGroup = {
  name: 'image',
  summary: 'inspect, verify and sign MCUboot firmware images',
  commands: [infoCommand, verifyCommand, signCommand] as CommandGroup['commands'],
};
