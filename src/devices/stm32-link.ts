/** Opening an STM32 ROM bootloader session on a device, for the workflows. */
import { An3155Client } from '../stm32/an3155/client.ts';
import { connectStm32, identify, type Stm32Session } from '../stm32/session.ts';
import { UnbrickError } from '../core/errors.ts';
import type { ByteTransport } from '../transport/types.ts';
import type { DeviceHandle } from './registry.ts';
import { traceLink } from '../transport/trace.ts';

export interface Stm32Link {
  session: Stm32Session;
  link: ByteTransport;
  close(): Promise<void>;
}

export async function openStm32(device: DeviceHandle, signal: AbortSignal): Promise<Stm32Link> {
  const link = traceLink(await device.open({ parity: 'even', baudRate: 115200 }), 'an3155');
  try {
    let session: Stm32Session;
    try {
      session = await connectStm32(link, { signal });
    } catch (e) {
      if (!(e instanceof UnbrickError && e.code === 'stm32.no-bootloader')) throw e;
      // A cancelled or cut exchange can leave the bootloader inside a command, swallowing
      // our 0x7F as data: resync (FF 00 pairs) brings it back to command-wait.
      const client = new An3155Client(link, { signal });
      await client.resync();
      session = await identify(client);
    }
    return { session, link, close: () => link.close() };
  } catch (e) {
    await link.close();
    throw e;
  }
}
