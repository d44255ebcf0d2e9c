/** One zero-configuration upload through linesim at 115200 8N1 to a device's pty (real peer or simulator). */
import { openSerial } from '../../../src/transport/serial.ts';
import { SmpClient } from '../../../src/smp/client.ts';
import { erase } from '../../../src/smp/groups/image.ts';
import { uploadImage, type UploadResult } from '../../../src/smp/upload.ts';
import { startLinesim } from './linesim.ts';

export async function uploadThrough(devicePty: string, image: Uint8Array, eraseFirst = false): Promise<{ result: UploadResult; stats: SmpClient['stats'] }> {
  const line = await startLinesim(devicePty);
  const c = new SmpClient(await openSerial({ path: line.host, baudRate: 115200 }), { baud: 115200 });
  try {
    // Zephyr answers a repeat of a complete upload (same len and sha) at once: erase slot 1 so each one is real.
    if (eraseFirst) await erase(c, 1).catch(() => {});
    return { result: await uploadImage(c, image), stats: c.stats };
  } finally {
    await c.close();
    await line.stop();
  }
}
