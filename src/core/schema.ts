/**
 * The one runtime schema mechanism for structured input: contract messages
 * (Electron IPC, the server's WebSocket), CLI JSON options and files, bundle
 * specs, station batch and config, per-unit data, and state files on disk.
 * TypeScript types are inferred from the same schemas, so types and checks
 * cannot drift.
 *
 * Pure TypeScript with no Node imports: the renderer bundles it too.
 * Objects are strict (unknown keys are refused, naming the path and the
 * nearest known key), sizes are bounded and types exact.
 * `parseAs` re-labels a failure for its input ("dev.json: ...") with the
 * caller's error code.
 */
import { UnbrickError } from './errors.ts';

export interface Schema<T> {
  /** Short description used in error messages ("string", "object"). */
  readonly describe: string;
  /** Returns the value typed, or throws a `SchemaError` naming the path. */
  parse(value: unknown, path?: string): T;
  readonly optional?: boolean;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

/** The code every schema failure carries until `parseAs` gives it the input's own. */
export const SCHEMA_INVALID = 'input.invalid';

/** A schema failure: `reason` is the sentence without the input's name, `details.path` the field. */
export class SchemaError extends UnbrickError {
  readonly reason: string;
  constructor(reason: string, details: { path: string; suggestion?: string }) {
    super('input', SCHEMA_INVALID, `Invalid input: ${reason}`, details);
    this.name = 'SchemaError';
    this.reason = reason;
  }
}

function fail(path: string, expected: string, value: unknown): never {
  const got = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  throw new SchemaError(`${path || 'value'} must be ${expected} (got ${got}).`, { path: path || '$' });
}

/**
 * Parses `value` with `schema`; a failure is re-thrown as `code` (default
 * `input.invalid`) with a message naming the input: `dev.json: unknown field ...`.
 */
export function parseAs<T>(schema: Schema<T>, value: unknown, ctx: { what: string; code?: string; path?: string }): T {
  try {
    return schema.parse(value, ctx.path ?? '');
  } catch (e) {
    if (!(e instanceof SchemaError)) throw e;
    throw new UnbrickError('input', ctx.code ?? SCHEMA_INVALID, `${ctx.what}: ${e.reason}`, { ...e.details, input: ctx.what });
  }
}

/** Parses JSON text (bounded in size) and then the schema; malformed JSON is `ctx.code` too (default `input.invalid-json`). */
export function parseJsonAs<T>(schema: Schema<T>, text: string, ctx: { what: string; code?: string; maxChars?: number }): T {
  const max = ctx.maxChars ?? 16 << 20;
  if (text.length > max) throw new UnbrickError('input', ctx.code ?? SCHEMA_INVALID, `${ctx.what}: larger than ${max} characters; refusing to read it.`, { input: ctx.what });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UnbrickError('input', ctx.code ?? 'input.invalid-json', `${ctx.what}: not valid JSON (${e instanceof Error ? e.message : String(e)}).`, { input: ctx.what });
  }
  return parseAs(schema, value, ctx);
}

/** Optimal-string-alignment distance (Levenshtein plus adjacent swaps): "did you mean" for typed keys. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The known key an unknown one most likely meant: within a third of the
 * longer name's length in edits, or an abbreviation (a prefix of 3+ letters,
 * case ignored: "hardwareRev" -> "hardwareRevision").
 */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  if (key.length > 200) return undefined; // no quadratic work for hostile keys
  let best: string | undefined;
  let bestScore = Infinity;
  const lower = key.toLowerCase();
  for (const k of known) {
    const kl = k.toLowerCase();
    const prefix = lower.length >= 3 && kl.length >= 3 && (kl.startsWith(lower) || lower.startsWith(kl));
    const dist = editDistance(lower, kl);
    const limit = Math.floor(Math.max(key.length, k.length) / 3);
    if (!prefix && dist > limit) continue;
    const score = prefix ? Math.min(dist, 0.5) : dist;
    if (score < bestScore) {
      best = k;
      bestScore = score;
    }
  }
  return best;
}

function unknownKey(path: string, key: string, known: readonly string[]): never {
  const at = path ? `${path}.${key}` : key;
  const suggestion = nearestKey(key, known);
  const shown = key.length > 80 ? `${key.slice(0, 80)}...` : key;
  throw new SchemaError(
    `unknown field "${path ? `${path}.` : ''}${shown}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; known fields: ${known.join(', ') || 'none'}.`,
    { path: at, ...(suggestion ? { suggestion: path ? `${path}.${suggestion}` : suggestion } : {}) },
  );
}

const MAX_STRING = 1 << 20; // 1 MiB: reports travel as strings.

export function str(opts: { max?: number; min?: number; pattern?: RegExp } = {}): Schema<string> {
  const max = opts.max ?? MAX_STRING;
  return {
    describe: 'string',
    parse(v, path = '') {
      if (typeof v !== 'string') fail(path, 'a string', v);
      if (v.length > max) fail(path, `a string of at most ${max} characters`, v);
      if (opts.min !== undefined && v.length < opts.min) fail(path, `a string of at least ${opts.min} characters`, v);
      if (opts.pattern && !opts.pattern.test(v)) fail(path, `a string matching ${String(opts.pattern)}`, v);
      return v;
    },
  };
}

export function num(opts: { int?: boolean; min?: number; max?: number } = {}): Schema<number> {
  return {
    describe: 'number',
    parse(v, path = '') {
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, 'a finite number', v);
      if (opts.int && !Number.isSafeInteger(v)) fail(path, 'an integer', v);
      if (opts.min !== undefined && v < opts.min) fail(path, `a number >= ${opts.min}`, v);
      if (opts.max !== undefined && v > opts.max) fail(path, `a number <= ${opts.max}`, v);
      return v;
    },
  };
}

export function bool(): Schema<boolean> {
  return {
    describe: 'boolean',
    parse(v, path = '') {
      if (typeof v !== 'boolean') fail(path, 'true or false', v);
      return v;
    },
  };
}

export function literal<const L extends string | number | boolean>(value: L): Schema<L> {
  return {
    describe: JSON.stringify(value),
    parse(v, path = '') {
      if (v !== value) fail(path, JSON.stringify(value), v);
      return value;
    },
  };
}

export function oneOf<const L extends readonly string[]>(values: L): Schema<L[number]> {
  const set = new Set<string>(values);
  return {
    describe: values.join(' | '),
    parse(v, path = '') {
      if (typeof v !== 'string' || !set.has(v)) fail(path, `one of ${values.join(', ')}`, v);
      return v as L[number];
    },
  };
}

export function arr<T>(item: Schema<T>, opts: { max?: number; min?: number } = {}): Schema<T[]> {
  const max = opts.max ?? 10_000;
  return {
    describe: `${item.describe}[]`,
    parse(v, path = '') {
      if (!Array.isArray(v)) fail(path, 'an array', v);
      if (v.length > max) fail(path, `an array of at most ${max} items`, v);
      if (opts.min !== undefined && v.length < opts.min) fail(path, `an array of at least ${opts.min} items`, v);
      return v.map((x, i) => item.parse(x, `${path}[${i}]`));
    },
  };
}

/** Marks an object member as optional (absent or undefined). */
export function opt<T>(inner: Schema<T>): Schema<T | undefined> {
  return {
    describe: `${inner.describe}?`,
    optional: true,
    parse(v, path = '') {
      return v === undefined ? undefined : inner.parse(v, path);
    },
  };
}

export function nullable<T>(inner: Schema<T>): Schema<T | null> {
  return {
    describe: `${inner.describe} | null`,
    parse(v, path = '') {
      return v === null ? null : inner.parse(v, path);
    },
  };
}

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends { optional: true } ? K : undefined extends Infer<S[K]> ? K : never }[keyof S];
type Flatten<T> = { [K in keyof T]: T[K] };
export type ObjectOf<S extends Shape> = Flatten<
  { [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Infer<S[K]> }
>;

/** Sets an own property even for "__proto__" (JSON.parse makes it an own key; plain assignment would set the prototype). */
function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

/** A strict object: every key must be declared; optional members may be absent. */
export function obj<S extends Shape>(shape: S): Schema<ObjectOf<S>> & { shape: S } {
  return {
    shape,
    describe: 'object',
    parse(v, path = '') {
      if (!isPlainObject(v)) fail(path, 'an object', v);
      for (const key of Object.keys(v)) if (!Object.hasOwn(shape, key)) unknownKey(path, key, Object.keys(shape));
      const out: Record<string, unknown> = {};
      for (const [key, s] of Object.entries(shape)) {
        const parsed = s.parse(v[key], path ? `${path}.${key}` : key);
        if (parsed !== undefined) out[key] = parsed;
      }
      return out as ObjectOf<S>;
    },
  };
}

/** A map with string keys and one value schema. */
export function record<T>(value: Schema<T>, opts: { max?: number; key?: Schema<string> } = {}): Schema<Record<string, T>> {
  const max = opts.max ?? 1000;
  const key = opts.key ?? str({ max: 1000 });
  return {
    describe: `record<${value.describe}>`,
    parse(v, path = '') {
      if (!isPlainObject(v)) fail(path, 'an object', v);
      const entries = Object.entries(v);
      if (entries.length > max) fail(path, `an object of at most ${max} keys`, v);
      const out: Record<string, T> = {};
      for (const [k, x] of entries) {
        key.parse(k, `${path || 'key'} "${k.slice(0, 80)}"`.trim());
        setOwn(out, k, value.parse(x, path ? `${path}.${k}` : k));
      }
      return out;
    },
  };
}

/** A union told apart by a string tag member. */
export function tagged<K extends string, const M extends Record<string, Schema<Record<string, unknown>>>>(
  key: K,
  members: M,
): Schema<Infer<M[keyof M]>> {
  return {
    describe: `tagged union on ${key}`,
    parse(v, path = '') {
      if (!isPlainObject(v)) fail(path, 'an object', v);
      const tag = v[key];
      if (typeof tag !== 'string' || !Object.hasOwn(members, tag)) fail(path ? `${path}.${key}` : key, `one of ${Object.keys(members).join(', ')}`, tag);
      return members[tag]!.parse(v, path) as Infer<M[keyof M]>;
    },
  };
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Any JSON value, bounded in depth and breadth (error details, workflow results). */
export function json(opts: { depth?: number } = {}): Schema<Json> {
  const maxDepth = opts.depth ?? 8;
  const walk = (v: unknown, path: string, depth: number): Json => {
    if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) fail(path, 'a finite number', v);
      return v;
    }
    if (depth >= maxDepth) fail(path, `JSON nested at most ${maxDepth} deep`, v);
    if (Array.isArray(v)) {
      if (v.length > 10_000) fail(path, 'an array of at most 10000 items', v);
      return v.map((x, i) => walk(x, `${path}[${i}]`, depth + 1));
    }
    if (isPlainObject(v)) {
      const out: Record<string, Json> = {};
      for (const [k, x] of Object.entries(v)) if (x !== undefined) setOwn(out, k, walk(x, `${path}.${k}`, depth + 1));
      return out;
    }
    return fail(path, 'a JSON value', v);
  };
  return { describe: 'JSON', parse: (v, path = '') => walk(v, path, 0) };
}

/** A further check on a parsed value: `check` returns what the value must be when it is not. */
export function refine<T>(inner: Schema<T>, check: (v: T) => string | undefined): Schema<T> {
  return {
    describe: inner.describe,
    ...(inner.optional ? { optional: true } : {}),
    parse(v, path = '') {
      const out = inner.parse(v, path);
      if (out === undefined) return out;
      const expected = check(out);
      if (expected !== undefined) fail(path, expected, v);
      return out;
    },
  };
}

/** The first of several schemas that accepts the value (small unions without a tag). */
export function anyOf<const S extends readonly Schema<unknown>[]>(...members: S): Schema<Infer<S[number]>> {
  const describe = members.map((m) => m.describe).join(' | ');
  return {
    describe,
    parse(v, path = '') {
      for (const m of members) {
        try {
          return m.parse(v, path) as Infer<S[number]>;
        } catch (e) {
          if (!(e instanceof SchemaError)) throw e;
        }
      }
      return fail(path, describe, v);
    },
  };
}

/** Lowercase hex of exactly `bytes` bytes. */
export const hexBytes = (bytes: number): Schema<string> => str({ max: bytes * 2, pattern: new RegExp(`^[0-9a-f]{${bytes * 2}}$`) });

/** An RFC 3339 UTC time at second precision ("2026-01-02T03:04:05Z"). */
export const utcTime = (): Schema<string> =>
  refine(str({ max: 20, pattern: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/ }), (s) => (Number.isNaN(Date.parse(s)) ? 'a valid UTC time' : undefined));
