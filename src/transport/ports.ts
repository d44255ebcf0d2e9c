/**
 * Serial port enumeration with USB identity and a guess of what is attached.
 * `serialport`'s list needs udevadm on Linux; where that fails (containers,
 * minimal images) the ports are read from sysfs instead, so listing never
 * crashes. USB IDs come from the device's sysfs parents (idVendor/idProduct).
 */
import { existsSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { identifyUsb, type UsbRole } from './usb-ids.ts';

export interface PortInfo {
  path: string;
  vendorId?: string;
  productId?: string;
  serialNumber?: string;
  manufacturer?: string;
  product?: string;
  /** What the USB ID says this is. */
  role: UsbRole | 'builtin';
  /** Plain words: "FTDI FT232R USB-serial adapter: a UART to the device's console or bootloader". */
  guess: string;
}

const GUESS: Record<string, string> = {
  'usb-serial': "USB-serial adapter: wired to a device's UART (SMP console, MCUboot serial recovery or the STM32 ROM bootloader)",
  'cdc-acm': 'the device itself over USB (Zephyr/MCUboot CDC ACM): SMP over its console is likely',
  stlink: "debugger's virtual COM port: the target's UART (often its console)",
  'stm32-dfu': 'STM32 in USB DFU mode (not a serial port)',
  unknown: 'unknown USB serial device',
  builtin: 'built-in or virtual serial port',
};

function readSys(dir: string, name: string): string | undefined {
  try {
    return readFileSync(join(dir, name), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Walks up from /sys/class/tty/NAME/device to the USB device directory holding idVendor. */
function usbAttrs(ttyName: string): Partial<PortInfo> & { cdcAcm?: boolean } {
  const base = `/sys/class/tty/${ttyName}/device`;
  if (!existsSync(base)) return {};
  let dir: string;
  try {
    dir = realpathSync(base);
  } catch {
    return {};
  }
  const driver = (() => {
    try {
      return realpathSync(join(dir, 'driver')).split('/').pop();
    } catch {
      return undefined;
    }
  })();
  for (let i = 0; i < 6 && dir.length > 1; i++) {
    const vid = readSys(dir, 'idVendor');
    if (vid) {
      return {
        vendorId: vid,
        ...(readSys(dir, 'idProduct') ? { productId: readSys(dir, 'idProduct')! } : {}),
        ...(readSys(dir, 'serial') ? { serialNumber: readSys(dir, 'serial')! } : {}),
        ...(readSys(dir, 'manufacturer') ? { manufacturer: readSys(dir, 'manufacturer')! } : {}),
        ...(readSys(dir, 'product') ? { product: readSys(dir, 'product')! } : {}),
        cdcAcm: driver === 'cdc_acm',
      };
    }
    dir = join(dir, '..');
  }
  return {};
}

function classify(p: Omit<PortInfo, 'role' | 'guess'>, cdcAcm?: boolean): PortInfo {
  if (!p.vendorId || !p.productId) return { ...p, role: 'builtin', guess: GUESS.builtin! };
  const id = identifyUsb(parseInt(p.vendorId, 16), parseInt(p.productId, 16), { cdcAcm: !!cdcAcm || /ttyACM/.test(p.path) });
  return { ...p, role: id.role, guess: `${id.name}: ${GUESS[id.role]}` };
}

/** A port as a lister reports it; only the path is certain (an extra path, a test's or the demo line's lister). */
export type PortEntry = Pick<PortInfo, 'path'> & Partial<Omit<PortInfo, 'path'>>;

/** Lists ports: the OS enumeration below, or a stand-in (the demo line, tests). */
export type PortLister = () => Promise<PortEntry[]>;

/** Linux without udevadm: every tty with a device behind it, from sysfs. */
function listFromSysfs(): PortInfo[] {
  let names: string[];
  try {
    names = readdirSync('/sys/class/tty');
  } catch {
    return [];
  }
  return names
    .filter((n) => /^tty(USB|ACM|AMA|S\d|XRUSB|CH343USB)/.test(n) && existsSync(`/sys/class/tty/${n}/device`))
    .map((n) => {
      const { cdcAcm, ...usb } = usbAttrs(n);
      return classify({ path: `/dev/${n}`, ...usb }, cdcAcm);
    });
}

export async function listPorts(): Promise<PortInfo[]> {
  let listed: Awaited<ReturnType<typeof SerialPort.list>> | undefined;
  try {
    listed = await SerialPort.list();
  } catch {
    listed = undefined;
  }
  if (!listed) return process.platform === 'linux' ? listFromSysfs() : [];
  return listed.map((p) => {
    const name = p.path.split('/').pop() ?? '';
    const sys = process.platform === 'linux' ? usbAttrs(name) : {};
    const info = {
      path: p.path,
      ...(p.vendorId ?? sys.vendorId ? { vendorId: (p.vendorId ?? sys.vendorId)!.toLowerCase() } : {}),
      ...(p.productId ?? sys.productId ? { productId: (p.productId ?? sys.productId)!.toLowerCase() } : {}),
      ...(p.serialNumber ?? sys.serialNumber ? { serialNumber: (p.serialNumber ?? sys.serialNumber)! } : {}),
      ...(p.manufacturer ?? sys.manufacturer ? { manufacturer: (p.manufacturer ?? sys.manufacturer)! } : {}),
      ...(sys.product ? { product: sys.product } : {}),
    };
    return classify(info, sys.cdcAcm);
  });
}
