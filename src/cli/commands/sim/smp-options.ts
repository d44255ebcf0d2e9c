/** Options and run loop shared by `unbrick sim mcuboot` and `unbrick sim zephyr`. */
import { usageError } from '../../../core/errors.ts';
import { readUserFile, stringList, stringOpt, type CommandContext, type OptionSpec } from '../../framework.ts';
import { hostOnPty, type LineFaults } from '../../../sim/smp/host.ts';
import { seededRandom } from '../../../core/random.ts';
import { FLASH_PROFILES, flashProfile } from '../../../sim/smp/flash-timing.ts';
import type { SmpDevice } from '../../../sim/smp/device.ts';

export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  baud: { type: 'string', value: 'N', description: 'line pacing, 8N1 (0 = unpaced, for use behind linesim)', default: '115200' },
  key: { type: 'string', multiple: true, value: 'PEM', description: "public key file the device trusts (default: MCUboot's root-ec-p256 development key)" },
  flash: { type: 'string', value: 'PROFILE', description: `flash timing: ${Object.keys(FLASH_PROFILES).join(', ')}`, default: 'nrf52840' },
  corrupt: { type: 'string', value: 'P', description: 'fault: flip one bit of a byte with probability P per bit (each direction)' },
  drop: { type: 'string', value: 'P', description: 'fault: drop a byte with probability P (each direction)' },
  'stall-ms': { type: 'string', value: 'MS', description: 'fault: the device goes quiet this long ...' },
  'stall-every-ms': { type: 'string', value: 'MS', description: '... this often' },
  'disconnect-after': { type: 'string', value: 'N', description: 'fault: cut the line after N bytes from the host ...' },
  'disconnect-ms': { type: 'string', value: 'MS', description: '... for this long', default: '2000' },
  'reset-at': { type: 'string', value: 'OFFSET', description: 'fault: reset the device once an upload reaches OFFSET' },
  'power-loss-after': { type: 'string', value: 'N', description: 'fault: lose power after N sectors of the next swap' },
  seed: { type: 'string', value: 'N', description: 'fault random seed', default: '1' },
};

export function num(ctx: CommandContext, name: string): number | undefined {
  const v = stringOpt(ctx, name);
  if (v === undefined) return undefined;
  const n = /^0x[0-9a-f]+$/i.test(v) ? parseInt(v, 16) : Number(v);
  if (!Number.isFinite(n) || n < 0) throw usageError('usage.bad-number', `--${name} must be a non-negative number, got "${v}".`);
  return n;
}

export function commonDeviceOptions(ctx: CommandContext): { keys: string[]; flash: string } {
  const flash = stringOpt(ctx, 'flash') ?? 'nrf52840';
  try {
    flashProfile(flash);
  } catch {
    throw usageError('usage.bad-flash-profile', `--flash must be one of ${Object.keys(FLASH_PROFILES).join(', ')}.`);
  }
  return { keys: stringList(ctx, 'key').map((p) => Buffer.from(readUserFile(p, 'Key file')).toString('utf8')), flash };
}

export function faultOptions(ctx: CommandContext): LineFaults {
  return {
    ...(num(ctx, 'corrupt') !== undefined ? { flipRate: num(ctx, 'corrupt')! } : {}),
    ...(num(ctx, 'drop') !== undefined ? { dropRate: num(ctx, 'drop')! } : {}),
    ...(num(ctx, 'stall-ms') !== undefined ? { stallMs: num(ctx, 'stall-ms')!, stallEveryMs: num(ctx, 'stall-every-ms') ?? 10000 } : {}),
    ...(num(ctx, 'disconnect-after') !== undefined ? { cutAfterBytes: num(ctx, 'disconnect-after')!, cutMs: num(ctx, 'disconnect-ms') ?? 2000 } : {}),
    random: seededRandom(num(ctx, 'seed') ?? 1),
  };
}

/** Puts the device on a pty, prints the path as the first line, runs until Ctrl-C. */
export async function runOnPty(ctx: CommandContext, device: SmpDevice, describe: string): Promise<{ path: string; stats: SmpDevice['stats'] }> {
  const host = hostOnPty(device, { baud: num(ctx, 'baud') ?? 115200, faults: faultOptions(ctx) });
  process.stdout.write(`${host.path}\n`);
  ctx.warn(`${describe} on ${host.path}. Ctrl-C stops.`);
  await new Promise<void>((resolve) => (ctx.signal.aborted ? resolve() : ctx.signal.addEventListener('abort', () => resolve(), { once: true })));
  host.close();
  return { path: host.path, stats: device.stats };
}
