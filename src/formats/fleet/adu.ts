/**
 * Azure Device Update import manifests, version 5.0 (learn.microsoft.com
 * azure/iot-hub-device-update/import-schema): `updateId` {provider, name,
 * version}, `compatibility` (device property sets), `instructions`, `files`
 * with `sizeInBytes` and `hashes.sha256` (base64), `manifestVersion` "5.0",
 * `createdDateTime`. An import manifest is not signed (the service signs the
 * update manifest it derives from it), so it proves only that the files are
 * the ones it names: it enters Unbrick only through a bundle the vendor's
 * release key signs (`unbrick bundle create --from adu:MANIFEST`).
 */
import { checkError, inputError } from '../../core/errors.ts';
import { arr, bool, json, literal, num, obj, opt, parseJsonAs, record, str } from '../../core/schema.ts';
import { sha256Hex, type FleetFile, type FleetRelease } from './release.ts';

const CODE = 'fleet.adu.invalid';

const ManifestSchema = obj({
  $schema: opt(str({ max: 1024 })),
  updateId: obj({
    provider: str({ min: 1, max: 64, pattern: /^[A-Za-z0-9._-]+$/ }),
    name: str({ min: 1, max: 64, pattern: /^[A-Za-z0-9._-]+$/ }),
    version: str({ min: 1, max: 64 }),
  }),
  description: opt(str({ max: 512 })),
  isDeployable: opt(bool()),
  compatibility: arr(record(str({ min: 1, max: 64 }), { max: 5 }), { min: 1, max: 10 }),
  instructions: json(),
  files: opt(
    arr(
      obj({
        filename: str({ min: 1, max: 255, pattern: /^[^/\\]+$/ }),
        sizeInBytes: num({ int: true, min: 1, max: 2 ** 31 }),
        hashes: obj({ sha256: str({ min: 44, max: 44, pattern: /^[A-Za-z0-9+/]{43}=$/ }) }),
        relatedFiles: opt(json()),
        downloadHandler: opt(json()),
        properties: opt(json()),
      }),
      { max: 10 },
    ),
  ),
  manifestVersion: literal('5.0'),
  createdDateTime: str({ max: 40, pattern: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/ }),
});

/** "manufacturer=contoso,model=toaster": one compatibility set, keys sorted, as a hardware target name. */
export const compatibilityTarget = (set: Record<string, string>): string =>
  Object.keys(set)
    .sort()
    .map((k) => `${k}=${set[k]}`)
    .join(',');

/** The files the manifest names, before their bytes are read. */
export function readAduManifest(text: string, what = 'ADU import manifest') {
  return parseJsonAs(ManifestSchema, text, { what, code: CODE, maxChars: 1 << 20 });
}

/** Checks every file the manifest lists (size, then SHA-256) against the bytes given by file name. */
export function readAduImport(text: string, files: Map<string, Uint8Array>): FleetRelease {
  const m = readAduManifest(text);
  if (!m.files?.length) throw inputError(CODE, 'ADU import manifest: lists no files; a reference-only update has nothing to install over a cable.');
  const out: FleetFile[] = [];
  for (const f of m.files) {
    const data = files.get(f.filename);
    if (!data) throw inputError('fleet.adu.file-missing', `The import manifest lists ${f.filename}; it is not beside the manifest.`, { file: f.filename });
    if (data.length !== f.sizeInBytes)
      throw checkError('fleet.adu.size-mismatch', `${f.filename} is ${data.length} bytes; the import manifest says ${f.sizeInBytes}. Refusing it.`, { file: f.filename });
    const sha256 = sha256Hex(data);
    if (Buffer.from(sha256, 'hex').toString('base64') !== f.hashes.sha256)
      throw checkError('fleet.adu.hash-mismatch', `${f.filename} does not match its SHA-256 in the import manifest: it was changed or damaged. Refusing it.`, { file: f.filename });
    out.push({ name: f.filename, data, sha256 });
  }
  return {
    version: m.updateId.version,
    files: out,
    provenance: {
      system: 'azure-device-update',
      identifiers: { provider: m.updateId.provider, name: m.updateId.name, version: m.updateId.version },
      targets: m.compatibility.map(compatibilityTarget),
      proof: { method: 'hashes-only' },
    },
  };
}
