/** OS management group (0): echo, reset, MCUmgr parameters, OS/application info, bootloader info. */
import type { SmpClient } from '../client.ts';
import { answerError } from '../errors.ts';

export const OS_GROUP = 0;

export async function echo(c: SmpClient, text: string): Promise<string> {
  const b = await c.request({ op: 'write', group: OS_GROUP, id: 0, body: { d: text }, what: 'echo' });
  return typeof b.r === 'string' ? b.r : '';
}

/**
 * Asks the device to reset; it answers first, then reboots about 250 ms later.
 * `retries: 0` when a second reset would do harm (it would undo a test boot).
 */
export async function reset(c: SmpClient, force = false, opts: { retries?: number } = {}): Promise<void> {
  await c.request({ op: 'write', group: OS_GROUP, id: 5, body: force ? { force: 1 } : {}, what: 'reset', ...(opts.retries !== undefined ? { retries: opts.retries } : {}) });
}

export interface McumgrParams {
  bufSize: number;
  bufCount: number;
}

/** MCUmgr parameters, or undefined when the device does not offer them (it is an opt-in Kconfig). */
export async function params(c: SmpClient, retries?: number): Promise<McumgrParams | undefined> {
  const a = await c.call({ op: 'read', group: OS_GROUP, id: 6, what: 'MCUmgr parameters', ...(retries !== undefined ? { retries } : {}) });
  const err = answerError(a.body, 'MCUmgr parameters');
  if (err?.code === 'smp.unsupported') return undefined;
  if (err) throw err;
  const { buf_size, buf_count } = a.body;
  return typeof buf_size === 'number' && typeof buf_count === 'number' ? { bufSize: buf_size, bufCount: buf_count } : undefined;
}

/** OS/application info (uname-like); format letters s n r v b m p i o, or a for all. */
export async function info(c: SmpClient, format?: string): Promise<string> {
  const b = await c.request({ op: 'read', group: OS_GROUP, id: 7, body: format ? { format } : {}, what: 'OS information' });
  return typeof b.output === 'string' ? b.output : '';
}

export async function bootloaderInfo(c: SmpClient): Promise<{ bootloader: string; mode?: number }> {
  const b = await c.request({ op: 'read', group: OS_GROUP, id: 8, what: 'bootloader information' });
  const out: { bootloader: string; mode?: number } = { bootloader: typeof b.bootloader === 'string' ? b.bootloader : 'unknown' };
  try {
    const m = await c.request({ op: 'read', group: OS_GROUP, id: 8, body: { query: 'mode' }, what: 'bootloader mode' });
    if (typeof m.mode === 'number') out.mode = m.mode;
  } catch {
    /* mode query is optional */
  }
  return out;
}
