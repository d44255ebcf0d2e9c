/**
 * The DfuSe simulator seen through the `usb` package's WebUSB-shaped API, so
 * Unbrick's real USB code path (transport/usb.ts, dfu/session.ts) runs
 * against it in-process. A chip reset makes this handle go away like an
 * unplugged device; `reconnect()` gives the handle the host would find next.
 */
import type { UsbDeviceLike } from '../../transport/usb.ts';
import type { DfuseDeviceSim, SetupPacket } from './device.ts';

const REQUEST_TYPE = { standard: 0x00, class: 0x20, vendor: 0x40 } as const;
const RECIPIENT = { device: 0, interface: 1, endpoint: 2, other: 3 } as const;

export class SimulatedUsbDevice implements UsbDeviceLike {
  readonly vendorId = 0x0483;
  readonly productId = 0xdf11;
  readonly manufacturerName = 'STMicroelectronics';
  readonly productName = 'DFU in FS Mode';
  opened = false;
  private gone = false;

  constructor(private readonly sim: DfuseDeviceSim) {
    sim.onReset(() => {
      this.gone = true;
      this.opened = false;
    });
  }

  get serialNumber(): string {
    return this.sim.identity.serialNumber;
  }

  /** The device as the host finds it after a reset; undefined once RDP level 2 keeps the ROM bootloader from running. */
  reconnect(): SimulatedUsbDevice | undefined {
    return this.sim.backend.bootloaderAvailable() ? new SimulatedUsbDevice(this.sim) : undefined;
  }

  get configuration(): USBConfiguration {
    const alternates = this.sim.backend.altNames.map(
      (name, alt) =>
        ({ alternateSetting: alt, interfaceClass: 0xfe, interfaceSubclass: 0x01, interfaceProtocol: 0x02, interfaceName: name, endpoints: [] }) as unknown as USBAlternateInterface,
    );
    const iface = { interfaceNumber: 0, alternate: alternates[0]!, alternates, claimed: false } as unknown as USBInterface;
    return { configurationValue: 1, configurationName: undefined, interfaces: [iface] } as unknown as USBConfiguration;
  }

  private check(): void {
    if (this.gone) throw new Error('LIBUSB_ERROR_NO_DEVICE: no such device (it may have been disconnected)');
    if (!this.opened) throw new Error('device not opened');
  }

  async open(): Promise<void> {
    if (this.gone) throw new Error('LIBUSB_ERROR_NO_DEVICE: no such device (it may have been disconnected)');
    this.opened = true;
  }

  async close(): Promise<void> {
    this.opened = false;
  }

  async claimInterface(n: number): Promise<void> {
    this.check();
    if (n !== 0) throw new Error(`no interface ${n}`);
  }

  async releaseInterface(_n: number): Promise<void> {}

  async selectAlternateInterface(_n: number, alt: number): Promise<void> {
    this.check();
    if (!this.sim.setAlt(alt)) throw new Error(`LIBUSB_ERROR_NOT_FOUND: no alternate setting ${alt}`);
  }

  async controlTransferIn(setup: USBControlTransferParameters, length: number): Promise<USBInTransferResult> {
    this.check();
    if (setup.requestType === 'standard' && setup.request === 0x06 && setup.value >> 8 === 0x02) {
      const body = this.sim.interfaceDescriptors();
      const total = 9 + body.length;
      const config = new Uint8Array([9, 0x02, total & 0xff, total >> 8, 1, 1, 0, 0x80, 50, ...body]);
      return { status: 'ok', data: new DataView(config.buffer, 0, Math.min(length, config.length)) };
    }
    return this.classRequest(setup, 0x80, length, undefined);
  }

  async controlTransferOut(setup: USBControlTransferParameters, data?: BufferSource): Promise<USBOutTransferResult> {
    this.check();
    const bytes = data ? new Uint8Array(ArrayBuffer.isView(data) ? data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) : data) : new Uint8Array(0);
    const r = await this.classRequest(setup, 0x00, bytes.length, bytes);
    return { status: r.status, bytesWritten: r.status === 'ok' ? bytes.length : 0 };
  }

  private async classRequest(setup: USBControlTransferParameters, direction: number, wLength: number, data: Uint8Array | undefined): Promise<USBInTransferResult> {
    const packet: SetupPacket = {
      bmRequestType: direction | REQUEST_TYPE[setup.requestType] | RECIPIENT[setup.recipient],
      bRequest: setup.request,
      wValue: setup.value,
      wIndex: setup.index,
      wLength,
    };
    if (setup.requestType !== 'class' || setup.index !== 0) return { status: 'stall' };
    const r = this.sim.control(packet, data);
    // Let a reset scheduled by this request land before the host's next request.
    await Promise.resolve();
    if (r.kind === 'stall') return { status: 'stall' };
    if (r.kind === 'ack') return { status: 'ok' };
    return { status: 'ok', data: new DataView(r.data.buffer, r.data.byteOffset, r.data.byteLength) };
  }
}
