/**
 * Human output for structured data the CLI does not know the shape of (a
 * bundle's claimed metadata, option-byte policies): indented "name: value"
 * lines instead of raw JSON, which stays for --json.
 */

const scalar = (v: unknown): string => (v === null ? '—' : typeof v === 'string' ? v : String(v));
const isScalar = (v: unknown) => v === null || typeof v !== 'object';

/** Nested objects as indented lines; lists of plain values joined by commas; lists of objects as "-" items. */
export function plainLines(value: unknown, indent = '  ', depth = 0): string[] {
  const pad = indent.repeat(depth);
  if (depth > 12) return [`${pad}…`];
  if (isScalar(value)) return [`${pad}${scalar(value)}`];
  if (Array.isArray(value)) {
    if (value.every(isScalar)) return [`${pad}${value.length ? value.map(scalar).join(', ') : '(none)'}`];
    return value.flatMap((item) => {
      const [first = '', ...rest] = plainLines(item, indent, depth + 1);
      return [`${pad}- ${first.trimStart()}`, ...rest];
    });
  }
  const out: string[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (isScalar(v) || (Array.isArray(v) && v.every(isScalar))) out.push(`${pad}${k}: ${plainLines(v, indent, 0)[0]}`);
    else out.push(`${pad}${k}:`, ...plainLines(v, indent, depth + 1));
  }
  return out.length ? out : [`${pad}(empty)`];
}

/** A small object on one line: "rdp=0, wrp=all" (for a policy shown inside a sentence). */
export function inlinePairs(value: unknown): string {
  if (isScalar(value)) return scalar(value);
  if (Array.isArray(value)) return value.map(inlinePairs).join(', ');
  return Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `${k}=${isScalar(v) ? scalar(v) : Array.isArray(v) && v.every(isScalar) ? v.map(scalar).join('+') : `{${inlinePairs(v)}}`}`)
    .join(', ');
}
