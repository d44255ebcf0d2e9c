/** Zephyr basic group (63): storage partition erase (MCUboot offers it with CONFIG_BOOT_MGMT_CUSTOM_STORAGE_ERASE). */
import type { SmpClient } from '../client.ts';

export const ZEPHYR_BASIC_GROUP = 63;

/** Erases the `storage` partition (settings, logs), never an image slot. */
export async function eraseStorage(c: SmpClient): Promise<void> {
  await c.request({ op: 'write', group: ZEPHYR_BASIC_GROUP, id: 0, what: 'storage erase', timeoutMs: 10000, retries: 1 });
}
