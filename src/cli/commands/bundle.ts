/** `unbrick bundle …`: create, verify and inspect signed offline update bundles. */
import { basename, dirname, resolve } from 'node:path';
import { dataDir } from '../../core/paths.ts';
import { ServiceLog, type UnitIdentity } from '../../records/service-log.ts';
import { defaultOperator } from '../../app/app-core.ts';
import { inputError } from '../../core/errors.ts';
import { formatBytes } from '../../core/bytes.ts';
import { BundleArchive, METADATA_ENTRY } from '../../formats/bundle/container.ts';
import { createBundle, readSpec } from '../../formats/bundle/create.ts';
import { decodeEnvelope } from '../../formats/bundle/dsse.ts';
import { LIMITS } from '../../formats/bundle/container.ts';
import { targetKey, type BundleMetadata } from '../../formats/bundle/metadata.ts';
import { describePreconditions } from '../../formats/bundle/preconditions.ts';
import { HARDWARE_SKIPPED, type DeviceIdentity } from '../../formats/bundle/verify.ts';
import { DeviceIdentitySchema, toDeviceIdentity } from '../../formats/bundle/device-identity.ts';
import { readJsonOption } from '../json-input.ts';
import { checkBundle } from '../../trust/check.ts';
import { TrustStore } from '../../trust/store.ts';
import { type CommandGroup, requirePositional, requireString, stringList, stringOpt } from '../framework.ts';
import { KEY_PASSPHRASE_OPTIONS, keyPassphrase } from '../key-passphrase.ts';
import { loadKeyFile } from './trust.ts';
import { createBundleFromFleet, provenanceLines } from '../../app/fleet-import.ts';
import { formatProductId, formatTarget, formatVersion } from '../../api/format.ts';
import { inlinePairs, plainLines } from '../human.ts';

/** --device-id: a JSON file or inline JSON ({vendorId, classId, hardwareRevision, mcuProductId, installed}), parsed strictly. */
function readDeviceId(v: string | undefined): DeviceIdentity | undefined {
  if (v === undefined) return undefined;
  return toDeviceIdentity(readJsonOption(v, DeviceIdentitySchema, { option: 'device-id', code: 'bundle.bad-device-id', example: '{"hardwareRevision":"B"}' }));
}

/** The user's choice to skip a hardware check goes on the tamper-evident record. */
function recordSkippedHardwareCheck(path: string, md: BundleMetadata, device: DeviceIdentity, note: string): void {
  const unit: UnitIdentity = { id: device.vendorId && device.classId ? `${device.vendorId}/${device.classId}` : 'unidentified' };
  ServiceLog.inDir(dataDir()).append({
    unit,
    action: 'bundle.verify',
    operator: defaultOperator(),
    outcome: 'info',
    summary: `${note} Bundle ${basename(path)} (${md.product.name} ${formatVersion(md.version)}, sequence ${md.sequence}).`,
    details: { hardwareCheck: 'skipped', bundle: path, hardwareRevisions: md.product.hardwareRevisions, ...(device.hardwareRevision ? { hardwareRevision: device.hardwareRevision } : {}) },
  });
}

function summary(md: BundleMetadata): string[] {
  return [
    `${md.kind} bundle for ${md.product.name} (hardware ${md.product.hardwareRevisions.join(', ')}${md.product.mcuProductId !== undefined ? `, MCU ${formatProductId(md.product.mcuProductId)}` : ''})`,
    `  version ${formatVersion(md.version)}, sequence ${md.sequence}, created ${md.created}, expires ${md.expires}`,
    ...md.payloads.map(
      (p) => `  ${p.name}: ${p.role} -> ${formatTarget(targetKey(p.target))}, ${formatBytes(p.size)}${p.version ? `, version ${formatVersion(p.version)}` : ''}${p.securityCounter !== undefined ? `, security counter ${p.securityCounter}` : ''}`,
    ),
    ...(md.provisioning ? [`  option bytes: ${inlinePairs(md.provisioning.optionBytes)}`] : []),
    ...(md.preconditions ? [`  preconditions: ${describePreconditions(md.preconditions).join('; ')}`] : []),
    ...(md.releaseNotes ? ['  notes: ' + md.releaseNotes.split('\n')[0]] : []),
    ...(md.provenance ? provenanceLines(md.provenance) : []),
  ];
}

export const bundleGroup: CommandGroup = {
  name: 'bundle',
  summary: 'create, verify and inspect signed offline update bundles',
  commands: [
    {
      name: 'create',
      summary: 'build a bundle from a spec and sign it with release keys',
      args: 'SPEC.json',
      description:
        'The spec format is in docs/bundle-format.md. MCUboot payloads are verified with their image key before they are bundled. ' +
        'With --from, SPEC.json is an import spec and the release comes from a fleet OTA system, checked with its own proof first (docs/fleet.md).',
      options: {
        key: { type: 'string', multiple: true, value: 'PEM', description: 'release private key to sign with (Ed25519 or ECDSA P-256)' },
        output: { type: 'string', short: 'o', value: 'FILE', description: 'bundle file to write (.ubundle)' },
        ...KEY_PASSPHRASE_OPTIONS,
        from: { type: 'string', value: 'SYSTEM:FILE', description: 'import a fleet release: mender:ARTIFACT.mender, aws-ota:JOBDOC.json or adu:IMPORT-MANIFEST.json' },
        'mender-key': { type: 'string', multiple: true, value: 'PEM', description: 'Mender verification public key the artifact must be signed with (RSA or ECDSA P-256)' },
        'allow-unsigned': { type: 'boolean', description: 'accept an unsigned Mender artifact without --mender-key (checksums only; recorded in the provenance)' },
        'aws-cert': { type: 'string', value: 'PEM', description: 'the code-signing certificate the AWS OTA files must be signed with' },
        'aws-file': { type: 'string', multiple: true, value: '[ID=]PATH', description: 'an OTA file of the job (its fileid, then its path)' },
        'aws-job-id': { type: 'string', value: 'ID', description: 'the AWS IoT job id, when the job document does not carry it' },
      },
      async run(ctx) {
        const specPath = requirePositional(ctx, 0, 'SPEC.json');
        const out = requireString(ctx, 'output');
        const passphrase = keyPassphrase(ctx);
        const keys = stringList(ctx, 'key').map((p) => loadKeyFile(p, passphrase));
        const from = stringOpt(ctx, 'from');
        if (from) {
          const f = await createBundleFromFleet({
            from,
            specPath,
            releaseKeys: keys,
            out,
            menderKeys: stringList(ctx, 'mender-key'),
            allowUnsigned: ctx.values['allow-unsigned'] === true,
            ...(stringOpt(ctx, 'aws-cert') ? { awsCertificate: stringOpt(ctx, 'aws-cert') } : {}),
            awsFiles: stringList(ctx, 'aws-file'),
            ...(stringOpt(ctx, 'aws-job-id') ? { awsJobId: stringOpt(ctx, 'aws-job-id') } : {}),
          });
          return {
            data: { path: f.path, bytes: f.bytes, signers: f.signers, metadata: f.metadata, provenance: f.metadata.provenance },
            human: [`Wrote ${f.path} (${formatBytes(f.bytes)}) from a ${f.release.provenance.system} release, signed by ${f.signers.length} key(s).`, ...summary(f.metadata)],
          };
        }
        const r = await createBundle(readSpec(specPath), dirname(resolve(specPath)), keys, out);
        return { data: { path: r.path, bytes: r.bytes, signers: r.signers, metadata: r.metadata }, human: [`Wrote ${r.path} (${formatBytes(r.bytes)}), signed by ${r.signers.length} key(s).`, ...summary(r.metadata)] };
      },
    },
    {
      name: 'verify',
      summary: 'verify a bundle offline against the trust store, anti-rollback state and a device',
      args: 'FILE',
      options: {
        'device-id': { type: 'string', value: 'JSON|FILE', description: 'the unit: {"vendorId","classId","hardwareRevision","mcuProductId","installed":{"smp:image0":{"version":"1.2.0"}}}' },
        record: { type: 'boolean', description: 'record the bundle as accepted (raises the anti-rollback floor); use after flashing' },
        'skip-hardware-check': {
          type: 'boolean',
          description: 'accept a --device-id without the hardware revision or MCU the bundle targets (recorded in the service log)',
        },
      },
      async run(ctx) {
        const path = requirePositional(ctx, 0, 'FILE');
        const notes: string[] = [];
        const skipHardwareCheck = ctx.values['skip-hardware-check'] === true;
        const device = readDeviceId(stringOpt(ctx, 'device-id'));
        const r = await checkBundle(path, {
          device,
          skipHardwareCheck,
          record: ctx.values.record === true,
          signal: ctx.signal,
          log: (l) => {
            notes.push(l);
            ctx.warn(`warning: ${l}`);
          },
        });
        const md = r.report.metadata;
        const skipped = r.report.notes.find((n) => n.startsWith(HARDWARE_SKIPPED));
        if (skipped && device) recordSkippedHardwareCheck(path, md, device, skipped);
        return {
          data: { ok: true, path, vendor: r.report.vendorName, rootVersion: r.report.rootVersion, clock: r.clock, recorded: r.recorded, signatures: r.report.signatures, payloads: r.report.payloads, notes: r.report.notes, metadata: md, ...(md.provenance ? { provenance: md.provenance } : {}) },
          human: [
            `OK: genuine ${md.kind} bundle from ${r.report.vendorName}, signed by ${r.report.signatures.filter((s) => s.status === 'valid').length} trusted release key(s).`,
            ...summary(md),
            ...r.report.payloads.map((p) => `  ${p.name}: SHA-256 ${p.sha256}${p.imageHash ? `, MCUboot image valid (key ${p.imageKey!.slice(0, 16)}…)` : ''}`),
            ...r.report.notes.map((n) => `  note: ${n}`),
            ...(r.recorded ? ['  recorded as accepted: older releases of this product are refused from now on.'] : []),
          ],
        };
      },
    },
    {
      name: 'inspect',
      summary: 'show what a bundle claims (signatures checked only if a trust store exists)',
      args: 'FILE',
      async run(ctx) {
        const path = requirePositional(ctx, 0, 'FILE');
        const archive = await BundleArchive.open(path);
        try {
          if (!archive.entries.has(METADATA_ENTRY)) throw inputError('bundle.metadata-missing', `${path} has no ${METADATA_ENTRY}.`);
          const env = decodeEnvelope(await archive.read(METADATA_ENTRY), 'Bundle metadata envelope', 'bundle', LIMITS.maxMetadataBytes);
          let claimed: unknown;
          try {
            claimed = JSON.parse(Buffer.from(env.payload).toString('utf8'));
          } catch {
            throw inputError('bundle.metadata-invalid', 'The metadata is not readable JSON.');
          }
          let verdict: { verified: boolean; code?: string; message?: string } = { verified: false, message: 'no trust store on this laptop' };
          if (TrustStore.exists()) {
            try {
              await checkBundle(path, { signal: ctx.signal });
              verdict = { verified: true };
            } catch (e) {
              const u = e as { code?: string; message: string };
              verdict = { verified: false, code: u.code, message: u.message };
            }
          }
          const entries = [...archive.entries.values()].map((e) => ({ name: e.name, size: e.size, compressedSize: e.compressedSize, method: e.method }));
          const provenance = (claimed as { provenance?: unknown } | null)?.provenance;
          return {
            data: { path, bytes: archive.fileSize, entries, signatures: env.signatures.map((s) => ({ keyid: s.keyid })), claimed, verdict, ...(provenance ? { provenance } : {}) },
            human: [
              verdict.verified ? 'VERIFIED against this laptop\'s trust store.' : `NOT VERIFIED (${verdict.message}). What follows is only what the file claims.`,
              'Claimed metadata:',
              ...plainLines(claimed, '  ', 1),
              'Entries:',
              ...entries.map((e) => `  ${e.name}  ${formatBytes(e.size)} (${e.method})`),
              'Signed by key ids:',
              ...env.signatures.map((s) => `  ${s.keyid}`),
            ],
          };
        } finally {
          archive.close();
        }
      },
    },
  ],
};
