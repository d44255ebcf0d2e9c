/**
 * Per-unit data (serial numbers, keys, settings) read from a CSV or JSON list.
 *
 * Every entry gets a stable id (the `id` column, else `serial`, else the first
 * column) and a content hash, so a journal or a shared database can tell an
 * entry that was edited after it was handed out from the one it recorded.
 * Pure: text in, entries out; every problem is a typed input error naming the
 * line or item.
 */
import { sha256Hex } from '../crypto/hash.ts';
import { inputError, usageError } from '../core/errors.ts';
import { anyOf, arr, bool, nearestKey, num, obj, parseAs, record, str } from '../core/schema.ts';
import { canonicalJson } from '../core/canonical-json.ts';

export interface PoolEntry {
  /** Unique within the list; what journals and the database key on. */
  id: string;
  /** Position in the list (0-based): entries are handed out in this order. */
  index: number;
  fields: Record<string, string>;
  /** SHA-256 (hex) of the canonical JSON of `fields`. */
  hash: string;
}

export function entryContentHash(fields: Record<string, string>): string {
  return sha256Hex(canonicalJson(fields));
}

/** Splits CSV text (RFC 4180: quoted fields, doubled quotes, CRLF or LF) into rows with their line numbers. */
export function parseCsvRows(text: string): { line: number; cells: string[] }[] {
  const rows: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let afterQuote = false;
  let line = 1;
  let rowLine = 1;
  const endCell = () => {
    cells.push(cell);
    cell = '';
    afterQuote = false;
  };
  const endRow = () => {
    endCell();
    // A blank line is no row.
    if (!(cells.length === 1 && cells[0] === '')) rows.push({ line: rowLine, cells });
    cells = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else {
          quoted = false;
          afterQuote = true;
        }
      } else {
        if (c === '\n') line++;
        cell += c;
      }
      continue;
    }
    if (c === '"') {
      if (cell !== '' || afterQuote) throw inputError('station.data-bad-csv', `Line ${line}: a quote may only open a field.`, { line });
      quoted = true;
    } else if (c === ',') endCell();
    else if (c === '\r' && text[i + 1] === '\n') continue;
    else if (c === '\n') {
      endRow();
      line++;
      rowLine = line;
    } else {
      if (afterQuote) throw inputError('station.data-bad-csv', `Line ${line}: text after a closing quote.`, { line });
      cell += c;
    }
  }
  if (quoted) throw inputError('station.data-bad-csv', `Line ${rowLine}: a quoted field is not closed.`, { line: rowLine });
  endRow();
  return rows;
}

function pickIdKey(keys: string[]): string {
  if (keys.includes('id')) return 'id';
  if (keys.includes('serial')) return 'serial';
  const first = keys[0];
  if (first === undefined) throw inputError('station.data-empty', 'The per-unit data list has no columns.');
  return first;
}

function finish(items: { where: string; fields: Record<string, string> }[], idKey: string): PoolEntry[] {
  const seen = new Map<string, string>();
  return items.map(({ where, fields }, index) => {
    const id = fields[idKey];
    if (id === undefined || id.trim() === '') throw inputError('station.data-missing-id', `${where}: the "${idKey}" value is empty; every entry needs one.`, { where });
    const first = seen.get(id);
    if (first) throw inputError('station.data-duplicate', `${where}: "${id}" appears twice (first at ${first}); each entry must be unique.`, { id, where, first });
    seen.set(id, where);
    return { id, index, fields, hash: entryContentHash(fields) };
  });
}

export function parseCsvEntries(text: string): PoolEntry[] {
  const rows = parseCsvRows(text.replace(/^\uFEFF/, ''));
  const header = rows.shift();
  if (!header) throw inputError('station.data-empty', 'The per-unit data CSV is empty; it needs a header row and one row per unit.');
  const names = header.cells.map((h) => h.trim());
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined || names.some((n) => n === ''))
    throw inputError('station.data-bad-csv', `The header row must name every column once${dup !== undefined ? ` ("${dup}" appears twice)` : ''}.`);
  const items = rows.map(({ line, cells }) => {
    if (cells.length !== names.length)
      throw inputError('station.data-bad-csv', `Line ${line}: ${cells.length} fields, the header has ${names.length}.`, { line });
    return { where: `line ${line}`, fields: Object.fromEntries(names.map((n, i) => [n, cells[i]!])) };
  });
  return finish(items, pickIdKey(names));
}

const Scalar = anyOf(str({ max: 64 * 1024 }), num(), bool());
/** One entry: a flat map of field to string, number or boolean (numbers and booleans are kept as their text). */
const JsonEntry = record(Scalar, { max: 256, key: str({ min: 1, max: 200 }) });
const JsonList = arr(JsonEntry, { max: 10_000_000 });
const JsonWrapped = obj({ entries: JsonList });

export function parseJsonEntries(text: string): PoolEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw inputError('station.data-bad-json', `The per-unit data is not valid JSON: ${(e as Error).message}`);
  }
  const what = 'The per-unit data';
  const list = Array.isArray(doc) ? parseAs(JsonList, doc, { what, code: 'station.data-bad-json' }) : parseAs(JsonWrapped, doc, { what, code: 'station.data-bad-json' }).entries;
  const first = list[0];
  if (!first) throw inputError('station.data-empty', 'The per-unit data list is empty.');
  // The first entry names the fields; every other entry has exactly those (a typo in one entry is caught here, not on the line).
  const names = Object.keys(first);
  const items = list.map((item, i) => {
    const where = `item ${i}`;
    for (const k of Object.keys(item))
      if (!names.includes(k)) {
        const near = nearestKey(k, names);
        throw inputError('station.data-bad-json', `${what}: unknown field "[${i}].${k}"${near ? ` (did you mean "${near}"?)` : ''}; item 0 has ${names.join(', ')}.`, {
          where,
          path: `[${i}].${k}`,
          ...(near ? { suggestion: `[${i}].${near}` } : {}),
        });
      }
    const missing = names.find((k) => item[k] === undefined);
    if (missing !== undefined) throw inputError('station.data-bad-json', `${what}: ${where} has no "${missing}" (item 0 has it).`, { where, field: missing });
    return { where, fields: Object.fromEntries(Object.entries(item).map(([k, v]) => [k, String(v)])) };
  });
  return finish(items, pickIdKey(names));
}

/** Fields a target needs (--data-field, --data-setting FIELD=KEY) must be in every entry; a near miss is named. */
export function requireFields(entries: readonly PoolEntry[], need: readonly string[], source: string): void {
  for (const e of entries) {
    const lacking = need.filter((f) => e.fields[f] === undefined);
    if (lacking.length === 0) continue;
    const near = lacking.map((f) => nearestKey(f, Object.keys(e.fields))).filter((x) => x !== undefined);
    throw usageError(
      'station.data-field',
      `Entry ${e.id} of ${source} has no ${lacking.join(', ')} field${near.length ? ` (did you mean ${near.map((n) => `"${n}"`).join(', ')}?)` : ''}, which --data-setting/--data-field need; its fields are ${Object.keys(e.fields).join(', ')}.`,
      { entry: e.id, missing: lacking, ...(near.length ? { suggestion: near } : {}) },
    );
  }
}

/** Parses by file name: `.json` as JSON, anything else as CSV. */
export function parseEntries(name: string, text: string): PoolEntry[] {
  return /\.json$/i.test(name) ? parseJsonEntries(text) : parseCsvEntries(text);
}
