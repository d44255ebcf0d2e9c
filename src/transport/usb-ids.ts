/**
 * What a USB vendor/product ID pair usually is, so the device list can say
 * "STM32 in DFU bootloader" instead of "0483:df11". IDs from the vendors'
 * published lists and the Linux usb.ids database.
 */

export type UsbRole =
  | 'stm32-dfu' //      ST ROM bootloader in USB DFU mode
  | 'stlink' //         ST-LINK debugger with its virtual COM port
  | 'usb-serial' //     a USB-to-UART adapter (FTDI, CP210x, CH340, PL2303)
  | 'cdc-acm' //        a device that is its own serial port (Zephyr, Nordic, MCUboot over USB CDC)
  | 'unknown';

export interface UsbIdentity {
  role: UsbRole;
  /** Plain name, e.g. "FTDI FT232R USB-serial adapter". */
  name: string;
}

const KNOWN: Record<string, UsbIdentity> = {
  '0483:df11': { role: 'stm32-dfu', name: 'STM32 ROM bootloader (USB DFU)' },
  '0483:3748': { role: 'stlink', name: 'ST-LINK/V2' },
  '0483:374b': { role: 'stlink', name: 'ST-LINK/V2-1 (virtual COM port)' },
  '0483:374e': { role: 'stlink', name: 'STLINK-V3E (virtual COM port)' },
  '0483:374f': { role: 'stlink', name: 'STLINK-V3 (virtual COM port)' },
  '0483:3752': { role: 'stlink', name: 'ST-LINK/V2-1 (virtual COM port)' },
  '0483:3753': { role: 'stlink', name: 'STLINK-V3 (virtual COM port)' },
  '0483:3754': { role: 'stlink', name: 'STLINK-V3 (virtual COM port)' },
  '0483:5740': { role: 'cdc-acm', name: 'STM32 USB virtual COM port' },
  '0403:6001': { role: 'usb-serial', name: 'FTDI FT232R USB-serial adapter' },
  '0403:6010': { role: 'usb-serial', name: 'FTDI FT2232 USB-serial adapter' },
  '0403:6011': { role: 'usb-serial', name: 'FTDI FT4232 USB-serial adapter' },
  '0403:6014': { role: 'usb-serial', name: 'FTDI FT232H USB-serial adapter' },
  '0403:6015': { role: 'usb-serial', name: 'FTDI FT-X USB-serial adapter' },
  '10c4:ea60': { role: 'usb-serial', name: 'Silicon Labs CP210x USB-serial adapter' },
  '10c4:ea70': { role: 'usb-serial', name: 'Silicon Labs CP2105 USB-serial adapter' },
  '1a86:7523': { role: 'usb-serial', name: 'WCH CH340 USB-serial adapter' },
  '1a86:5523': { role: 'usb-serial', name: 'WCH CH341 USB-serial adapter' },
  '1a86:55d4': { role: 'usb-serial', name: 'WCH CH9102 USB-serial adapter' },
  '067b:2303': { role: 'usb-serial', name: 'Prolific PL2303 USB-serial adapter' },
  '067b:23a3': { role: 'usb-serial', name: 'Prolific PL2303GC USB-serial adapter' },
  '2fe3:0100': { role: 'cdc-acm', name: 'Zephyr USB device (CDC ACM)' },
  '2fe3:0001': { role: 'cdc-acm', name: 'Zephyr USB device (CDC ACM)' },
  '1915:520f': { role: 'cdc-acm', name: 'Nordic nRF52 USB CDC ACM' },
  '1915:521f': { role: 'cdc-acm', name: 'Nordic nRF USB CDC ACM (MCUboot serial recovery)' },
  '1366:1015': { role: 'cdc-acm', name: 'SEGGER J-Link (virtual COM port, e.g. on Nordic DKs)' },
  '1366:1051': { role: 'cdc-acm', name: 'SEGGER J-Link (virtual COM port, e.g. on Nordic DKs)' },
};

/** Vendors whose unknown products are still worth naming. */
const VENDORS: Record<number, string> = { 0x0483: 'STMicroelectronics', 0x0403: 'FTDI', 0x10c4: 'Silicon Labs', 0x1a86: 'WCH', 0x067b: 'Prolific', 0x2fe3: 'Zephyr', 0x1915: 'Nordic Semiconductor', 0x1366: 'SEGGER' };

export const usbKey = (vendorId: number, productId: number) =>
  `${vendorId.toString(16).padStart(4, '0')}:${productId.toString(16).padStart(4, '0')}`;

export function identifyUsb(vendorId: number, productId: number, opts: { cdcAcm?: boolean } = {}): UsbIdentity {
  const known = KNOWN[usbKey(vendorId, productId)];
  if (known) return known;
  const vendor = VENDORS[vendorId];
  if (opts.cdcAcm) return { role: 'cdc-acm', name: `${vendor ?? 'USB'} CDC ACM serial device` };
  return { role: 'unknown', name: vendor ? `${vendor} device ${usbKey(vendorId, productId)}` : `USB device ${usbKey(vendorId, productId)}` };
}

/** VID/PID pairs that Unbrick needs raw access to (udev rules). */
export const RAW_ACCESS_IDS = Object.entries(KNOWN)
  .filter(([, v]) => v.role === 'stm32-dfu' || v.role === 'stlink')
  .map(([k]) => k);
