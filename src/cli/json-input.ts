/**
 * CLI options that take JSON (`--device-id`, `--policy`): inline JSON or the
 * path of a JSON file, parsed with the option's schema. Errors name the
 * option or the file, the field, and the field a typo most likely meant.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { usageError } from '../core/errors.ts';
import { parseJsonAs, type Schema } from '../core/schema.ts';

/** Files bigger than this are refused unread: these options are a few lines of JSON. */
const MAX_OPTION_FILE = 1 << 20;

export function readJsonOption<T>(value: string, schema: Schema<T>, opts: { option: string; code: string; example: string }): T {
  if (value.trim().startsWith('{') || value.trim().startsWith('[')) return parseJsonAs(schema, value, { what: `--${opts.option}`, code: opts.code, maxChars: MAX_OPTION_FILE });
  if (!existsSync(value) || !statSync(value).isFile())
    throw usageError(opts.code, `--${opts.option} must be inline JSON or a JSON file, e.g. ${opts.example}; "${value}" is neither.`);
  if (statSync(value).size > MAX_OPTION_FILE) throw usageError(opts.code, `${value} is larger than ${MAX_OPTION_FILE} bytes; --${opts.option} takes a small JSON file.`);
  return parseJsonAs(schema, readFileSync(value, 'utf8'), { what: value, code: opts.code });
}
