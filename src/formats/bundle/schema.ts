/**
 * A small strict reader for signed JSON documents (procedural, over the same
 * rules and "did you mean" as src/core/schema.ts, which the other inputs use): every field is checked for
 * type and range, and any field the reader does not know is refused. Unknown
 * fields are treated as critical (a signer may have meant something this
 * version cannot honour); only the `extensions` object may carry fields that
 * are skipped, and only when not named in `critical`.
 */
import { inputError, type UnbrickError } from '../../core/errors.ts';
import { nearestKey } from '../../core/schema.ts';

export class Reader {
  readonly what: string;
  readonly code: string;
  constructor(what: string, code: string) {
    this.what = what;
    this.code = code;
  }

  fail(path: string, problem: string, code = this.code): UnbrickError {
    return inputError(code, `${this.what}: ${path} ${problem}.`, { field: path });
  }

  object(v: unknown, path: string, known: readonly string[]): Record<string, unknown> {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw this.fail(path, 'must be an object');
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o))
      if (!known.includes(k)) {
        const near = nearestKey(k, known);
        throw inputError(
          `${this.code.split('.')[0]}.unknown-critical-field`,
          `${this.what}: ${path}.${k} is not a field this version of Unbrick understands${near ? ` (did you mean "${near}"?)` : ''}; refusing rather than ignoring it.`,
          { field: `${path}.${k}`, ...(near ? { suggestion: `${path}.${near}` } : {}) },
        );
      }
    return o;
  }

  string(v: unknown, path: string, opts: { pattern?: RegExp; max?: number; min?: number } = {}): string {
    if (typeof v !== 'string') throw this.fail(path, 'must be a string');
    if (v.length > (opts.max ?? 256)) throw this.fail(path, `is longer than ${opts.max ?? 256} characters`);
    if (v.length < (opts.min ?? 1)) throw this.fail(path, 'must not be empty');
    if (opts.pattern && !opts.pattern.test(v)) throw this.fail(path, `has an invalid format ("${v.slice(0, 80)}")`);
    return v;
  }

  int(v: unknown, path: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw this.fail(path, 'must be an integer');
    if (v < min || v > max) throw this.fail(path, `must be between ${min} and ${max}`);
    return v;
  }

  bool(v: unknown, path: string): boolean {
    if (typeof v !== 'boolean') throw this.fail(path, 'must be true or false');
    return v;
  }

  oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[]): T {
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw this.fail(path, `must be one of ${allowed.join(', ')}`);
    return v as T;
  }

  array<T>(v: unknown, path: string, item: (x: unknown, p: string) => T, opts: { min?: number; max?: number } = {}): T[] {
    if (!Array.isArray(v)) throw this.fail(path, 'must be a list');
    if (v.length < (opts.min ?? 0)) throw this.fail(path, `needs at least ${opts.min} entries`);
    if (v.length > (opts.max ?? 64)) throw this.fail(path, `has more than ${opts.max ?? 64} entries`);
    return v.map((x, i) => item(x, `${path}[${i}]`));
  }

  hex(v: unknown, path: string, bytes: number): string {
    return this.string(v, path, { pattern: new RegExp(`^[0-9a-f]{${bytes * 2}}$`), max: bytes * 2 });
  }

  time(v: unknown, path: string): string {
    const s = this.string(v, path, { pattern: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/ });
    if (Number.isNaN(Date.parse(s))) throw this.fail(path, 'is not a valid UTC time');
    return s;
  }
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** RFC 3339 UTC time at second precision, the one form metadata uses. */
export const isoSeconds = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
