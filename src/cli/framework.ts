/**
 * The CLI's one way to declare a command: options, help text, and a `run` that
 * returns a result object. The framework prints it (as JSON with --json, or via
 * the command's `human` renderer), maps typed errors to exit codes, and gives
 * every command --help.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { asUnbrickError, EXIT, inputError, ioError, usageError } from '../core/errors.ts';
import { startTrace, stopTrace } from '../transport/trace.ts';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  description: string;
  /** Shown in help as the value name, e.g. PATH. */
  value?: string;
  default?: string | boolean;
}

export type ParsedValues = Record<string, string | boolean | string[] | boolean[] | undefined>;

export interface CommandContext {
  values: ParsedValues;
  positionals: string[];
  json: boolean;
  /** True when stdout is a terminal (progress bars, prompts). */
  tty: boolean;
  /** Writes a line of human output (suppressed with --json). */
  say(line: string): void;
  /** Writes to stderr (progress, warnings): never mixed into --json stdout. */
  warn(line: string): void;
  signal: AbortSignal;
}

export interface CommandResult {
  /** Exit code; defaults to 0. */
  exitCode?: number;
  /** The object printed with --json. */
  data: unknown;
  /** Lines printed without --json; defaults to nothing beyond what `say` wrote. */
  human?: string[];
}

export interface Command {
  name: string;
  summary: string;
  /** Positional arguments as shown in help, e.g. "FILE". */
  args?: string;
  /** Longer help text. */
  description?: string;
  options?: Record<string, OptionSpec>;
  run(ctx: CommandContext): Promise<CommandResult>;
}

export interface CommandGroup {
  name: string;
  summary: string;
  commands: Command[];
  /** The command an option right after the group name goes to (`unbrick records --unit X` = `records list --unit X`). */
  defaultCommand?: string;
}

/** `--trace FILE`, on every command that talks to a device: the wire trace for support. */
export const TRACE_OPTIONS: Record<string, OptionSpec> = {
  trace: { type: 'string', value: 'FILE', description: 'record every byte exchanged with the device, timestamped, to FILE (read it with "unbrick trace show FILE")' },
};

/** `--out FILE`, on commands that print a report or an export: see writeOutOpt. */
export const OUT_OPTION: Record<string, OptionSpec> = {
  out: { type: 'string', value: 'FILE', description: 'write here instead of stdout' },
};

const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  json: { type: 'boolean', description: 'print one JSON object instead of text' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

function optionLines(options: Record<string, OptionSpec>): string[] {
  return Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    const extra = [o.multiple ? '(repeatable)' : '', o.default !== undefined ? `(default ${String(o.default)})` : ''].filter(Boolean).join(' ');
    return `  ${flag.padEnd(34)} ${o.description}${extra ? ` ${extra}` : ''}`;
  });
}

export function commandHelp(prefix: string, c: Command): string {
  const lines = [`Usage: ${prefix} ${c.name}${c.args ? ` ${c.args}` : ''} [options]`, '', c.summary];
  if (c.description) lines.push('', c.description);
  lines.push('', 'Options:', ...optionLines({ ...c.options, ...GLOBAL_OPTIONS }));
  lines.push('', 'Exit codes: 0 ok, 1 a check failed, 2 bad usage or unreadable input, 3 device or I/O error.');
  return lines.join('\n');
}

export function groupHelp(prefix: string, g: CommandGroup): string {
  const w = Math.max(...g.commands.map((c) => c.name.length));
  return [
    `Usage: ${prefix} ${g.name} <command> [options]`,
    '',
    g.summary,
    '',
    'Commands:',
    ...g.commands.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    `Run '${prefix} ${g.name} <command> --help' for a command's options.`,
  ].join('\n');
}

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  tty: boolean;
}

/** Runs one command with its argv (after the command name). Returns the exit code. */
export async function runCommand(prefix: string, c: Command, argv: string[], io: Io, signal: AbortSignal): Promise<number> {
  const options = { ...c.options, ...GLOBAL_OPTIONS };
  const json = argv.includes('--json');
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: argv, options: options as never, allowPositionals: true, strict: true });
    } catch (e) {
      throw usageError('usage.bad-arguments', `${(e as Error).message}\n\n${commandHelp(prefix, c)}`);
    }
    const values = parsed.values as ParsedValues;
    if (values.help) {
      io.stdout(commandHelp(prefix, c) + '\n');
      return EXIT.ok;
    }
    const ctx: CommandContext = {
      values,
      positionals: parsed.positionals,
      json,
      tty: io.tty,
      say: (line) => {
        if (!json) io.stdout(line + '\n');
      },
      warn: (line) => io.stderr(line + '\n'),
      signal,
    };
    const tracePath = c.options?.trace ? stringOpt(ctx, 'trace') : undefined;
    if (tracePath !== undefined) startTrace(tracePath, `unbrick ${prefix.replace(/^unbrick ?/, '')} ${c.name}`.replace(/\s+/g, ' ').trim());
    let result: CommandResult;
    try {
      result = await c.run(ctx);
    } finally {
      if (tracePath !== undefined) stopTrace();
    }
    if (json) io.stdout(JSON.stringify(result.data, jsonReplacer, 2) + '\n');
    else for (const line of result.human ?? []) io.stdout(line + '\n');
    return result.exitCode ?? EXIT.ok;
  } catch (err) {
    const e = asUnbrickError(err);
    if (json) io.stdout(JSON.stringify(e.toJSON(), jsonReplacer, 2) + '\n');
    else io.stderr(`unbrick: ${e.message}\n`);
    if (e.code === 'internal' && process.env.UNBRICK_DEBUG) io.stderr(`${(err as Error).stack}\n`);
    return e.exitCode;
  }
}

/** JSON output: bytes as hex, bigints as strings. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (value && typeof value === 'object' && (value as { type?: string }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data))
    return Buffer.from((value as { data: number[] }).data).toString('hex');
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** Option accessors that turn missing or malformed values into usage errors. */
export function stringOpt(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function requireString(ctx: CommandContext, name: string): string {
  const v = stringOpt(ctx, name);
  if (v === undefined) throw usageError('usage.missing-option', `--${name} is required.`);
  return v;
}

export function stringList(ctx: CommandContext, name: string): string[] {
  const v = ctx.values[name];
  return Array.isArray(v) ? (v as string[]) : typeof v === 'string' ? [v] : [];
}

export function intOpt(ctx: CommandContext, name: string, fallback?: number): number | undefined {
  const v = stringOpt(ctx, name);
  if (v === undefined) return fallback;
  const n = /^0x[0-9a-f]+$/i.test(v) ? parseInt(v, 16) : /^\d+$/.test(v) ? parseInt(v, 10) : NaN;
  if (!Number.isSafeInteger(n)) throw usageError('usage.bad-number', `--${name} must be a number (decimal or 0x hex), got "${v}".`);
  return n;
}

export function requirePositional(ctx: CommandContext, index: number, name: string): string {
  const v = ctx.positionals[index];
  if (v === undefined) throw usageError('usage.missing-argument', `${name} is required.`);
  return v;
}

/** A word from a fixed set (--format html|json); `fallback` when the option is not given. */
export function choiceOpt<T extends string>(ctx: CommandContext, name: string, choices: readonly T[], fallback: T): T {
  const v = stringOpt(ctx, name) ?? fallback;
  if (!(choices as readonly string[]).includes(v)) throw usageError(`usage.bad-${name}`, `--${name} must be one of ${choices.join(', ')}, got "${v}".`);
  return v as T;
}

/** Writes `text` to the --out file when one is given and returns its path; undefined: the caller prints the text. */
export function writeOutOpt(ctx: CommandContext, text: string): string | undefined {
  const out = stringOpt(ctx, 'out');
  if (!out) return undefined;
  try {
    writeFileSync(out, text);
  } catch (e) {
    throw ioError('io.write-failed', `Cannot write ${out}: ${(e as Error).message}`, undefined, e);
  }
  return out;
}

/** Reads a file the user named; a missing or unreadable file is bad input (exit 2). */
export function readUserFile(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw inputError(
      code === 'ENOENT' ? 'input.file-not-found' : 'input.unreadable',
      code === 'ENOENT' ? `${what} "${path}" does not exist.` : `Cannot read ${what} "${path}": ${(e as Error).message}.`,
    );
  }
}
