/**
 * USB through the `usb` package (libusb, WebUSB-style API): enumeration,
 * hot-plug watching, and class control requests. It only moves bytes; the DFU
 * protocol lives in src/dfu.
 */
import { WebUSB } from 'usb';
import { ioError, deviceError } from '../core/errors.ts';
import { identifyUsb, type UsbRole, usbKey } from './usb-ids.ts';

export interface UsbDeviceInfo {
  /** "VID:PID" in hex. */
  id: string;
  vendorId: number;
  productId: number;
  role: UsbRole;
  name: string;
  manufacturer?: string;
  product?: string;
  serialNumber?: string;
  /** The serial port this device provides (USB-serial adapters, CDC ACM, ST-LINK VCP). */
  serialPort?: string;
}

/**
 * Ties USB devices to the serial ports they provide, by VID/PID and, where
 * several look alike, by USB serial number.
 */
export function linkSerialPorts(devices: UsbDeviceInfo[], ports: Array<{ path: string; vendorId?: string; productId?: string; serialNumber?: string }>): UsbDeviceInfo[] {
  return devices.map((d) => {
    const same = ports.filter((p) => p.vendorId && p.productId && usbKey(parseInt(p.vendorId, 16), parseInt(p.productId, 16)) === d.id);
    const port = same.length === 1 && !d.serialNumber ? same[0] : same.find((p) => p.serialNumber && p.serialNumber === d.serialNumber);
    return port ? { ...d, serialPort: port.path } : d;
  });
}

/** The part of WebUSB's USBDevice that Unbrick uses; the DfuSe simulator implements the same. */
export type UsbDeviceLike = Pick<
  USBDevice,
  | 'vendorId'
  | 'productId'
  | 'serialNumber'
  | 'productName'
  | 'manufacturerName'
  | 'configuration'
  | 'opened'
  | 'open'
  | 'close'
  | 'claimInterface'
  | 'releaseInterface'
  | 'selectAlternateInterface'
  | 'controlTransferIn'
  | 'controlTransferOut'
>;

export function describeUsb(d: UsbDeviceLike): UsbDeviceInfo {
  const cdcAcm = !!d.configuration?.interfaces.some((i) => i.alternates.some((a) => a.interfaceClass === 0x02 && a.interfaceSubclass === 0x02));
  const who = identifyUsb(d.vendorId, d.productId, { cdcAcm });
  return {
    id: usbKey(d.vendorId, d.productId),
    vendorId: d.vendorId,
    productId: d.productId,
    role: who.role,
    name: who.name,
    ...(d.manufacturerName ? { manufacturer: d.manufacturerName } : {}),
    ...(d.productName ? { product: d.productName } : {}),
    ...(d.serialNumber ? { serialNumber: d.serialNumber } : {}),
  };
}

let webusb: WebUSB | undefined;
// 5 s per control transfer, as dfu-util allows (node-usb's default is 1 s).
const api = () => (webusb ??= new WebUSB({ allowAllDevices: true, deviceTimeout: 5000 }));

/**
 * Every USB device the OS shows. Where the machine has no USB bus at all (some
 * VMs and containers) this says so instead of failing.
 */
export async function listUsbDevices(): Promise<{ devices: UsbDeviceLike[]; problem?: string }> {
  try {
    return { devices: await api().getDevices() };
  } catch (err) {
    const msg = (err as Error).message ?? String(err);
    if (/not found|no such file|ENOENT|errno 2/i.test(msg)) return { devices: [], problem: 'This machine has no USB bus (no /sys/bus/usb): no USB devices can appear.' };
    throw ioError('usb.enumerate-failed', `Listing USB devices failed: ${msg}`);
  }
}

/** Calls back as devices come and go; returns a function that stops watching. */
export function watchUsb(onChange: (event: 'attach' | 'detach', device: UsbDeviceLike) => void): () => void {
  const usb = api();
  const attach = (e: USBConnectionEvent) => onChange('attach', e.device);
  const detach = (e: USBConnectionEvent) => onChange('detach', e.device);
  usb.addEventListener('connect', attach as EventListener);
  usb.addEventListener('disconnect', detach as EventListener);
  return () => {
    usb.removeEventListener('connect', attach as EventListener);
    usb.removeEventListener('disconnect', detach as EventListener);
  };
}

/** A class request to one interface of an opened device, with stalls and unplugs as typed errors. */
export interface InterfaceControl {
  in(request: number, value: number, length: number): Promise<Uint8Array>;
  out(request: number, value: number, data: Uint8Array): Promise<void>;
}

export function classControl(device: UsbDeviceLike, interfaceNumber: number): InterfaceControl {
  const setup = (request: number, value: number): USBControlTransferParameters => ({ requestType: 'class', recipient: 'interface', request, value, index: interfaceNumber });
  return {
    async in(request, value, length) {
      const r = await transfer(() => device.controlTransferIn(setup(request, value), length), request);
      if (r.status !== 'ok') throw stalled(request, r.status);
      return r.data ? new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength) : new Uint8Array(0);
    },
    async out(request, value, data) {
      const r = await transfer(() => device.controlTransferOut(setup(request, value), data as Uint8Array<ArrayBuffer>), request);
      if (r.status !== 'ok') throw stalled(request, r.status);
    },
  };
}

/** Standard GET_DESCRIPTOR of the active configuration, with every class-specific descriptor in it. */
export async function readConfigDescriptor(device: UsbDeviceLike): Promise<Uint8Array> {
  const r = await transfer(
    () => device.controlTransferIn({ requestType: 'standard', recipient: 'device', request: 0x06, value: 0x0200, index: 0 }, 0xffff),
    0x06,
  );
  if (r.status !== 'ok' || !r.data) throw stalled(0x06, r.status);
  return new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength);
}

async function transfer<T>(fn: () => Promise<T>, request: number): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const msg = (err as Error).message ?? String(err);
    if (/stall|pipe/i.test(msg)) throw stalled(request, 'stall');
    if (/no device|disconnected|not found|no such device/i.test(msg))
      throw ioError('usb.disconnected', 'The USB device went away (unplugged or reset).', { request });
    throw ioError('usb.transfer-failed', `A USB control transfer failed: ${msg}`, { request });
  }
}

const stalled = (request: number, status: string | undefined) =>
  deviceError('usb.stall', `The device refused USB request 0x${request.toString(16)} (${status ?? 'no data'}).`, { request, status });
