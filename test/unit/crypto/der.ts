/**
 * Test-only DER and PEM builders, for hand-made keys and signatures (odd encodings the
 * production code must read the way OpenSSL or bootutil does). src/ has no ASN.1 writer:
 * keys are read and written by node:crypto.
 */
import type { KeyObject } from 'node:crypto';

export function der(tag: number, ...content: Uint8Array[]): Uint8Array {
  const len = content.reduce((n, c) => n + c.length, 0);
  const lenBytes: number[] = [];
  if (len < 0x80) lenBytes.push(len);
  else {
    for (let v = len; v > 0; v = Math.floor(v / 256)) lenBytes.unshift(v & 0xff);
    lenBytes.unshift(0x80 | lenBytes.length);
  }
  return Uint8Array.from([tag, ...lenBytes, ...content.flatMap((c) => [...c])]);
}

export const derSeq = (...c: Uint8Array[]) => der(0x30, ...c);

/** INTEGER from an unsigned big-endian magnitude (adds the sign byte when needed). */
export function derUInt(magnitude: Uint8Array | number): Uint8Array {
  let m = typeof magnitude === 'number' ? Uint8Array.of(magnitude) : magnitude;
  let i = 0;
  while (i < m.length - 1 && m[i] === 0) i++;
  m = m.subarray(i);
  return m[0]! & 0x80 ? der(0x02, Uint8Array.of(0), m) : der(0x02, m);
}

export function bytesToBigInt(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

export function bigIntToBytes(v: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (v !== 0n) throw new Error('integer does not fit');
  return out;
}

export function encodePem(label: string, bytes: Uint8Array): string {
  const lines = Buffer.from(bytes).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** The private scalar (EC) or seed (Ed25519/X25519) of a KeyObject, for reference implementations. */
export function secretOf(k: { privateKey?: KeyObject }): Uint8Array {
  return new Uint8Array(Buffer.from(k.privateKey!.export({ format: 'jwk' }).d!, 'base64url'));
}
