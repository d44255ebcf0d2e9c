/** Zephyr basic group (63): storage partition erase (MCUboot offers it with CONFIG_BOOT_MGMT_CUSTOM_STORAGE_ERASE). */
import type { SmpClient } from '../client.ts';
import { GROUP, smpRequest } from '../messages.ts';

export const ZEPHYR_BASIC_GROUP = GROUP.zephyrBasic;

/** Erases the `storage` partition (settings, logs), never an image slot. */
export async function eraseStorage(c: SmpClient): Promise<void> {
  await c.request({ ...smpRequest('storageErase'), timeoutMs: 10000, retries: 1 });
}
