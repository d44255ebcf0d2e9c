/**
 * A small runtime schema library for the UI <-> core contract. Every message
 * that crosses the boundary (Electron IPC or the server's WebSocket) is parsed
 * with one of these before anything acts on it; the TypeScript types of the
 * contract are inferred from the same schemas, so types and checks cannot drift.
 *
 * Pure TypeScript with no Node imports: the renderer bundles it too.
 * Objects are strict (unknown keys are refused) and sizes are bounded.
 */
import { UnbrickError } from './errors.ts';

export interface Schema<T> {
  /** Short description used in error messages ("string", "object"). */
  readonly describe: string;
  /** Returns the value typed, or throws `api.invalid-message` naming the path. */
  parse(value: unknown, path?: string): T;
  readonly optional?: boolean;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

function fail(path: string, expected: string, value: unknown): never {
  const got = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  throw new UnbrickError('input', 'api.invalid-message', `Invalid message: ${path || 'value'} must be ${expected} (got ${got}).`, {
    path: path || '$',
  });
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

export function arr<T>(item: Schema<T>, opts: { max?: number } = {}): Schema<T[]> {
  const max = opts.max ?? 10_000;
  return {
    describe: `${item.describe}[]`,
    parse(v, path = '') {
      if (!Array.isArray(v)) fail(path, 'an array', v);
      if (v.length > max) fail(path, `an array of at most ${max} items`, v);
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
      for (const key of Object.keys(v)) {
        if (!Object.hasOwn(shape, key)) {
          throw new UnbrickError('input', 'api.invalid-message', `Invalid message: unexpected field ${path ? `${path}.` : ''}${key}.`, {
            path: `${path || '$'}.${key}`,
          });
        }
      }
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
export function record<T>(value: Schema<T>, opts: { max?: number } = {}): Schema<Record<string, T>> {
  const max = opts.max ?? 1000;
  return {
    describe: `record<${value.describe}>`,
    parse(v, path = '') {
      if (!isPlainObject(v)) fail(path, 'an object', v);
      const entries = Object.entries(v);
      if (entries.length > max) fail(path, `an object of at most ${max} keys`, v);
      const out: Record<string, T> = {};
      for (const [k, x] of entries) setOwn(out, k, value.parse(x, `${path}.${k}`));
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
