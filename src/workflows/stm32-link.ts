/** Opening an STM32 ROM bootloader session on a device, for the workflows. */
import { connectStm32, type Stm32Session } from '../stm32/session.ts';
import type { ByteTransport } from '../transport/types.ts';
import type { DeviceHandle } from './devices.ts';

export interface Stm32Link {
  session: Stm32Session;
  link: ByteTransport;
  close(): Promise<void>;
}

export async function openStm32(device: DeviceHandle, signal: AbortSignal): Promise<Stm32Link> {
  const link = await device.open({ parity: 'even', baudRate: 115200 });
  try {
    const session = await connectStm32(link, { signal });
    return { session, link, close: () => link.close() };
  } catch (e) {
    await link.close();
    throw e;
  }
}
