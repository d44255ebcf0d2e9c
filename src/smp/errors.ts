/**
 * SMP error codes in plain words. v1 devices answer `{rc: N}` (MGMT_ERR);
 * SMP v2 devices answer group errors as `{err: {group, rc}}` with the group's
 * own codes (Zephyr mgmt headers; shared smp-zephyr README "Errors").
 */
import { deviceError, type UnbrickError } from '../core/errors.ts';

export const MGMT_ERR: Record<number, [name: string, text: string]> = {
  1: ['EUNKNOWN', 'the device reported an unspecified error'],
  2: ['ENOMEM', 'the device ran out of memory for the answer'],
  3: ['EINVAL', 'the device rejected the request as invalid'],
  4: ['ETIMEOUT', 'the device timed out'],
  5: ['ENOENT', 'the device did not find what was asked for'],
  6: ['EBADSTATE', 'the device is not in a state that allows this (another image may be pending)'],
  7: ['EMSGSIZE', 'the request was too large for the device'],
  8: ['ENOTSUP', 'the device does not support this command'],
  9: ['ECORRUPT', 'the device found the request corrupt'],
  10: ['EBUSY', 'the device is busy'],
  11: ['EACCESSDENIED', 'the device refused access'],
  12: ['UNSUPPORTED_TOO_OLD', 'the device needs a newer SMP protocol version'],
  13: ['UNSUPPORTED_TOO_NEW', 'the device needs an older SMP protocol version'],
  14: ['EPERUSER', 'the device reported an application-specific error'],
};

const IMG_ERR: Record<number, string> = {
  1: 'unknown image management error',
  2: 'flash configuration query failed',
  3: 'no image in that slot',
  4: 'the image has no TLVs',
  5: 'the image has an invalid TLV',
  6: 'the image has several hash TLVs',
  7: 'the image has a TLV of the wrong size',
  8: 'no image with that hash is on the device',
  9: 'no free slot: the target slot is in use (pending, confirmed or running)',
  10: 'the device could not open the flash area',
  11: 'flash read failed',
  12: 'flash write failed',
  13: 'flash erase failed',
  14: 'invalid slot',
  15: 'the device ran out of memory',
  20: 'invalid upload offset',
  21: 'invalid or missing image length',
  22: 'the data does not start with a valid MCUboot image header',
  23: 'the data is not an MCUboot image (bad header magic)',
  24: 'invalid hash',
  25: 'invalid flash address',
  26: 'could not read the running version',
  27: 'the running version is newer than the image',
  28: 'another image is already pending',
  29: 'invalid image vector table',
  30: 'the image is too large for the slot',
  31: 'more data than the announced image length',
  32: 'image confirmation denied',
  33: 'the running image cannot be set to test',
};

const GROUP_ERR: Record<number, Record<number, string>> = {
  0: { 1: 'unknown OS management error', 2: 'invalid info format', 3: 'query not recognised', 4: 'RTC not set', 5: 'RTC command failed', 6: 'query response value too large' },
  1: IMG_ERR,
  // settings_mgmt.h (Zephyr): SETTINGS_MGMT_ERR_*.
  3: {
    1: 'unknown settings error',
    2: 'the setting name is too long for the device',
    3: 'no such setting (the firmware has no handler for this name)',
    4: 'this setting cannot be read',
    5: 'no settings handler for this name\'s root',
    6: 'this setting cannot be written',
    7: 'this setting cannot be deleted',
  },
  // fs_mgmt.h (Zephyr): FS_MGMT_ERR_*.
  8: {
    1: 'unknown file-system error',
    2: 'the file name is not valid',
    3: 'no such file',
    4: 'the path is a directory, not a file',
    5: 'the file could not be opened',
    6: 'seeking in the file failed',
    7: 'reading the file failed',
    8: 'truncating the file failed',
    9: 'deleting the file failed',
    10: 'writing the file failed (file system full?)',
    11: 'the offset does not match the file on the device (it changed or the upload was interrupted)',
    12: 'the offset is beyond the end of the file',
    13: 'the device does not offer that hash or checksum type',
    14: 'no file system is mounted at that path',
    15: 'the file system is read-only',
    16: 'the file is empty',
    17: 'closing the file failed',
  },
};

/** Stable codes for the group errors a caller acts on (the rest stay `smp.group-error`). */
const GROUP_CODE: Record<number, Record<number, string>> = {
  3: { 2: 'smp.setting-name-too-long', 3: 'smp.setting-not-found', 4: 'smp.setting-not-readable', 5: 'smp.setting-not-found', 6: 'smp.setting-not-writable', 7: 'smp.setting-not-deletable' },
  8: { 2: 'smp.file-bad-name', 3: 'smp.file-not-found', 4: 'smp.file-is-directory', 10: 'smp.file-write-failed', 11: 'smp.file-offset-mismatch', 13: 'smp.hash-type-unsupported', 14: 'smp.file-no-mount', 15: 'smp.file-read-only', 16: 'smp.file-empty' },
};

export const GROUP_NAME: Record<number, string> = { 0: 'OS', 1: 'image', 2: 'statistics', 3: 'settings', 8: 'file system', 9: 'shell', 63: 'Zephyr basic' };

export function rcName(rc: number): string {
  return MGMT_ERR[rc]?.[0] ?? `rc ${rc}`;
}

/** The error for a non-zero `rc` or an `err` map, or undefined when the answer is a success. */
export function answerError(body: unknown, what: string): UnbrickError | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as { rc?: unknown; err?: { group?: unknown; rc?: unknown } };
  if (b.err && typeof b.err === 'object' && typeof b.err.rc === 'number' && b.err.rc !== 0) {
    const group = typeof b.err.group === 'number' ? b.err.group : -1;
    const text = GROUP_ERR[group]?.[b.err.rc] ?? `${GROUP_NAME[group] ?? `group ${group}`} error ${b.err.rc}`;
    return deviceError(GROUP_CODE[group]?.[b.err.rc] ?? 'smp.group-error', `${what} failed: ${text}.`, { group, rc: b.err.rc });
  }
  if (typeof b.rc === 'number' && b.rc !== 0) {
    if (b.rc === 8) return deviceError('smp.unsupported', `This device does not support ${what}.`, { rc: 8 });
    const [name, text] = MGMT_ERR[b.rc] ?? [`rc ${b.rc}`, `the device answered with error code ${b.rc}`];
    return deviceError(`smp.${name.toLowerCase()}`, `${what} failed: ${text} (${name}).`, { rc: b.rc });
  }
  return undefined;
}
