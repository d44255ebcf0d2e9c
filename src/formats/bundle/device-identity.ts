/**
 * The unit a bundle is checked against (`--device-id`: inline JSON or a file).
 * Parsed strictly: a typo such as "hardwareRev" is refused with the field it
 * most likely meant, never read as "no hardware revision given".
 */
import { anyOf, num, obj, opt, record, str } from '../../core/schema.ts';
import type { DeviceIdentity } from './verify.ts';
import { VERSION } from './metadata.ts';

const uuidish = str({ max: 64 });
const installedSchema = record(obj({ version: opt(str({ max: 32, pattern: VERSION })), securityCounter: opt(num({ int: true, min: 0, max: 0xffffffff })) }), {
  max: 64,
  key: str({ max: 128 }),
});

export const DeviceIdentitySchema = obj({
  vendorId: opt(uuidish),
  classId: opt(uuidish),
  hardwareRevision: opt(str({ min: 1, max: 64 })),
  /** A number, or a string in decimal or 0x-hex ("0x413"), as chips print it. */
  mcuProductId: opt(anyOf(num({ int: true, min: 0, max: 0xffff }), str({ max: 6, pattern: /^(0x[0-9a-fA-F]{1,4}|\d{1,5})$/ }))),
  installed: opt(installedSchema),
});

/** The identity as verification uses it: mcuProductId as a number. */
export function toDeviceIdentity(d: ReturnType<typeof DeviceIdentitySchema.parse>): DeviceIdentity {
  const pid = d.mcuProductId;
  const { mcuProductId: _, ...rest } = d;
  return { ...rest, ...(pid === undefined ? {} : { mcuProductId: typeof pid === 'number' ? pid : parseInt(pid, pid.startsWith('0x') ? 16 : 10) }) };
}
