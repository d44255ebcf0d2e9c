/** Plain-words formatting for the UI. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

export function formatRate(bytesPerSecond: number | undefined): string {
  return bytesPerSecond === undefined ? '—' : `${formatBytes(bytesPerSecond)}/s`;
}

export function formatEta(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

export const KIND_WORDS: Record<string, string> = {
  identifying: 'Identifying…',
  'mcuboot-serial': 'MCUboot serial recovery',
  'zephyr-smp': 'Zephyr application (SMP)',
  'stm32-rom': 'STM32 ROM bootloader',
  unknown: 'Not identified',
};

export const WORKFLOW_WORDS: Record<string, { title: string; what: string; destructive: boolean }> = {
  detect: { title: 'Detect', what: 'Asks the device what it is. Changes nothing on it.', destructive: false },
  diagnose: { title: 'Diagnose', what: 'Reads everything the device will tell and explains what is wrong. Changes nothing on it.', destructive: false },
  recover: { title: 'Recover', what: 'Writes the matching golden image through MCUboot serial recovery, checks it and restarts the unit.', destructive: true },
  unbrick: {
    title: 'Full unbrick',
    what: 'Rewrites the bootloader and application through the STM32 ROM bootloader. May erase the whole chip; you will be asked before each destructive step.',
    destructive: true,
  },
  update: { title: 'Offline update', what: 'Verifies a bundle, uploads it, tests it, and confirms it once the unit boots it.', destructive: true },
};

// The one formatter for versions, addresses, IDs and times, shared with the CLI and the reports.
export { formatAddress, formatLocalTime, formatProductId, formatTarget, formatVersion, formatVersionChange, outcomeWords } from '../../src/api/format.ts';
