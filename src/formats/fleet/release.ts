/**
 * What every fleet importer hands back: the release's files (hash-checked
 * against the source system's own manifest), its version and hardware
 * targets in that system's terms, and its provenance for the bundle.
 * Also the trusted keys and certificates the user gives, read here so every
 * importer names them the same way (SHA-256 of the SubjectPublicKeyInfo or
 * of the certificate DER).
 */
import { createHash, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { checkError, inputError, usageError } from '../../core/errors.ts';
import type { Provenance } from '../bundle/metadata.ts';

export interface FleetFile {
  /** File name as the source system names it (basename, no directories). */
  name: string;
  data: Uint8Array;
  /** SHA-256, lower-case hex. */
  sha256: string;
}

export interface FleetRelease {
  /** The version the source system gives the release (e.g. Mender artifact name or `*.version` provides). */
  version?: string;
  files: FleetFile[];
  provenance: Provenance;
}

export const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export interface TrustedKey {
  key: KeyObject;
  /** SHA-256 of the SubjectPublicKeyInfo DER, hex. */
  fingerprint: string;
  /** "rsa-2048", "ecdsa-p256", ... */
  type: string;
  name?: string;
}

/** A public (or private: only its public half is kept) key in PEM, as the user trusts it. */
export function readTrustedKey(pem: string, name: string): TrustedKey {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (e) {
    throw usageError('fleet.key-invalid', `${name} is not a readable PEM public key (${(e as Error).message}).`);
  }
  const der = key.export({ type: 'spki', format: 'der' });
  const d = key.asymmetricKeyDetails ?? {};
  const type = key.asymmetricKeyType === 'rsa' ? `rsa-${d.modulusLength ?? '?'}` : key.asymmetricKeyType === 'ec' ? `ecdsa-${String(d.namedCurve ?? '?').replace('prime256v1', 'p256')}` : String(key.asymmetricKeyType);
  return { key, fingerprint: sha256Hex(new Uint8Array(der)), type, name };
}

export interface TrustedCertificate {
  cert: X509Certificate;
  fingerprint: string;
  subject: string;
}

/** An X.509 certificate in PEM (the code-signing certificate the user trusts). */
export function readTrustedCertificate(pem: string, name: string): TrustedCertificate {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (e) {
    throw usageError('fleet.certificate-invalid', `${name} is not a readable X.509 certificate in PEM (${(e as Error).message}).`);
  }
  return { cert, fingerprint: sha256Hex(new Uint8Array(cert.raw)), subject: cert.subject.replace(/\n/g, ', ') };
}

/**
 * The bundle's hardware revisions for a release: each target the source
 * system names (Mender device type, ADU compatibility set, `*` for a
 * source that names none) is looked up in the vendor's map; a release
 * none of whose targets the map knows is refused: it was made for other
 * hardware.
 */
export function mapTargets(prov: Provenance, hardware: Record<string, string>): string[] {
  const targets = prov.targets.length ? prov.targets : ['*'];
  const revisions = [...new Set(targets.flatMap((t) => (hardware[t] !== undefined ? [hardware[t]] : [])))];
  if (!revisions.length)
    throw checkError(
      'fleet.device-type-mismatch',
      `The ${prov.system} release targets ${targets.map((t) => `"${t}"`).join(', ')}; this product's hardware map knows only ${Object.keys(hardware).map((t) => `"${t}"`).join(', ') || 'nothing'}. It was made for other hardware; refusing it.`,
      { targets, known: Object.keys(hardware) },
    );
  return revisions;
}

export const requireText = (b: Uint8Array, what: string, code: string): string => {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    throw inputError(code, `${what} is not UTF-8 text.`);
  }
};
