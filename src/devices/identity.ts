/**
 * Who a unit is: the facts that name it across cables, ports and sessions, and the identity a
 * service record is filed under (the stored shape is records/unit-identity.ts).
 *
 * - chip UID: the STM32's factory-programmed 96-bit unique ID, read through the ROM bootloader at
 *   the family's UID address (stm32/chips). Readout protection hides it (the bootloader refuses
 *   Read Memory at RDP level 1), so a protected unit is named by the facts below.
 * - USB serial number: of the unit's USB device or its USB-serial adapter (transport/ports).
 * - serial: provisioned into the unit (its label, its settings).
 * - MCUboot image hashes: what the unit reports for its slots (SMP image list).
 *
 * Probes and device handles list facts as name/value pairs for people (DeviceDetail.identity);
 * IDENTITY names the ones that identify the unit.
 */
import { UnbrickError } from '../core/errors.ts';
import { uidAddress } from '../stm32/chips/index.ts';
import type { Stm32Session } from '../stm32/session.ts';
import type { UnitIdentity } from '../records/unit-identity.ts';

export const IDENTITY = { chipUid: 'chip uid', usbSerial: 'adapter serial', serial: 'serial', imageHash: 'image hash' } as const;

export interface IdentityFact {
  name: string;
  value: string;
}

/**
 * The unit's chip UID as lower-case hex, or undefined when the bootloader will not tell
 * (readout protection) or the ID reads as erased/blank (no ID to file a unit under).
 */
export async function readChipUid(s: Stm32Session, signal?: AbortSignal): Promise<string | undefined> {
  let uid: Uint8Array;
  try {
    signal?.throwIfAborted();
    uid = await s.client.readMemory(uidAddress(s.chip), 12);
  } catch (e) {
    if (e instanceof UnbrickError && e.kind === 'cancelled') throw e;
    if (signal?.aborted) throw e;
    return undefined;
  }
  if (uid.every((b) => b === 0) || uid.every((b) => b === 0xff)) return undefined;
  return Buffer.from(uid).toString('hex');
}

/**
 * The identity a service record is filed under. Its key is the chip UID when known, else the
 * provisioned serial, else the USB serial number, else the device id (`port:/dev/ttyUSB0`, a lab unit).
 */
export function unitIdentity(deviceId: string, facts: readonly IdentityFact[], port?: string): UnitIdentity {
  const unit: UnitIdentity = { id: deviceId, device: deviceId };
  const hashes: string[] = [];
  for (const { name, value } of facts) {
    if (name === IDENTITY.chipUid) unit.chipUid = value.toLowerCase();
    else if (name === IDENTITY.usbSerial) unit.usbSerial = value;
    else if (name === IDENTITY.serial) unit.serial = value;
    else if (name === IDENTITY.imageHash) hashes.push(value.toLowerCase());
    else unit[name] = value;
  }
  if (hashes.length) unit.imageHashes = [...new Set(hashes)];
  if (port) unit.port = port;
  unit.id = unit.chipUid ?? unit.serial ?? unit.usbSerial ?? deviceId;
  return unit;
}
