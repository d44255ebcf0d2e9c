/**
 * The passphrase of an encrypted signing key, for commands that sign. Never taken as an option
 * value (it would show in `ps` and shell history): either the name of an environment variable
 * that holds it (`--key-passphrase-env VAR`), or the first line of standard input
 * (`--key-passphrase-stdin`, for a pipe from a secrets tool; refused on a terminal, where it would echo).
 */
import { readFileSync } from 'node:fs';
import { usageError } from '../core/errors.ts';
import type { CommandContext, OptionSpec } from './framework.ts';

export const KEY_PASSPHRASE_OPTIONS: Record<string, OptionSpec> = {
  'key-passphrase-env': { type: 'string', value: 'VAR', description: 'name of the environment variable holding the private key passphrase' },
  'key-passphrase-stdin': { type: 'boolean', description: 'read the private key passphrase from the first line of standard input' },
};

/** The passphrase the user pointed to, or undefined when they gave none (a plain key needs none). */
export function keyPassphrase(ctx: CommandContext, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const name = ctx.values['key-passphrase-env'];
  const fromStdin = ctx.values['key-passphrase-stdin'] === true;
  if (typeof name === 'string' && fromStdin) throw usageError('usage.passphrase-twice', 'Give the passphrase one way: --key-passphrase-env or --key-passphrase-stdin.');
  if (typeof name === 'string') {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw usageError('usage.bad-passphrase-env', `--key-passphrase-env takes the NAME of an environment variable (e.g. UNBRICK_KEY_PASS), not the passphrase itself.`);
    const v = env[name];
    if (v === undefined) throw usageError('usage.passphrase-env-unset', `The environment variable ${name} (from --key-passphrase-env) is not set.`);
    return v;
  }
  if (!fromStdin) return undefined;
  if (process.stdin.isTTY)
    throw usageError('usage.passphrase-from-terminal', '--key-passphrase-stdin reads a pipe (e.g. `pass show release-key | unbrick …`); on a terminal the passphrase would echo. Use --key-passphrase-env instead.');
  return readFileSync(0, 'utf8').split(/\r?\n/)[0]!;
}
