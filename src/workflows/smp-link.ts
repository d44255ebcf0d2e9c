/** Opening an SMP session (8N1 serial console) on a device, for the workflows. */
import { SmpClient } from '../smp/client.ts';
import type { DeviceHandle } from './devices.ts';

export interface SmpLink {
  client: SmpClient;
  close(): Promise<void>;
}

export async function openSmp(device: DeviceHandle): Promise<SmpLink> {
  const link = await device.open({ parity: 'none', baudRate: 115200 });
  const client = new SmpClient(link, { baud: 115200 });
  return { client, close: () => link.close() };
}
