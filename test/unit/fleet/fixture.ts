/**
 * Fleet release fixtures made at test time by the real tools: Mender
 * artifacts by Debian's `mender-artifact`, keys, certificates and FreeRTOS
 * OTA code-signing signatures by `openssl`. Nothing is checked in.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const run = (cmd: string, args: string[], cwd?: string): string => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

export const have = (cmd: string): boolean => {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    try {
      execFileSync(cmd, ['version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  }
};

/** RSA (PKCS#1, what mender-artifact reads) and ECDSA P-256 Mender signing keys, with their public halves. */
export function menderKeys(dir: string): { rsa: string; rsaPub: string; ec: string; ecPub: string; otherRsaPub: string } {
  const p = (n: string) => join(dir, n);
  run('openssl', ['genrsa', '-traditional', '-out', p('mender-rsa.pem'), '2048']);
  run('openssl', ['rsa', '-in', p('mender-rsa.pem'), '-pubout', '-out', p('mender-rsa.pub.pem')]);
  run('openssl', ['ecparam', '-genkey', '-name', 'prime256v1', '-noout', '-out', p('mender-ec.pem')]);
  run('openssl', ['ec', '-in', p('mender-ec.pem'), '-pubout', '-out', p('mender-ec.pub.pem')]);
  run('openssl', ['genrsa', '-traditional', '-out', p('other-rsa.pem'), '2048']);
  run('openssl', ['rsa', '-in', p('other-rsa.pem'), '-pubout', '-out', p('other-rsa.pub.pem')]);
  return { rsa: p('mender-rsa.pem'), rsaPub: p('mender-rsa.pub.pem'), ec: p('mender-ec.pem'), ecPub: p('mender-ec.pub.pem'), otherRsaPub: p('other-rsa.pub.pem') };
}

/** A module-image artifact holding `payload` (an MCUboot image), as a fleet would publish it. */
export function menderArtifact(dir: string, out: string, payload: string, o: { name: string; deviceTypes: string[]; version?: string; key?: string; compression?: string }): string {
  const args = ['write', 'module-image', '-T', 'mcuboot', '-n', o.name, '-o', join(dir, out), '-f', payload];
  if (o.compression) args.push('--compression', o.compression);
  for (const t of o.deviceTypes) args.push('-t', t);
  if (o.version) args.push('--provides', `rootfs-image.version:${o.version}`);
  if (o.key) args.push('-k', o.key);
  run('mender-artifact', args, dir);
  return join(dir, out);
}

/**
 * Rebuilds an artifact's outer tar with one entry changed (same order, so
 * only the change differs): `edit` gets the unpacked directory.
 */
export function tamperArtifact(dir: string, artifact: string, out: string, edit: (unpacked: string) => void): string {
  const work = join(dir, `unpack-${out}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work);
  const order = run('tar', ['tf', artifact]).trim().split('\n');
  run('tar', ['xf', artifact, '-C', work]);
  edit(work);
  run('tar', ['cf', join(dir, out), '--format=ustar', '-C', work, ...order]);
  return join(dir, out);
}

/** Replaces the payload file inside data/0000.tar.gz with other bytes of the same name. */
export function replacePayload(unpacked: string, fileName: string, bytes: Uint8Array): void {
  const inner = join(unpacked, 'inner');
  mkdirSync(inner, { recursive: true });
  writeFileSync(join(inner, fileName), bytes);
  run('tar', ['czf', join(unpacked, 'data/0000.tar.gz'), '--format=ustar', '-C', inner, fileName]);
  rmSync(inner, { recursive: true, force: true });
}

/** A code-signing key and self-signed certificate, as the fleet's signing profile holds them. */
export function codeSigning(dir: string, name: string, o: { curve?: string } = {}): { key: string; cert: string } {
  const key = join(dir, `${name}.key.pem`);
  const cert = join(dir, `${name}.crt.pem`);
  run('openssl', ['ecparam', '-genkey', '-name', o.curve ?? 'prime256v1', '-noout', '-out', key]);
  run('openssl', ['req', '-x509', '-new', '-key', key, '-subj', `/CN=${name}`, '-days', '365', '-out', cert]);
  return { key, cert };
}

/** sig-sha256-ecdsa: base64 of openssl's DER ECDSA signature over SHA-256 of the file. */
export function otaSignature(key: string, file: string): string {
  return execFileSync('openssl', ['dgst', '-sha256', '-sign', key, file]).toString('base64');
}

export const sha256Base64 = (b: Uint8Array): string => createHash('sha256').update(b).digest('base64');
export const fileBytes = (p: string): Uint8Array => new Uint8Array(readFileSync(p));
