/**
 * What a unit's UART makes of a host that opened the cable with other
 * framing, so the lab fails where real hardware fails.
 *
 * Parity: a byte sent 8N1 to an 8E1 receiver puts the sender's stop bit where
 * the receiver wants the parity bit; a byte sent 8E1 to an 8N1 receiver puts
 * its parity bit where the stop bit belongs. Either way a byte whose even
 * parity bit is 0 arrives broken (parity or framing error). The STM32 ROM
 * bootloader checks parity (AN2662 §2.1, "parity check active") and an SMP
 * console drops broken bytes: both lose them; a Linux host reads them as 0x00
 * (termios without IGNPAR or PARMRK).
 * Baud: an SMP unit's UART runs at its configured rate, and bytes sent at
 * another one arrive as junk; the STM32 ROM bootloader measures the host's
 * rate from its first 0x7F (autobaud), so any rate works there.
 */

/** What the unit's UART is set to right now (it changes when the ROM bootloader jumps to the firmware). */
export interface UnitUart {
  parity: 'none' | 'even';
  /** Fixed rate; undefined: the unit measures the host's rate (autobaud). */
  baud?: number;
}

/** Rate deviation a UART tolerates (AN2662 §2.2: below 2.5 %). */
const BAUD_TOLERANCE = 0.025;

/** True when the byte's even-parity bit is 0 (an even number of ones). */
const parityBitZero = (b: number): boolean => {
  b ^= b >> 4;
  b ^= b >> 2;
  b ^= b >> 1;
  return (b & 1) === 0;
};

/** The framing a host asked for when it opened the cable. */
export interface HostFraming {
  baudRate?: number;
  parity?: 'none' | 'even';
}

export interface FramingFaults {
  /** Host to unit: broken bytes are lost. */
  toDevice(data: Uint8Array): Uint8Array;
  /** Unit to host: broken bytes read as 0x00. */
  toHost(data: Uint8Array): Uint8Array;
}

/** The faults a host opened with `host` framing meets on a unit whose UART is `unit()` (read per chunk). */
export function framingFaults(host: HostFraming, unit: () => UnitUart): FramingFaults {
  const broken = (): ((b: number) => boolean) | undefined => {
    const u = unit();
    if (u.baud !== undefined && host.baudRate !== undefined && Math.abs(host.baudRate - u.baud) > u.baud * BAUD_TOLERANCE) return () => true;
    return (host.parity ?? 'none') !== u.parity ? parityBitZero : undefined;
  };
  return {
    toDevice(data) {
      const bad = broken();
      return bad ? data.filter((b) => !bad(b)) : data;
    },
    toHost(data) {
      const bad = broken();
      return bad ? data.map((b) => (bad(b) ? 0 : b)) : data;
    },
  };
}
