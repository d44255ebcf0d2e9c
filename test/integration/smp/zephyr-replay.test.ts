/**
 * The Zephyr simulator (bootloader 'none', like the recorded native_sim),
 * fed every recorded request's wire bytes, answers with the recorded frame
 * lines byte for byte, or stays silent where the device did. Log lines are
 * not compared. Multi-line requests are fed line by line, as the recording
 * paced them, except the recorded burst.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ZephyrDevice } from '../../../src/sim/zephyr/device.ts';
import { imageChecker } from '../../../src/sim/smp/image-check.ts';
import { MCUBOOT_DEV_KEY_P256 } from '../../../src/sim/smp/keys.ts';
import { readShared, zephyrCases } from './vectors.ts';
import { Tap, frameLines, sleep } from './replay.ts';

const checker = imageChecker([MCUBOOT_DEV_KEY_P256]);
const running = readShared('vectors', 'smp-zephyr', 'images', 'slot0-running-1.0.0-signed.bin');

function freshDevice(): ZephyrDevice {
  const dev = new ZephyrDevice({ checker, bootloader: 'none', uartBaud: 0 });
  dev.program(0, running);
  dev.statTicks = () => 3;
  return dev;
}

test('Zephyr smp_svr: recorded answers byte for byte', async () => {
  let dev = freshDevice();
  let tap = new Tap(dev);
  let compared = 0;
  try {
    for (const c of zephyrCases()) {
      if (/^2[34]-fresh/.test(c.file)) {
        dev.dispose();
        dev = freshDevice();
        tap = new Tap(dev);
      }
      // A late answer of the case before (pipelined frames are answered read by read, 20 ms apart)
      // belongs to that case: let it come and drop it before this case's first request.
      await sleep(50);
      tap.take();
      for (const [i, ex] of c.exchanges.entries()) {
        const where = `${c.file} #${i} ${ex.label}`;
        if (ex.label.includes('burst')) dev.input(ex.reqWire);
        else
          for (const line of ex.reqWireLines) {
            dev.input(line);
            // The recording paced requests at 115200 8N1: a line's time before the next (the UART
            // transport's two line buffers need it; the burst cases above send it all at once).
            await sleep(ex.reqWireLines.length > 1 ? 11 : 0);
          }
        if (ex.respWire) await tap.frame(1, 2000);
        await sleep(ex.respWire ? 5 : 30);
        const got = frameLines(tap.take().bytes);
        if (!ex.respWire) {
          assert.equal(got.length, 0, `${where}: expected silence, got ${got.toString('latin1')}`);
          continue;
        }
        const want = Buffer.from(ex.respWire).toString('latin1');
        // Pipelined requests: the recording parsed the first answer; the second follows it.
        const mine = c.file.startsWith('19') ? got.toString('latin1').slice(0, want.length) : got.toString('latin1');
        assert.equal(mine, want, where);
        compared++;
        if (ex.req?.header.group === 0 && ex.req.header.id === 5) await sleep(320);
      }
    }
    assert.ok(compared >= 170, `only ${compared} answers compared`);
  } finally {
    dev.dispose();
  }
});
