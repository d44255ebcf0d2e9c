/**
 * Mender artifacts, format version 3 (mender-artifact Documentation/
 * artifact-format.md): an outer tar of `version`, `manifest`, optional
 * `manifest.sig`, `header.tar.gz` and `data/NNNN.tar.gz`. `manifest` lists
 * "<sha256>  <path>" for `version`, `header.tar.gz` and every payload file
 * (`data/NNNN/<file>`); `manifest.sig` is the base64 signature over the
 * `manifest` bytes: RSA PKCS#1 v1.5 with SHA-256, or ECDSA P-256 over
 * SHA-256 as raw r||s (64 bytes; what mender-artifact 3.x writes, checked
 * with Debian's mender-artifact 3.9 in test/unit/fleet), DER also accepted.
 * Order of checks: signature over the manifest first (when a key is given),
 * then every checksum, then the headers are read. Augmented artifacts
 * (`manifest-augment`, `header-augment.tar.gz`) carry unsigned parts and are
 * refused.
 */
import { constants, verify as nodeVerify } from 'node:crypto';
import { checkError, inputError, usageError } from '../../core/errors.ts';
import { arr, json, obj, opt, parseJsonAs, record, str } from '../../core/schema.ts';
import { gunzip, readTar } from './tar.ts';
import { requireText, sha256Hex, type FleetFile, type FleetRelease, type TrustedKey } from './release.ts';

const CODE = 'fleet.mender.invalid';
/** A firmware release for a microcontroller is far smaller; bounds every inflate. */
export const MAX_MENDER_BYTES = 256 * 1024 * 1024;

const VersionSchema = obj({ format: str({ max: 32 }), version: json() });
const HeaderInfoSchema = obj({
  payloads: arr(obj({ type: str({ max: 256 }) }), { max: 64 }),
  artifact_provides: obj({ artifact_name: str({ max: 256 }), artifact_group: opt(str({ max: 256 })) }),
  artifact_depends: obj({
    device_type: arr(str({ min: 1, max: 256 }), { min: 1, max: 256 }),
    artifact_name: opt(arr(str({ max: 256 }), { max: 256 })),
    artifact_group: opt(arr(str({ max: 256 }), { max: 256 })),
  }),
});
const TypeInfoSchema = obj({
  type: opt(str({ max: 256 })),
  artifact_provides: opt(record(str({ max: 1024 }), { max: 256 })),
  artifact_depends: opt(record(json(), { max: 256 })),
  clears_artifact_provides: opt(arr(str({ max: 1024 }), { max: 256 })),
});

export interface MenderOptions {
  /** Mender verification keys the user trusts; empty = no signature check. */
  keys: TrustedKey[];
  /** Accept an artifact without a signature when no key is given (checksums are still checked). */
  allowUnsigned?: boolean;
}

function checkSignature(manifest: Uint8Array, sigText: Uint8Array, keys: TrustedKey[]): TrustedKey {
  const sig = Buffer.from(requireText(sigText, 'manifest.sig', CODE).trim(), 'base64');
  for (const k of keys) {
    let ok = false;
    try {
      if (k.key.asymmetricKeyType === 'rsa') ok = nodeVerify('sha256', manifest, { key: k.key, padding: constants.RSA_PKCS1_PADDING }, sig);
      else if (k.key.asymmetricKeyType === 'ec') ok = nodeVerify('sha256', manifest, { key: k.key, dsaEncoding: sig.length === 64 ? 'ieee-p1363' : 'der' }, sig);
    } catch {
      ok = false;
    }
    if (ok) return k;
  }
  throw checkError(
    'fleet.mender.signature-invalid',
    `The artifact's manifest signature does not verify with ${keys.length === 1 ? `the trusted Mender key ${keys[0]!.fingerprint.slice(0, 16)}…` : `any of the ${keys.length} trusted Mender keys`}: it was changed after signing, or signed by another key. Refusing it.`,
    { keys: keys.map((k) => k.fingerprint) },
  );
}

/** Reads, checks and unpacks a Mender artifact (bytes of the .mender file). */
export function readMenderArtifact(bytes: Uint8Array, opts: MenderOptions): FleetRelease {
  const outer = readTar(bytes, { what: 'Mender artifact', code: CODE });
  const byName = new Map<string, Uint8Array>();
  for (const e of outer) {
    if (byName.has(e.name)) throw inputError(CODE, `Mender artifact: "${e.name}" appears twice.`, { entry: e.name });
    byName.set(e.name, e.data);
  }
  const version = byName.get('version');
  if (!version) throw inputError(CODE, 'Mender artifact: no "version" entry; this is not a Mender artifact.');
  const v = parseJsonAs(VersionSchema, requireText(version, 'Mender artifact version', CODE), { what: 'Mender artifact version', code: CODE });
  if (v.format !== 'mender' || v.version !== 3)
    throw inputError('fleet.mender.unsupported-version', `This is a "${v.format}" artifact of version ${JSON.stringify(v.version)}; Unbrick reads Mender artifact format version 3.`);
  if (byName.has('manifest-augment') || byName.has('header-augment.tar.gz'))
    throw checkError('fleet.mender.augmented', 'The artifact is augmented (manifest-augment / header-augment.tar.gz): those parts are not covered by the signature. Refusing it.');
  const manifest = byName.get('manifest');
  if (!manifest) throw inputError(CODE, 'Mender artifact: no "manifest" entry.');

  // The signature first: nothing the manifest says is trusted before it.
  const sig = byName.get('manifest.sig');
  let signer: TrustedKey | undefined;
  if (opts.keys.length) {
    if (!sig) throw checkError('fleet.mender.unsigned', 'The artifact is not signed, but a Mender verification key was given: a release from this fleet must be signed. Refusing it.');
    signer = checkSignature(manifest, sig, opts.keys);
  } else if (!opts.allowUnsigned) {
    throw usageError('fleet.mender.key-required', 'Give the Mender verification key the fleet signs its artifacts with (--mender-key PEM), or --allow-unsigned to accept checksums only.');
  }

  const listed = new Map<string, string>();
  for (const line of requireText(manifest, 'Mender manifest', CODE).split('\n')) {
    if (line.trim() === '') continue;
    const m = /^([0-9a-f]{64}) {2}(\S.*)$/.exec(line);
    if (!m) throw inputError(CODE, `Mender manifest: the line "${line.slice(0, 80)}" is not "<sha256>  <path>".`);
    if (listed.has(m[2]!)) throw inputError(CODE, `Mender manifest lists "${m[2]}" twice.`);
    listed.set(m[2]!, m[1]!);
  }
  const check = (path: string, data: Uint8Array) => {
    const want = listed.get(path);
    if (!want) throw checkError('fleet.mender.unlisted-file', `The artifact holds "${path}", which its manifest does not list; refusing it.`, { file: path });
    if (sha256Hex(data) !== want)
      throw checkError('fleet.mender.checksum-mismatch', `"${path}" does not match its checksum in the artifact's manifest: it was changed or damaged. Refusing the artifact.`, { file: path });
    listed.delete(path);
  };
  check('version', version);
  // gzip (the default) or none; mender-artifact's lzma and zstd choices need decompressors node does not ship.
  const other = [...byName.keys()].find((n) => /^(header|data\/\d{4})\.tar\.(xz|zst)$/.test(n));
  if (other)
    throw inputError('fleet.mender.compression-unsupported', `The artifact is compressed with ${other.endsWith('.xz') ? 'lzma (xz)' : 'zstd'} (${other}); Unbrick reads gzip or uncompressed artifacts. Ask for one written with --compression gzip or none.`);
  const headerName = byName.has('header.tar.gz') ? 'header.tar.gz' : 'header.tar';
  const headerRaw = byName.get(headerName);
  if (!headerRaw) throw inputError(CODE, 'Mender artifact: no "header.tar.gz" entry.');
  check(headerName, headerRaw);

  const files: FleetFile[] = [];
  for (const [name, data] of byName) {
    if (['version', 'manifest', 'manifest.sig', headerName].includes(name)) continue;
    const m = /^data\/(\d{4})\.tar(\.gz)?$/.exec(name);
    if (!m) throw checkError('fleet.mender.unlisted-file', `The artifact holds "${name}", which is not part of a version 3 artifact; refusing it.`, { file: name });
    const inner = m[2] ? gunzip(data, { what: name, code: CODE, maxBytes: MAX_MENDER_BYTES }) : data;
    for (const f of readTar(inner, { what: name, code: CODE })) {
      check(`data/${m[1]}/${f.name}`, f.data);
      files.push({ name: f.name.split('/').pop()!, data: f.data, sha256: sha256Hex(f.data) });
    }
  }
  if (listed.size) throw checkError('fleet.mender.checksum-mismatch', `The manifest lists ${[...listed.keys()].join(', ')}, which the artifact does not hold.`, { missing: [...listed.keys()] });

  const header = readTar(headerName === 'header.tar' ? headerRaw : gunzip(headerRaw, { what: headerName, code: CODE, maxBytes: 16 << 20 }), { what: headerName, code: CODE });
  const hi = header.find((e) => e.name === 'header-info');
  if (!hi) throw inputError(CODE, 'Mender artifact: header.tar.gz has no header-info.');
  const info = parseJsonAs(HeaderInfoSchema, requireText(hi.data, 'header-info', CODE), { what: 'Mender header-info', code: CODE });
  const provides: Record<string, string> = { artifact_name: info.artifact_provides.artifact_name };
  if (info.artifact_provides.artifact_group) provides.artifact_group = info.artifact_provides.artifact_group;
  const types: string[] = [];
  for (const e of header) {
    if (!/^headers\/\d{4}\/type-info$/.test(e.name)) continue;
    const ti = parseJsonAs(TypeInfoSchema, requireText(e.data, e.name, CODE), { what: `Mender ${e.name}`, code: CODE });
    if (ti.type) types.push(ti.type);
    Object.assign(provides, ti.artifact_provides ?? {});
  }
  // The software version: `rootfs-image.version` when the artifact provides it (Mender's convention), else the artifact name.
  const versionKey = provides['rootfs-image.version'] !== undefined ? 'rootfs-image.version' : undefined;
  const identifiers: Record<string, string> = { artifact_name: info.artifact_provides.artifact_name };
  for (const [k, val] of Object.entries(provides)) if (k !== 'artifact_name' && Object.keys(identifiers).length < 24) identifiers[`provides:${k}`] = val.slice(0, 512);
  if (types.length) identifiers.payload_types = types.join(',');
  return {
    version: versionKey ? provides[versionKey] : info.artifact_provides.artifact_name,
    files,
    provenance: {
      system: 'mender',
      identifiers,
      targets: info.artifact_depends.device_type,
      proof: signer
        ? { method: 'mender-signature', algorithm: signer.key.asymmetricKeyType === 'rsa' ? 'RSA PKCS#1 v1.5 SHA-256' : 'ECDSA P-256 SHA-256', fingerprint: signer.fingerprint }
        : { method: 'hashes-only' },
    },
  };
}
