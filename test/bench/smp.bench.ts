/**
 * SMP upload throughput through ../shared/tools/linesim at 115200 8N1 (no
 * faults), against the MCUboot serial-recovery simulator (stop-and-wait,
 * buffer 1024) and the Zephyr simulator (windowed, 4 x 384-byte buffers),
 * as a percentage of the framing limit for that buffer size: the rate if
 * full request frames followed each other with no idle line (image bytes per
 * frame / wire bytes per frame x 11520 bytes/s). Goals: >= 90 % (MCUboot),
 * >= 95 % (Zephyr). The simulated flash timing is printed beside each figure.
 * `npm run bench -- smp`.
 */
import { openSerial } from '../../src/transport/serial.ts';
import { SmpClient } from '../../src/smp/client.ts';
import { chunkCapacity, uploadImage } from '../../src/smp/upload.ts';
import { frameWireLength } from '../../src/smp/frame.ts';
import { createMcubootSim, hostOnPty } from '../../src/sim/mcuboot-serial/index.ts';
import { createZephyrSim } from '../../src/sim/zephyr/index.ts';
import { buildImage, generateSigningKey } from '../../src/sim/smp/image-builder.ts';
import { FLASH_PROFILES, type FlashProfile } from '../../src/sim/smp/flash-timing.ts';
import type { SmpDevice } from '../../src/sim/smp/device.ts';
import { startLinesim } from '../integration/smp/linesim.ts';

const LINE_BYTES_PER_S = 115200 / 10;

/** Image bytes per full request frame / wire bytes per full frame x line rate. */
export function framingLimit(maxPacket: number, align = 4): number {
  let data = chunkCapacity(maxPacket, 0x10000);
  data -= data % align;
  return (data / frameWireLength(maxPacket)) * LINE_BYTES_PER_S;
}

async function measure(name: string, dev: SmpDevice, flash: FlashProfile, imageBytes: Uint8Array, goal: number): Promise<void> {
  const pty = hostOnPty(dev, { baud: 0 });
  const line = await startLinesim(pty.path);
  const c = new SmpClient(await openSerial({ path: line.host, baudRate: 115200 }), { baud: 115200 });
  try {
    const r = await uploadImage(c, imageBytes);
    const rate = r.bytes / r.seconds;
    const limit = framingLimit(r.plan.maxPacket);
    const pct = (rate / limit) * 100;
    // The device's own flash work for this image (progressive erase of every 4 KiB sector, then programming).
    const t = FLASH_PROFILES[flash].timing;
    const flashS = (t.eraseMs(4096) * Math.ceil(r.bytes / 4096) + t.programMs(r.bytes)) / 1000;
    const wireS = r.bytes / limit;
    console.log(
      `${name.padEnd(34)} ${(r.bytes / 1024).toFixed(0)} KiB in ${r.seconds.toFixed(1)} s = ${rate.toFixed(0)} B/s; ` +
        `framing limit ${limit.toFixed(0)} B/s (packet ${r.plan.maxPacket}, window ${r.plan.window}) -> ${pct.toFixed(1)} % (goal ${goal} %)\n` +
        `${''.padEnd(34)} flash: ${FLASH_PROFILES[flash].text} = ${flashS.toFixed(1)} s of device work` +
        (r.plan.window === 1 ? `; stop-and-wait cannot overlap it, so at best ${((wireS / (wireS + flashS)) * 100).toFixed(1)} %` : '; overlapped by the window'),
    );
  } finally {
    await c.close();
    await line.stop();
    pty.close();
  }
}

export async function run(): Promise<void> {
  const key = generateSigningKey();
  const img = buildImage({ size: 440 * 1024, version: '9.9.9', key });
  console.log('SMP upload through linesim, 115200 8N1, 440 KiB signed image');
  for (const flash of ['nrf52840', 'none'] as const)
    await measure(`MCUboot recovery (stop-and-wait)`, createMcubootSim({ keys: [key.publicPem], flash }), flash, img.bytes, 90);
  for (const flash of ['nrf52840', 'none'] as const)
    await measure(`Zephyr smp_svr (windowed)`, createZephyrSim({ keys: [key.publicPem], flash, slotSize: 0x78000 }), flash, img.bytes, 95);
}
