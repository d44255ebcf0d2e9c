/**
 * Canonical JSON, RFC 8785 (JCS): object keys sorted by UTF-16 code units, no
 * whitespace, strings escaped as JSON.stringify does and numbers written as
 * ECMAScript writes them (which is what JCS specifies). The same value always
 * gives the same bytes, so hashes and signatures over it are stable: the
 * service log chains entries with it, bundles sign metadata with it.
 * `integersOnly` refuses any number that is not a safe integer (bundle
 * metadata, where a float has no business).
 */
export function canonicalJson(value: unknown, opts: { integersOnly?: boolean } = {}): string {
  const walk = (v: unknown): string => {
    if (v === null) return 'null';
    switch (typeof v) {
      case 'boolean':
      case 'string':
        return JSON.stringify(v);
      case 'number':
        if (opts.integersOnly ? !Number.isSafeInteger(v) : !Number.isFinite(v))
          throw new TypeError(opts.integersOnly ? `canonical JSON allows only safe integers here, got ${v}` : 'canonical JSON cannot hold NaN or Infinity');
        return JSON.stringify(v);
      case 'object': {
        if (Array.isArray(v)) return `[${v.map(walk).join(',')}]`;
        const obj = v as Record<string, unknown>;
        const keys = Object.keys(obj)
          .filter((k) => obj[k] !== undefined)
          .sort();
        return `{${keys.map((k) => `${JSON.stringify(k)}:${walk(obj[k])}`).join(',')}}`;
      }
      default:
        throw new TypeError(`canonical JSON cannot hold a ${typeof v}`);
    }
  };
  return walk(value);
}
