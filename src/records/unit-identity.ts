/**
 * A unit's identity as the service log stores it, and how the log finds a unit again.
 *
 * src/devices/identity.ts learns these facts from a unit (chip UID through the ROM bootloader,
 * USB serial number, provisioned serial, MCUboot image hashes); this file only defines the stored
 * shape, so records/ stays below devices/ (docs/architecture.md).
 *
 * Entries written before the typed fields existed used display names ('chip uid', 'adapter serial');
 * `unitFacts` reads both, so older logs stay searchable without rewriting a hash-chained line.
 */

export interface UnitIdentity {
  /** The key reports are made for: chip UID when known, else serial, else USB serial, else the device id. */
  id: string;
  /** The chip's factory-programmed unique ID (96 bits on STM32), lower-case hex. */
  chipUid?: string;
  /** The USB serial number of the unit's adapter or USB device. */
  usbSerial?: string;
  /** The serial number provisioned into the unit (label, settings). */
  serial?: string;
  /** MCUboot image hashes the unit reported (lower-case hex). */
  imageHashes?: string[];
  /** Other facts shown with the unit: chip name, port, device id, bootloader version, … */
  [name: string]: string | string[] | undefined;
}

/** The typed facts of a stored identity, whichever way the entry was written. */
export function unitFacts(unit: UnitIdentity | undefined): { id: string; chipUid?: string; usbSerial?: string; serial?: string; imageHashes: string[] } {
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const chipUid = str(unit?.chipUid) ?? str(unit?.['chip uid']);
  const usbSerial = str(unit?.usbSerial) ?? str(unit?.['adapter serial']);
  const serial = str(unit?.serial);
  const hashes = unit?.imageHashes;
  return {
    id: str(unit?.id) ?? '-',
    ...(chipUid ? { chipUid } : {}),
    ...(usbSerial ? { usbSerial } : {}),
    ...(serial ? { serial } : {}),
    imageHashes: Array.isArray(hashes) ? hashes.filter((h): h is string => typeof h === 'string') : [],
  };
}

/**
 * True when `query` names this unit: its key, chip UID, USB serial or serial (case-insensitive,
 * so a UID typed in upper case still matches), or one of its image hashes (a prefix of 8+ hex digits
 * is enough, as support staff copy short hashes).
 */
export function unitMatches(unit: UnitIdentity | undefined, query: string): boolean {
  const q = query.trim().toLowerCase();
  if (!q) return false;
  const f = unitFacts(unit);
  if ([f.id, f.chipUid, f.usbSerial, f.serial].some((v) => v !== undefined && v.toLowerCase() === q)) return true;
  return /^[0-9a-f]{8,}$/.test(q) && f.imageHashes.some((h) => h.toLowerCase().startsWith(q));
}
