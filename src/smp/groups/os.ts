/** OS management group (0): echo, reset, MCUmgr parameters, OS/application info, bootloader info. */
import type { SmpClient } from '../client.ts';
import { defined } from '../../core/defined.ts';
import { answerError } from '../errors.ts';
import { GROUP, smpAnswer, smpRequest } from '../messages.ts';

export const OS_GROUP = GROUP.os;

export async function echo(c: SmpClient, text: string): Promise<string> {
  return smpAnswer('echo', await c.request(smpRequest('echo', { d: text }))).r ?? '';
}

/**
 * Asks the device to reset; it answers first, then reboots about 250 ms later.
 * `retries: 0` when a second reset would do harm (it would undo a test boot).
 */
export async function reset(c: SmpClient, force = false, opts: { retries?: number } = {}): Promise<void> {
  await c.request({ ...smpRequest('reset', force ? { force: 1 } : {}), ...defined({ retries: opts.retries }) });
}

export interface McumgrParams {
  bufSize: number;
  bufCount: number;
}

/** MCUmgr parameters, or undefined when the device does not offer them (it is an opt-in Kconfig). */
export async function params(c: SmpClient, retries?: number): Promise<McumgrParams | undefined> {
  const a = await c.call({ ...smpRequest('params'), ...defined({ retries }) });
  const err = answerError(a.body, 'MCUmgr parameters');
  if (err?.code === 'smp.unsupported') return undefined;
  if (err) throw err;
  const { buf_size, buf_count } = smpAnswer('params', a.body);
  return buf_size !== undefined && buf_count !== undefined ? { bufSize: buf_size, bufCount: buf_count } : undefined;
}

/** OS/application info (uname-like); format letters s n r v b m p i o, or a for all. */
export async function info(c: SmpClient, format?: string): Promise<string> {
  return smpAnswer('info', await c.request(smpRequest('info', format ? { format } : {}))).output ?? '';
}

export async function bootloaderInfo(c: SmpClient): Promise<{ bootloader: string; mode?: number }> {
  const b = smpAnswer('bootloaderInfo', await c.request(smpRequest('bootloaderInfo')));
  const out: { bootloader: string; mode?: number } = { bootloader: b.bootloader ?? 'unknown' };
  try {
    const m = smpAnswer('bootloaderInfo', await c.request({ ...smpRequest('bootloaderInfo', { query: 'mode' }), what: 'bootloader mode' }), 'bootloader mode');
    if (m.mode !== undefined) out.mode = m.mode;
  } catch {
    /* mode query is optional */
  }
  return out;
}
