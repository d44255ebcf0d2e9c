/**
 * Linux udev rules that let a normal user (not root) reach the devices
 * Unbrick talks to over raw USB. Serial adapters need no rule: their ports
 * belong to the "dialout" group (or "uucp" on Arch), which the user joins.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { ioError } from '../core/errors.ts';
import { RAW_ACCESS_IDS } from './usb-ids.ts';

export const UDEV_RULES_PATH = '/etc/udev/rules.d/60-unbrick.rules';

export function udevRules(): string {
  const lines = [
    '# Unbrick: let the logged-in user open STM32 DFU bootloaders and ST-LINK probes over USB.',
    '# Installed by `unbrick udev-rules --install`; remove this file to undo.',
    ...RAW_ACCESS_IDS.map((id) => {
      const [vid, pid] = id.split(':');
      return `SUBSYSTEM=="usb", ATTR{idVendor}=="${vid}", ATTR{idProduct}=="${pid}", MODE="0660", TAG+="uaccess"`;
    }),
    '',
  ];
  return lines.join('\n');
}

export interface InstallResult {
  path: string;
  reloaded: boolean;
}

/** Writes the rules file and asks udev to reload; needs root. */
export function installUdevRules(path = UDEV_RULES_PATH, opts: { reload?: boolean } = {}): InstallResult {
  try {
    writeFileSync(path, udevRules(), { mode: 0o644 });
  } catch (err) {
    throw ioError('udev.install-failed', `Cannot write ${path}: ${(err as Error).message}. Run it with sudo: sudo npx unbrick udev-rules --install`, undefined, err);
  }
  if (opts.reload === false) return { path, reloaded: false };
  const udevadm = ['/usr/bin/udevadm', '/bin/udevadm', '/sbin/udevadm'].find((p) => existsSync(p));
  if (!udevadm) return { path, reloaded: false };
  const reload = spawnSync(udevadm, ['control', '--reload-rules']);
  const trigger = spawnSync(udevadm, ['trigger', '--subsystem-match=usb']);
  return { path, reloaded: reload.status === 0 && trigger.status === 0 };
}
