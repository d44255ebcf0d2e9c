/**
 * The MCUboot simulator, fed every recorded request's wire bytes, answers with
 * the recorded frames byte for byte, or stays silent where MCUboot did.
 * Cases run in recording order on one device per variant, as they were recorded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { McubootDevice, type McubootOptions } from '../../../src/sim/mcuboot-serial/device.ts';
import { imageChecker } from '../../../src/sim/smp/image-check.ts';
import { MCUBOOT_DEV_KEY_P256 } from '../../../src/sim/smp/keys.ts';
import { mcubootCases } from './vectors.ts';
import { Tap, sleep } from './replay.ts';

const checker = imageChecker([MCUBOOT_DEV_KEY_P256]);
const VARIANTS: Record<string, Partial<McubootOptions>> = {
  A: {},
  B: { images: 2, directUpload: true },
  C: { canonical: true },
  D: { maxReceive: 512 },
};

const cases = mcubootCases();

for (const variant of Object.keys(VARIANTS)) {
  test(`MCUboot variant ${variant}: recorded answers byte for byte`, async () => {
    const dev = new McubootDevice({ checker, ...VARIANTS[variant] });
    const tap = new Tap(dev);
    let resetAt = 0;
    try {
      for (const c of cases.filter((x) => x.variant === variant)) {
        for (const [i, ex] of c.exchanges.entries()) {
          const where = `${c.file} #${i} ${ex.label}`;
          const probe = /t=\+(\d+) ms/.exec(ex.label);
          if (resetAt && !probe && !ex.label.includes('immediately')) await sleep(Math.max(0, resetAt + 320 - performance.now()));
          if (probe && resetAt) {
            // Recorded probe times after the reset answer; the answered one is sent a little later for slack.
            const at = resetAt + (ex.respWire ? Math.max(Number(probe[1]), 320) : Number(probe[1]));
            await sleep(Math.max(0, at - performance.now()));
          }
          dev.input(ex.reqWire);
          const wanted = ex.respWire ? 1 + (c.file.startsWith('A13') && ex.label.includes('back-to-back') ? 1 : 0) : 0;
          if (wanted) await tap.frame(wanted, 2000);
          else await sleep(30);
          const got = tap.take();
          if (!ex.respWire) {
            assert.equal(got.bytes.length, 0, `${where}: expected silence, got ${got.bytes.toString('latin1')}`);
            continue;
          }
          if (wanted === 2) assert.ok(got.bytes.subarray(0, ex.respWire.length).equals(Buffer.from(ex.respWire)), where);
          else assert.equal(got.bytes.toString('latin1'), Buffer.from(ex.respWire).toString('latin1'), where);
          if (ex.req?.header.group === 0 && ex.req.header.id === 5) resetAt = performance.now();
        }
      }
    } finally {
      dev.dispose();
    }
  });
}
