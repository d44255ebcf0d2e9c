/**
 * SMP upload throughput through ../shared/tools/linesim at 115200 8N1, zero
 * configuration (the upload engine learns the framing), each as a percentage
 * of the framing limit at the device's largest frame: the rate if full request
 * frames followed each other with no idle line (image bytes per frame / wire
 * bytes per frame x 11520 bytes/s). Beside each: the frame size, window and
 * line pacing the engine settled on (gaps, or lines paced to the device's read
 * grid learned from its answer times), and the frames it lost on the way.
 *
 * - the real MCUboot serial-recovery peer (../shared/peers), 440 KiB signed with
 *   MCUboot's development key: goal >= 96 %
 * - the real stock Zephyr smp_svr peer, app-signed.bin 10 times: 10 of 10
 *   must complete, goal >= 80 %
 * - our Zephyr simulator with its fast-UART setting, windowed: goal >= 97 %
 *
 * `npm run bench -- smp`. Figures depend on host load (linesim and the peers
 * are real-time processes).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chunkCapacity, type UploadResult } from '../../src/smp/upload.ts';
import { frameWireLength } from '../../src/smp/frame.ts';
import { hostOnPty } from '../../src/sim/mcuboot-serial/index.ts';
import { createZephyrSim } from '../../src/sim/zephyr/index.ts';
import { buildImage } from '../../src/sim/smp/image-builder.ts';
import { exportPublicPem, loadKey } from '../../src/crypto/keys.ts';
import { uploadThrough } from '../integration/smp/upload-through.ts';
import { DEV_KEY, startMcubootPeer, startZephyrPeer } from '../integration/smp/peers.ts';
import { MCUBOOT_DIR } from '../integration/smp/vectors.ts';

const LINE_BYTES_PER_S = 115200 / 10;

/** Image bytes per full request frame / wire bytes per full frame x line rate. */
export function framingLimit(maxPacket: number, align = 4): number {
  let data = chunkCapacity(maxPacket, 0x10000);
  data -= data % align;
  return (data / frameWireLength(maxPacket)) * LINE_BYTES_PER_S;
}

function report(name: string, results: UploadResult[], goal: number, attempts = results.length): void {
  const bytes = results.reduce((a, r) => a + r.bytes, 0);
  const seconds = results.reduce((a, r) => a + r.seconds, 0);
  const rate = bytes / seconds;
  const limit = framingLimit(results[0]!.plan.maxPacket);
  const l = results[results.length - 1]!.link;
  const lost = results.reduce((a, r) => a + r.link.framesLost, 0);
  console.log(
    `${name.padEnd(40)} ${results.length}/${attempts} complete, ${(bytes / 1024).toFixed(0)} KiB in ${seconds.toFixed(1)} s = ${rate.toFixed(0)} B/s; ` +
      `limit ${limit.toFixed(0)} B/s at ${results[0]!.plan.maxPacket}-byte packets -> ${((rate / limit) * 100).toFixed(1)} % (goal ${goal} %)\n` +
      `${''.padEnd(40)} settled on: ${l.frameSize}-byte frames (${l.lines} lines), window ${l.window}, ` +
      `${l.gridPaced ? `lines paced to a ${l.gridMs} ms read grid (at most 2 lines per read)` : `${l.lineGapMs} ms between lines${l.gridMs ? ` (read grid ${l.gridMs} ms seen, not used at the end)` : ''}`}; ` +
      `${lost} frames lost; ${results.filter((r) => r.link.gridPaced).length}/${results.length} ended grid-paced`,
  );
}

export async function run(): Promise<void> {
  const dev = loadKey(readFileSync(DEV_KEY, 'utf8'));
  const key = { key: dev, publicPem: exportPublicPem(dev) };
  console.log('SMP upload through linesim, 115200 8N1, zero configuration (host shared with other work: figures move with load)');

  const big = buildImage({ size: 440 * 1024, version: '9.9.9', key });
  if (process.argv.includes('--zephyr-only')) return runZephyr();
  const mcuboot = await startMcubootPeer();
  try {
    report('real MCUboot serial recovery, 440 KiB', [(await uploadThrough(mcuboot.path, big.bytes)).result], 96);
  } finally {
    await mcuboot.stop();
  }

  await runZephyr();

  const sim = createZephyrSim({ keys: [key.publicPem], flash: 'nrf52840', slotSize: 0x78000, rxPeriodMs: 0 });
  const pty = hostOnPty(sim, { baud: 0 });
  try {
    report('Zephyr simulator, fast UART, 440 KiB', [(await uploadThrough(pty.path, big.bytes)).result], 97);
  } finally {
    pty.close();
    sim.dispose();
  }
}

async function runZephyr(): Promise<void> {
  const app = new Uint8Array(readFileSync(join(MCUBOOT_DIR, 'images', 'app-signed.bin')));
  const zephyr = await startZephyrPeer();
  const done: UploadResult[] = [];
  try {
    for (let i = 0; i < 10; i++) {
      try {
        done.push((await uploadThrough(zephyr.path, app, true)).result);
      } catch (e) {
        console.log(`  Zephyr upload ${i + 1} failed: ${(e as Error).message}`);
      }
    }
  } finally {
    await zephyr.stop();
  }
  if (done.length) report('real Zephyr smp_svr (stock UART), 10 x 25 KiB', done, 80, 10);
}
