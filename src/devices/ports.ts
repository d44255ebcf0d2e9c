/**
 * Real serial adapters as devices: polls the OS port list and reports ports
 * as they appear and disappear. Only USB adapters (ports with a USB vendor id)
 * are listed by default: built-in UARTs such as /dev/ttyS0 exist on every PC
 * and are almost never a unit; `extraPaths` adds ports by path (a pty, a
 * built-in UART wired to a unit).
 */
import { listPorts, type PortEntry as PortInfo, type PortLister } from '../transport/ports.ts';
import { openSerial } from '../transport/serial.ts';
import { LINE, type DeviceHandle } from './registry.ts';
import { IDENTITY } from './identity.ts';

export type { PortInfo, PortLister };

/** The one enumeration (transport/ports.ts), which also works where udevadm is missing. */
export const listSerialPorts: PortLister = listPorts;

export function portHandle(p: PortInfo): DeviceHandle {
  const identity = [
    ...(p.vendorId ? [{ name: 'adapter', value: `${p.vendorId}:${p.productId ?? '????'}${p.manufacturer ? ` (${p.manufacturer})` : ''}` }] : []),
    ...(p.serialNumber ? [{ name: IDENTITY.usbSerial, value: p.serialNumber }] : []),
  ];
  return {
    id: `port:${p.path}`,
    port: p.path,
    label: p.manufacturer ? `${p.manufacturer} on ${p.path}` : `Serial port ${p.path}`,
    simulated: false,
    identity,
    open: (framing) => openSerial({ path: p.path, baudRate: framing?.baudRate ?? LINE.smp.baudRate, parity: framing?.parity ?? LINE.smp.parity }),
  };
}

export class PortWatcher {
  private timer: NodeJS.Timeout | undefined;
  private last = '';

  constructor(
    private readonly onPorts: (handles: DeviceHandle[]) => void,
    private readonly opts: { list?: PortLister; intervalMs?: number; extraPaths?: string[]; includeNonUsb?: boolean } = {},
  ) {}

  async poll(): Promise<DeviceHandle[]> {
    let ports: PortInfo[];
    try {
      ports = await (this.opts.list ?? listSerialPorts)();
    } catch {
      ports = []; // no permission to enumerate, or no serial support: show none rather than fail
    }
    const chosen = ports.filter((p) => this.opts.includeNonUsb || p.vendorId || this.opts.extraPaths?.includes(p.path));
    for (const path of this.opts.extraPaths ?? []) if (!chosen.some((p) => p.path === path)) chosen.push({ path });
    const handles = chosen.map(portHandle);
    const key = handles.map((h) => h.id).join('\n');
    if (key !== this.last) {
      this.last = key;
      this.onPorts(handles);
    }
    return handles;
  }

  start(): void {
    const tick = () => {
      void this.poll().finally(() => {
        if (this.timer) this.timer = setTimeout(tick, this.opts.intervalMs ?? 1500);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** True when a USB serial adapter is attached: the demo lab is the default only when none is. */
export async function hardwareAttached(list: PortLister = listSerialPorts): Promise<boolean> {
  try {
    return (await list()).some((p) => !!p.vendorId);
  } catch {
    return false;
  }
}
