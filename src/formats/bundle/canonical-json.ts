/**
 * RFC 8785 JSON Canonicalization Scheme (JCS), restricted to the values bundle
 * metadata uses: objects, arrays, strings, booleans, null and safe integers.
 * With integers only, JCS number formatting equals ECMAScript's, and JCS string
 * escaping equals JSON.stringify's; object keys sort by UTF-16 code units,
 * which is what Array.prototype.sort does by default.
 *
 * Signed bytes must already be canonical: `parseCanonical` re-serialises what it
 * parsed and rejects any difference (whitespace, key order, duplicate keys,
 * escapes, floats), so exactly one byte string stands for each metadata value.
 */
import { canonicalJson } from '../../core/canonical-json.ts';
import { inputError } from '../../core/errors.ts';
import type { Json } from '../../core/schema.ts';

/** The one JSON value type (core/schema.ts), here for the bundle code that reads metadata. */
export type { Json };

/** Bundle metadata holds integers only: a float is refused, not rounded. */
export const canonicalize = (value: unknown): string => canonicalJson(value, { integersOnly: true });

export const canonicalBytes = (value: unknown): Uint8Array => new TextEncoder().encode(canonicalize(value));

/** Parses UTF-8 bytes that must be RFC 8785 canonical; `code` names the refusal. */
export function parseCanonical(bytes: Uint8Array, what: string, code: string): Json {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw inputError(code, `${what} is not valid UTF-8 text.`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw inputError(code, `${what} is not valid JSON: ${(e as Error).message}.`);
  }
  let again: string;
  try {
    again = canonicalize(value);
  } catch (e) {
    throw inputError(code, `${what} is not canonical JSON: ${(e as Error).message}.`);
  }
  if (again !== text)
    throw inputError(code, `${what} is not in RFC 8785 canonical form (key order, spacing, escapes or duplicate keys differ), so it cannot be what was signed.`);
  return value as Json;
}
