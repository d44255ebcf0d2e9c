/**
 * How commands talk to a person at a terminal: progress on stderr, and the
 * confirmations destructive steps need. Scripts confirm with flags instead.
 */
import { createInterface } from 'node:readline/promises';
import { formatBytes } from '../core/bytes.ts';
import { usageError } from '../core/errors.ts';
import type { Progress } from '../core/progress.ts';
import { RDP2_CONFIRMATION, type Rdp2Confirmation } from '../stm32/option-bytes/index.ts';
import { type CommandContext, type OptionSpec, stringList, stringOpt } from './framework.ts';

/** Progress on stderr: a redrawn bar with rate and ETA on a terminal, phase changes otherwise. */
export function progressPrinter(ctx: CommandContext): (p: Progress) => void {
  let lastPhase = '';
  let lastDraw = 0;
  return (p) => {
    const now = performance.now();
    const finished = p.done >= p.total;
    if (ctx.tty) {
      if (!finished && now - lastDraw < 100 && p.phase === lastPhase) return;
      lastDraw = now;
      const pct = p.total ? Math.floor((100 * p.done) / p.total) : 100;
      const bar = '#'.repeat(Math.floor(pct / 4)).padEnd(25, '.');
      const rate = p.rate && p.phase !== 'Erasing' ? `  ${formatBytes(Math.round(p.rate))}/s` : '';
      const eta = p.eta !== undefined && !finished ? `  ${Math.ceil(p.eta)} s left` : '';
      process.stderr.write(`\r${p.phase.padEnd(10)} [${bar}] ${String(pct).padStart(3)}%${rate}${eta}\x1b[K${finished ? '\n' : ''}`);
    } else if (p.phase !== lastPhase) ctx.warn(`${p.phase}...`);
    lastPhase = p.phase;
  };
}

/** Asks a question on the terminal; undefined when there is no one to ask. */
export async function ask(ctx: CommandContext, question: string): Promise<string | undefined> {
  if (!ctx.tty || !process.stdin.isTTY) return undefined;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

export const MASS_ERASE_FLAG = 'yes-i-understand-mass-erase';
export const READOUT_FLAG = 'yes-i-understand-readout-protection';

/** A destructive step goes ahead with its flag, or with the typed word on a terminal; never by default. */
export async function confirm(ctx: CommandContext, flag: string, what: string, word: string): Promise<void> {
  if (ctx.values[flag]) return;
  const answer = await ask(ctx, `${what}\nType ${word} to go ahead: `);
  if (answer !== word) throw usageError('usage.confirm-required', `${what} Not done. To confirm in a script, add --${flag}.`);
}

/** `--<flag>`: answers confirm()'s question for `what` in a script. */
export const confirmFlag = (flag: string, what: string): Record<string, OptionSpec> => ({ [flag]: { type: 'boolean', description: `confirm ${what} without a prompt` } });

/** The options of `ob set`, the same over UART and USB DFU. */
export const OB_SET_OPTIONS: Record<string, OptionSpec> = {
  rdp: { type: 'string', value: '0|1|2', description: 'readout protection level (2 also needs --rdp2-confirm)' },
  wrp: { type: 'string', value: 'LIST', description: 'write-protected pages/sectors, e.g. "0-3" or "none"' },
  user: { type: 'string', multiple: true, value: 'NAME=VALUE', description: 'a USER/BOR option field' },
  'rdp2-confirm': { type: 'string', value: 'TEXT', description: `RDP level 2 is IRREVERSIBLE: pass the exact text "${RDP2_CONFIRMATION}"` },
  ...confirmFlag(READOUT_FLAG, 'setting readout protection level 1'),
};

export interface ObSetRequest {
  changes: { rdp: string | undefined; wrp: string | undefined; user: string[] };
  /** Passed to the option-byte encoder: present only when level 2 was confirmed twice. */
  writeOptions: { confirmRdpLevel2?: Rdp2Confirmation };
}

/**
 * Reads `ob set` options and takes every confirmation before the device is
 * touched. RDP level 2 needs the exact phrase AND, on a terminal, a typed
 * LOCK FOREVER; it can never come from a default or a single typo.
 */
export async function obSetRequest(ctx: CommandContext): Promise<ObSetRequest> {
  const changes = { rdp: stringOpt(ctx, 'rdp'), wrp: stringOpt(ctx, 'wrp'), user: stringList(ctx, 'user') };
  if (changes.rdp === undefined && changes.wrp === undefined && !changes.user.length) throw usageError('usage.missing-option', 'Nothing to change: give --rdp, --wrp or --user.');
  const phrase = stringOpt(ctx, 'rdp2-confirm');
  const level = changes.rdp?.trim();
  if (level === '2') {
    if (phrase !== RDP2_CONFIRMATION)
      throw usageError('stm32.rdp2-needs-confirmation', `RDP level 2 permanently disables the bootloader and debug access. To do it anyway, add --rdp2-confirm "${RDP2_CONFIRMATION}".`);
    if (ctx.tty && (await ask(ctx, 'Type LOCK FOREVER to set RDP level 2: ')) !== 'LOCK FOREVER') throw usageError('usage.confirm-required', 'RDP level 2 not set.');
    return { changes, writeOptions: { confirmRdpLevel2: RDP2_CONFIRMATION } };
  }
  if (level === '1') await confirm(ctx, READOUT_FLAG, 'Readout protection stops all reads and writes; removing it later ERASES ALL FLASH.', 'PROTECT');
  return { changes, writeOptions: {} };
}
