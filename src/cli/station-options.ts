/**
 * The factory line's options, shared by `unbrick station run` and `unbrick
 * serve --station-bundle` (the station screen): one table, one parser each.
 */
import { usageError } from '../core/errors.ts';
import { intOpt, stringOpt, type CommandContext, type OptionSpec } from './framework.ts';

/** The options both commands take, with the words `station run` shows; serve prefixes them with "station:". */
export const LINE_OPTIONS: Record<string, OptionSpec> = {
  ports: { type: 'string', value: 'auto|LIST', description: 'which ports to provision on: every USB serial adapter, or comma-separated paths', default: 'auto' },
  parallel: { type: 'string', value: 'N', description: 'units provisioned at once', default: '1' },
  data: { type: 'string', value: 'FILE', description: 'per-unit data list (CSV with a header row, or JSON)' },
  'data-address': { type: 'string', value: 'ADDR', description: 'flash address the per-unit data is written to (when the bundle does not say)' },
  pilot: { type: 'string', value: 'N', description: 'pause for review after the first N units' },
  window: { type: 'string', value: 'N', description: 'units the failure rate is computed over', default: '20' },
  threshold: { type: 'string', value: 'PCT', description: 'stop the line when more than this share of the window failed', default: '20' },
  batch: { type: 'string', value: 'NAME', description: 'batch name (resumes it if it exists; default: product-version-date)' },
  'allow-unprotect': { type: 'boolean', description: 'lift readout protection on units that arrive protected (ERASES their flash)' },
  'uid-address': { type: 'string', value: 'ADDR', description: "read the unit identity here instead of the chip's unique-ID register" },
};

export function portsOpt(ctx: CommandContext): 'auto' | string[] {
  const v = stringOpt(ctx, 'ports');
  if (v === undefined || v === 'auto') return 'auto';
  const list = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!list.length) throw usageError('usage.bad-ports', '--ports must be "auto" or a comma-separated list of port paths.');
  return list;
}

export function parallelOpt(ctx: CommandContext): number {
  const parallel = intOpt(ctx, 'parallel', 1)!;
  if (parallel < 1 || parallel > 64) throw usageError('usage.bad-number', '--parallel must be between 1 and 64.');
  return parallel;
}

/** A percentage option as a fraction (20 or 20% -> 0.2). */
export function percentOpt(ctx: CommandContext, name: string): number | undefined {
  const v = stringOpt(ctx, name);
  if (v === undefined) return undefined;
  const n = Number(v.replace(/%$/, ''));
  if (!Number.isFinite(n) || n < 0 || n > 100) throw usageError('usage.bad-number', `--${name} must be a percentage between 0 and 100, got "${v}".`);
  return n / 100;
}

/** Pilot lot and failure-rate stop, as given (the station's defaults otherwise). */
export function linePolicyOpts(ctx: CommandContext): { pilot?: number; window?: number; threshold?: number } {
  const pilot = intOpt(ctx, 'pilot');
  const window = intOpt(ctx, 'window');
  const threshold = percentOpt(ctx, 'threshold');
  if (window !== undefined && window < 1) throw usageError('usage.bad-number', '--window must be at least 1.');
  return { ...(pilot !== undefined ? { pilot } : {}), ...(window !== undefined ? { window } : {}), ...(threshold !== undefined ? { threshold } : {}) };
}
