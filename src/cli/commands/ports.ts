/** `unbrick ports`: serial ports with USB identity and a guess of what is attached. */
import type { CommandGroup } from '../framework.ts';
import { listPorts } from '../../transport/ports.ts';

export const portsGroup: CommandGroup = {
  name: 'ports',
  summary: 'list serial ports with USB vendor/product, serial number and a guess of what is attached',
  commands: [
    {
      name: 'ports',
      summary: 'list serial ports with USB vendor/product, serial number and a guess of what is attached',
      async run() {
        const ports = await listPorts();
        const human = ports.length
          ? ports.map((p) => `${p.path}  ${p.vendorId ? `${p.vendorId}:${p.productId ?? '????'}` : '---------'}  ${p.serialNumber ? `sn ${p.serialNumber}  ` : ''}${p.guess}`)
          : ['No serial ports found. Plug in the USB-serial cable; on Linux, check that you are in the dialout group.'];
        return { data: { ports }, human };
      },
    },
  ],
};
