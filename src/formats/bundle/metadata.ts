/**
 * The signed bundle metadata (see docs/bundle-format.md): what the bundle is for,
 * what each payload is and where it goes, the option-byte policy for
 * provisioning, and the sequence/time fields anti-rollback and expiry rely on.
 * `readMetadata` is the only way in: it refuses anything it does not fully
 * understand.
 */
import type { Json } from './canonical-json.ts';
import { Reader, UUID } from './schema.ts';
import { inputError } from '../../core/errors.ts';
import { parseAs } from '../../core/schema.ts';
import { PreconditionsSchema, type Preconditions } from './preconditions.ts';

export const METADATA_TYPE = 'unbrick.bundle';
export const SPEC_VERSION = 1;
export const BUNDLE_PAYLOAD_TYPE = 'application/vnd.unbrick.bundle+json';

export type BundleKind = 'update' | 'golden' | 'provisioning';
export const BUNDLE_KINDS: readonly BundleKind[] = ['update', 'golden', 'provisioning'];

/** What a payload is: decides how it is checked and where it may go. */
export type PayloadRole =
  | 'mcuboot-image' //  an MCUboot-signed application image, written through SMP to image N / slot
  | 'bootloader' //     the MCUboot bootloader binary itself, written raw at an STM32 address
  | 'stm32-region'; //  any other raw region written at an STM32 address
export const PAYLOAD_ROLES: readonly PayloadRole[] = ['mcuboot-image', 'bootloader', 'stm32-region'];

export type PayloadTarget = { kind: 'smp'; image: number; slot: number } | { kind: 'address'; address: number };

export interface PayloadInfo {
  /** Entry name inside the container: `payloads/<name>`. */
  name: string;
  role: PayloadRole;
  target: PayloadTarget;
  size: number;
  /** SHA-256 of the payload file, lower-case hex. */
  sha256: string;
  /** Version as MAJOR.MINOR.REVISION+BUILD (MCUboot's form); required for MCUboot images. */
  version?: string;
  /** MCUboot security counter (SEC_CNT TLV) of the image, when it has one. */
  securityCounter?: number;
  /** Key id (SHA-256 of the SubjectPublicKeyInfo DER) of the image-signing key that must have signed it. */
  imageKey?: string;
  /** The MCUboot image hash (its SHA-256/384/512 TLV), lower-case hex. */
  imageHash?: string;
}

/**
 * Option-byte policy a provisioned unit must end with. A plain typed object so
 * the STM32 option-byte code can consume it; family-specific encoding is theirs.
 */
export interface OptionBytePolicy {
  /** Readout protection: 0 none, 1 readout protection, 2 permanent (only with allowLevel2). */
  rdpLevel: 0 | 1 | 2;
  /** Must be present and true for rdpLevel 2: level 2 is irreversible. */
  allowLevel2?: true;
  /** Write-protected address ranges, `end` exclusive; typically the bootloader's sectors. */
  wrp: { start: number; end: number }[];
  /** Brown-out reset threshold level (family-specific 0..4); absent = leave as is. */
  borLevel?: number;
  /** Named user option bits (e.g. nRST_STOP: true, IWDG_SW: false); absent = leave as is. */
  userBits?: Record<string, boolean>;
}

/**
 * Where a provisioned unit's per-unit data goes. Signed with the rest of the
 * recipe, so the line's operator does not choose it (the station refuses a
 * command-line option that says otherwise).
 */
export interface UnitDataTarget {
  /** STM32 units: the flash address the entry is written to. */
  address?: number;
  /** Write this entry field (hex) as raw bytes instead of the whole entry as JSON. */
  field?: string;
  /** SMP units: the settings key for the whole entry, or FIELD=KEY pairs separated by commas. */
  setting?: string;
  /** SMP units: the file the entry is written to, when the settings group is not set or not offered. */
  file?: string;
}

export interface ProductInfo {
  /** Vendor and device class, as RFC 4122 UUIDs (SUIT vendor-id / class-id; MCUboot UUID_VID / UUID_CID). */
  vendorId: string;
  classId: string;
  name: string;
  /** Hardware revisions this bundle may be installed on. */
  hardwareRevisions: string[];
  /** For STM32 targets: the bootloader's product ID (e.g. 0x413 for STM32F40x/41x). */
  mcuProductId?: number;
}

export interface BundleMetadata {
  type: typeof METADATA_TYPE;
  specVersion: typeof SPEC_VERSION;
  kind: BundleKind;
  product: ProductInfo;
  /** Release version shown to people; payload versions drive downgrade checks. */
  version: string;
  /** Monotonically increasing per product; anti-rollback compares it with the highest accepted. */
  sequence: number;
  created: string;
  expires: string;
  releaseNotes: string;
  payloads: PayloadInfo[];
  provisioning?: { optionBytes: OptionBytePolicy; data?: UnitDataTarget };
  /** Names of extensions a verifier must understand to accept the bundle. */
  critical?: string[];
  /** Vendor extensions; ignored unless named in `critical` (then refused unless understood: see UNDERSTOOD_EXTENSIONS). */
  extensions?: Record<string, Json>;
  /** The product's flash layout, read from the `partitions` extension when the bundle carries one. */
  partitions?: FlashLayout;
  /** Where the release came from when it was imported from a fleet OTA system (docs/fleet.md). */
  provenance?: Provenance;
  /** What the unit must show before anything is written to it (update and provisioning bundles; see preconditions.ts). */
  preconditions?: Preconditions;
}

/** Fleet OTA systems a release can be imported from (src/formats/fleet). */
export type FleetSystem = 'mender' | 'aws-iot-ota' | 'azure-device-update';
export const FLEET_SYSTEMS: readonly FleetSystem[] = ['mender', 'aws-iot-ota', 'azure-device-update'];

/**
 * A release imported from a fleet OTA system and re-signed by the vendor: the
 * source system's own identifiers, the hardware it named, and what proved the
 * release genuine before the vendor's key signed it.
 */
export interface Provenance {
  system: FleetSystem;
  /** The release's identifiers in that system (artifact name, job id, updateId, ...). */
  identifiers: Record<string, string>;
  /** The hardware the release targets, as the source system names it (device types, compatibility sets). */
  targets: string[];
  proof: {
    /** mender-signature / aws-code-signing: checked against a key or certificate the user trusts; hashes-only: an unsigned source, only sizes and hashes checked. */
    method: 'mender-signature' | 'aws-code-signing' | 'hashes-only';
    algorithm?: string;
    /** SHA-256 of the trusted key's SubjectPublicKeyInfo, or of the certificate's DER. */
    fingerprint?: string;
    subject?: string;
  };
}

/** A flash region, `size` bytes from `address`. */
export interface FlashRegion {
  address: number;
  size: number;
}

/**
 * The product's flash layout (extension `partitions`): where MCUboot and the
 * image slots live, so a unit's flash can be read through its ROM bootloader
 * without guessing. Typically carried by golden bundles.
 */
export interface FlashLayout {
  mcuboot: FlashRegion;
  slot0: FlashRegion;
  slot1?: FlashRegion;
}

/** Extensions this verifier understands. */
const UNDERSTOOD_EXTENSIONS: readonly string[] = ['partitions'];

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
export const VERSION = /^(\d{1,3})\.(\d{1,3})\.(\d{1,5})(?:\+(\d{1,10}))?$/;

export interface Version {
  major: number;
  minor: number;
  revision: number;
  build: number;
}

export function parseVersion(s: string): Version {
  const m = VERSION.exec(s);
  if (!m) throw inputError('bundle.bad-version', `"${s}" is not a version of the form MAJOR.MINOR.REVISION+BUILD.`);
  const v = { major: +m[1]!, minor: +m[2]!, revision: +m[3]!, build: m[4] === undefined ? 0 : +m[4] };
  if (v.major > 255 || v.minor > 255 || v.revision > 65535 || v.build > 0xffffffff)
    throw inputError('bundle.bad-version', `"${s}" is out of MCUboot's version range (255.255.65535+4294967295).`);
  return v;
}

/** Compares like MCUboot with build numbers counted: major, minor, revision, then build. */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  return x.major - y.major || x.minor - y.minor || x.revision - y.revision || x.build - y.build;
}

/** A stable name for where a payload goes: anti-rollback state is kept per target. */
export function targetKey(t: PayloadTarget): string {
  return t.kind === 'smp' ? `smp:image${t.image}` : `address:0x${t.address.toString(16).padStart(8, '0')}`;
}

export const productKey = (p: { vendorId: string; classId: string }): string => `${p.vendorId}/${p.classId}`;

export function readMetadata(v: Json): BundleMetadata {
  const r = new Reader('Bundle metadata', 'bundle.metadata-invalid');
  const o = r.object(v, 'metadata', [
    'type', 'specVersion', 'kind', 'product', 'version', 'sequence', 'created', 'expires', 'releaseNotes', 'payloads', 'provisioning', 'critical', 'extensions', 'provenance', 'preconditions',
  ]);
  if (o.type !== METADATA_TYPE) throw r.fail('metadata.type', `must be "${METADATA_TYPE}"`);
  if (o.specVersion !== SPEC_VERSION)
    throw inputError('bundle.unsupported-version', `This bundle uses format version ${String(o.specVersion)}; this Unbrick understands version ${SPEC_VERSION}. Update Unbrick.`);
  const kind = r.oneOf(o.kind, 'metadata.kind', BUNDLE_KINDS);

  const p = r.object(o.product, 'metadata.product', ['vendorId', 'classId', 'name', 'hardwareRevisions', 'mcuProductId']);
  const product: ProductInfo = {
    vendorId: r.string(p.vendorId, 'product.vendorId', { pattern: UUID }),
    classId: r.string(p.classId, 'product.classId', { pattern: UUID }),
    name: r.string(p.name, 'product.name', { max: 100 }),
    hardwareRevisions: r.array(p.hardwareRevisions, 'product.hardwareRevisions', (x, q) => r.string(x, q, { max: 32 }), { min: 1 }),
  };
  if (p.mcuProductId !== undefined) product.mcuProductId = r.int(p.mcuProductId, 'product.mcuProductId', 0, 0xffff);

  const names = new Set<string>();
  const payloads = r.array(o.payloads, 'metadata.payloads', (x, q) => readPayload(r, x, q), { min: kind === 'provisioning' ? 0 : 1, max: 32 });
  for (const pl of payloads) {
    if (names.has(pl.name)) throw r.fail('metadata.payloads', `lists "${pl.name}" twice`);
    names.add(pl.name);
  }
  const md: BundleMetadata = {
    type: METADATA_TYPE,
    specVersion: SPEC_VERSION,
    kind,
    product,
    version: r.string(o.version, 'metadata.version', { max: 64 }),
    sequence: r.int(o.sequence, 'metadata.sequence', 0),
    created: r.time(o.created, 'metadata.created'),
    expires: r.time(o.expires, 'metadata.expires'),
    releaseNotes: r.string(o.releaseNotes, 'metadata.releaseNotes', { max: 16384, min: 0 }),
    payloads,
  };
  if (Date.parse(md.expires) <= Date.parse(md.created)) throw r.fail('metadata.expires', 'must be later than metadata.created');
  if (o.provisioning !== undefined) {
    const pv = r.object(o.provisioning, 'metadata.provisioning', ['optionBytes', 'data']);
    md.provisioning = { optionBytes: readOptionBytes(r, pv.optionBytes, 'provisioning.optionBytes') };
    if (pv.data !== undefined) md.provisioning.data = readDataTarget(r, pv.data, 'provisioning.data');
  }
  if (kind === 'provisioning' && !md.provisioning) throw r.fail('metadata.provisioning', 'is required for a provisioning bundle');
  if (kind !== 'provisioning' && md.provisioning) throw r.fail('metadata.provisioning', 'is only allowed in a provisioning bundle');
  if (o.preconditions !== undefined) {
    if (kind === 'golden') throw r.fail('metadata.preconditions', 'is not allowed in a golden bundle (recovery writes units that run no application to ask)');
    md.preconditions = parseAs(PreconditionsSchema, o.preconditions, { what: 'Bundle metadata', code: r.code, path: 'metadata.preconditions' });
  }
  if (o.extensions !== undefined) {
    if (o.extensions === null || typeof o.extensions !== 'object' || Array.isArray(o.extensions)) throw r.fail('metadata.extensions', 'must be an object');
    md.extensions = o.extensions as Record<string, Json>;
    if (md.extensions.partitions !== undefined) md.partitions = readLayout(r, md.extensions.partitions, 'extensions.partitions');
  }
  if (o.provenance !== undefined) md.provenance = readProvenance(r, o.provenance, 'metadata.provenance');
  if (o.critical !== undefined) {
    md.critical = r.array(o.critical, 'metadata.critical', (x, q) => r.string(x, q, { max: 100 }));
    for (const name of md.critical)
      if (!UNDERSTOOD_EXTENSIONS.includes(name))
        throw inputError('bundle.unknown-critical-field', `The bundle requires the extension "${name}", which this Unbrick does not understand; refusing rather than ignoring it. Update Unbrick.`, { field: name });
  }
  return md;
}

function readPayload(r: Reader, v: unknown, path: string): PayloadInfo {
  const o = r.object(v, path, ['name', 'role', 'target', 'size', 'sha256', 'version', 'securityCounter', 'imageKey', 'imageHash']);
  const role = r.oneOf(o.role, `${path}.role`, PAYLOAD_ROLES);
  const t = r.object(o.target, `${path}.target`, ['kind', 'image', 'slot', 'address']);
  const tkind = r.oneOf(t.kind, `${path}.target.kind`, ['smp', 'address'] as const);
  let target: PayloadTarget;
  if (tkind === 'smp') {
    if (t.address !== undefined) throw r.fail(`${path}.target.address`, 'is not allowed for an SMP target');
    target = { kind: 'smp', image: r.int(t.image, `${path}.target.image`, 0, 15), slot: r.int(t.slot, `${path}.target.slot`, 0, 1) };
  } else {
    if (t.image !== undefined || t.slot !== undefined) throw r.fail(`${path}.target`, 'an address target has no image or slot');
    target = { kind: 'address', address: r.int(t.address, `${path}.target.address`, 0, 0xffffffff) };
  }
  if ((role === 'mcuboot-image') !== (tkind === 'smp')) throw r.fail(`${path}.target`, role === 'mcuboot-image' ? 'must be an SMP image/slot for an MCUboot image' : 'must be an address for a raw region');
  const p: PayloadInfo = {
    name: r.string(o.name, `${path}.name`, { pattern: NAME, max: 100 }),
    role,
    target,
    size: r.int(o.size, `${path}.size`, 1, 0xffffffff),
    sha256: r.hex(o.sha256, `${path}.sha256`, 32),
  };
  if (o.version !== undefined) {
    p.version = r.string(o.version, `${path}.version`, { pattern: VERSION, max: 32 });
    parseVersion(p.version);
  }
  if (o.securityCounter !== undefined) p.securityCounter = r.int(o.securityCounter, `${path}.securityCounter`, 0, 0xffffffff);
  if (o.imageKey !== undefined) p.imageKey = r.hex(o.imageKey, `${path}.imageKey`, 32);
  if (o.imageHash !== undefined) p.imageHash = r.string(o.imageHash, `${path}.imageHash`, { pattern: /^([0-9a-f]{64}|[0-9a-f]{96}|[0-9a-f]{128})$/, max: 128 });
  if (role === 'mcuboot-image') {
    if (!p.version || !p.imageKey || !p.imageHash) throw r.fail(path, 'is an MCUboot image and needs version, imageKey and imageHash');
  } else if (p.imageKey || p.imageHash || p.securityCounter !== undefined) {
    throw r.fail(path, 'is a raw region: imageKey, imageHash and securityCounter belong to MCUboot images only');
  }
  return p;
}

function readProvenance(r: Reader, v: unknown, path: string): Provenance {
  const o = r.object(v, path, ['system', 'identifiers', 'targets', 'proof']);
  const ids = r.object(o.identifiers, `${path}.identifiers`, Object.keys((o.identifiers ?? {}) as object));
  const identifiers: Record<string, string> = {};
  const keys = Object.keys(ids);
  if (keys.length > 32) throw r.fail(`${path}.identifiers`, 'has more than 32 entries');
  for (const k of keys) {
    r.string(k, `${path}.identifiers key`, { pattern: /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/, max: 64 });
    identifiers[k] = r.string(ids[k], `${path}.identifiers.${k}`, { max: 512 });
  }
  const p = r.object(o.proof, `${path}.proof`, ['method', 'algorithm', 'fingerprint', 'subject']);
  const proof: Provenance['proof'] = { method: r.oneOf(p.method, `${path}.proof.method`, ['mender-signature', 'aws-code-signing', 'hashes-only'] as const) };
  if (p.algorithm !== undefined) proof.algorithm = r.string(p.algorithm, `${path}.proof.algorithm`, { max: 64 });
  if (p.fingerprint !== undefined) proof.fingerprint = r.hex(p.fingerprint, `${path}.proof.fingerprint`, 32);
  if (p.subject !== undefined) proof.subject = r.string(p.subject, `${path}.proof.subject`, { max: 512 });
  if (proof.method !== 'hashes-only' && !proof.fingerprint) throw r.fail(`${path}.proof`, 'names a signature check but not the key or certificate that passed it');
  return {
    system: r.oneOf(o.system, `${path}.system`, FLEET_SYSTEMS),
    identifiers,
    targets: r.array(o.targets, `${path}.targets`, (x, q) => r.string(x, q, { max: 256 })),
    proof,
  };
}

function readDataTarget(r: Reader, v: unknown, path: string): UnitDataTarget {
  const o = r.object(v, path, ['address', 'field', 'setting', 'file']);
  const t: UnitDataTarget = {};
  if (o.address !== undefined) t.address = r.int(o.address, `${path}.address`, 0, 0xffffffff);
  if (o.field !== undefined) t.field = r.string(o.field, `${path}.field`, { pattern: /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/, max: 64 });
  if (o.setting !== undefined) t.setting = r.string(o.setting, `${path}.setting`, { max: 1024 });
  if (o.file !== undefined) t.file = r.string(o.file, `${path}.file`, { pattern: /^\/[^\0]{1,254}$/, max: 255 });
  if (t.address === undefined && t.setting === undefined && t.file === undefined) throw r.fail(path, 'names no destination (address, setting or file)');
  return t;
}

function readLayout(r: Reader, v: unknown, path: string): FlashLayout {
  const o = r.object(v, path, ['mcuboot', 'slot0', 'slot1']);
  const region = (x: unknown, q: string): FlashRegion => {
    const w = r.object(x, q, ['address', 'size']);
    const address = r.int(w.address, `${q}.address`, 0, 0xffffffff);
    const size = r.int(w.size, `${q}.size`, 1, 0x100000000 - address);
    return { address, size };
  };
  const layout: FlashLayout = { mcuboot: region(o.mcuboot, `${path}.mcuboot`), slot0: region(o.slot0, `${path}.slot0`) };
  if (o.slot1 !== undefined) layout.slot1 = region(o.slot1, `${path}.slot1`);
  const all = [layout.mcuboot, layout.slot0, ...(layout.slot1 ? [layout.slot1] : [])].sort((a, b) => a.address - b.address);
  for (let i = 1; i < all.length; i++) if (all[i - 1]!.address + all[i - 1]!.size > all[i]!.address) throw r.fail(path, 'has overlapping regions');
  return layout;
}

function readOptionBytes(r: Reader, v: unknown, path: string): OptionBytePolicy {
  const o = r.object(v, path, ['rdpLevel', 'allowLevel2', 'wrp', 'borLevel', 'userBits']);
  const rdpLevel = r.int(o.rdpLevel, `${path}.rdpLevel`, 0, 2) as 0 | 1 | 2;
  const policy: OptionBytePolicy = {
    rdpLevel,
    wrp: r.array(o.wrp, `${path}.wrp`, (x, q) => {
      const w = r.object(x, q, ['start', 'end']);
      const start = r.int(w.start, `${q}.start`, 0, 0xffffffff);
      const end = r.int(w.end, `${q}.end`, 1, 0x100000000);
      if (end <= start) throw r.fail(q, 'must have end > start');
      return { start, end };
    }),
  };
  if (o.allowLevel2 !== undefined) {
    if (o.allowLevel2 !== true) throw r.fail(`${path}.allowLevel2`, 'may only be true (omit it otherwise)');
    policy.allowLevel2 = true;
  }
  if (rdpLevel === 2 && !policy.allowLevel2)
    throw r.fail(`${path}.rdpLevel`, 'is 2 (permanent, irreversible) without "allowLevel2": true', 'bundle.rdp2-not-allowed');
  if (o.borLevel !== undefined) policy.borLevel = r.int(o.borLevel, `${path}.borLevel`, 0, 4);
  if (o.userBits !== undefined) {
    const ub = o.userBits;
    if (ub === null || typeof ub !== 'object' || Array.isArray(ub)) throw r.fail(`${path}.userBits`, 'must be an object of name: true/false');
    policy.userBits = {};
    for (const [k, val] of Object.entries(ub)) {
      r.string(k, `${path}.userBits key`, { pattern: /^[A-Za-z][A-Za-z0-9_]{0,31}$/ });
      policy.userBits[k] = r.bool(val, `${path}.userBits.${k}`);
    }
  }
  return policy;
}
