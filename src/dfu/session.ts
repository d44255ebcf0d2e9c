/**
 * Opens a USB device's DFU interface: finds it (class 0xFE, subclass 1,
 * protocol 2 = DFU mode), reads the functional descriptor for wTransferSize,
 * and turns each alternate setting's name into a memory layout.
 */
import { deviceError } from '../core/errors.ts';
import { type MemoryLayout, parseMemoryLayout } from '../formats/dfuse/index.ts';
import { classControl, readConfigDescriptor, type UsbDeviceLike } from '../transport/usb.ts';
import { DfuClient } from './client.ts';
import { decodeFunctionalDescriptor, type DfuFunctionalDescriptor } from './protocol.ts';
import { traceControl } from '../transport/trace.ts';

export interface DfuAlt {
  alt: number;
  name: string;
  /** Present when the name is a DfuSe memory description ("@Internal Flash  /0x08000000/…"). */
  layout?: MemoryLayout;
}

export interface DfuSession {
  device: UsbDeviceLike;
  interfaceNumber: number;
  functional: DfuFunctionalDescriptor;
  alts: DfuAlt[];
  /** Selects an alternate setting and returns a client for it. */
  use(alt: number, opts?: { signal?: AbortSignal }): Promise<DfuClient>;
  close(): Promise<void>;
}

/** Finds the 9-byte (or 7-byte DFU 1.0) functional descriptor (type 0x21) in a configuration descriptor. */
export function findFunctionalDescriptor(config: Uint8Array): DfuFunctionalDescriptor | undefined {
  for (let off = 0; off + 2 <= config.length; ) {
    const len = config[off]!;
    if (len < 2 || off + len > config.length) return undefined;
    if (config[off + 1] === 0x21 && len >= 7) return decodeFunctionalDescriptor(config.subarray(off, off + len));
    off += len;
  }
  return undefined;
}

export async function openDfuSession(device: UsbDeviceLike): Promise<DfuSession> {
  if (!device.opened)
    await device.open().catch((err: unknown) => {
      // Windows: the ROM bootloader needs the WinUSB driver before any program can open it.
      if (process.platform === 'win32')
        throw deviceError('dfu.no-winusb', 'Windows cannot open the STM32 DFU device: it has no WinUSB driver. Install WinUSB for "STM32 BOOTLOADER" (for example with Zadig, or ST\'s STM32CubeProgrammer drivers), then plug it in again.');
      throw err;
    });
  const iface = device.configuration?.interfaces.find((i) =>
    i.alternates.some((a) => a.interfaceClass === 0xfe && a.interfaceSubclass === 0x01 && a.interfaceProtocol === 0x02),
  );
  if (!iface) throw deviceError('dfu.no-interface', 'This USB device has no DFU-mode interface: it is not in its DFU bootloader.');
  const functional = findFunctionalDescriptor(await readConfigDescriptor(device)) ?? {
    // dfu-util falls back the same way when a device hides the descriptor.
    canDownload: true,
    canUpload: true,
    manifestationTolerant: false,
    willDetach: false,
    detachTimeout: 0,
    transferSize: 1024,
    dfuVersion: 0x011a,
  };
  if (functional.transferSize < 1) throw deviceError('dfu.bad-descriptor', 'The DFU functional descriptor gives a transfer size of 0.');
  await device.claimInterface(iface.interfaceNumber);
  const alts: DfuAlt[] = iface.alternates.map((a) => {
    const name = a.interfaceName ?? '';
    let layout: MemoryLayout | undefined;
    try {
      layout = name.startsWith('@') ? parseMemoryLayout(name) : undefined;
    } catch {
      layout = undefined; // shown by name; operations that need a layout refuse with a clear error
    }
    return { alt: a.alternateSetting, name, ...(layout ? { layout } : {}) };
  });
  return {
    device,
    interfaceNumber: iface.interfaceNumber,
    functional,
    alts,
    async use(alt, opts = {}) {
      if (!alts.some((a) => a.alt === alt)) throw deviceError('dfu.no-alt', `The device has no alternate setting ${alt}.`);
      await device.selectAlternateInterface(iface.interfaceNumber, alt);
      return new DfuClient(traceControl(classControl(device, iface.interfaceNumber), `USB ${device.vendorId.toString(16).padStart(4, '0')}:${device.productId.toString(16).padStart(4, '0')} interface ${iface.interfaceNumber} alt ${alt}`), { transferSize: functional.transferSize, ...opts });
    },
    async close() {
      await device.releaseInterface(iface.interfaceNumber).catch(() => {});
      await device.close().catch(() => {});
    },
  };
}
