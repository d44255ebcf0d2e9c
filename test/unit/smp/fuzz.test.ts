/**
 * Fuzzing the frame decoder, the CBOR decoder and the simulators' request
 * path with truncations, garbage, bit flips and huge lengths: only typed
 * errors (UnbrickError), never an untyped crash, and no hang (each run is
 * bounded and timed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnbrickError } from '../../../src/core/errors.ts';
import { decodeCbor, encodeCbor } from '../../../src/smp/cbor.ts';
import { decodeFrame, encodeFrame, FrameReader } from '../../../src/smp/frame.ts';
import { seededRandom } from '../../../src/core/random.ts';
import { McubootDevice } from '../../../src/sim/mcuboot-serial/device.ts';
import { ZephyrDevice } from '../../../src/sim/zephyr/device.ts';
import { HASH_ONLY } from '../../../src/sim/smp/image-check.ts';

const rand = seededRandom(0xc0ffee);
const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
const sample = encodeCbor({ images: [{ slot: 0, version: '1.2.3', hash: bytes(32), bootable: true, n: -70000, big: 2n ** 40n }], splitStatus: 0 }, { indefinite: true });

function onlyTyped(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof UnbrickError, `untyped error: ${(e as Error).stack}`);
  }
}

test('CBOR decoder: garbage, truncations, flips and huge lengths give typed errors only', () => {
  const t0 = performance.now();
  for (let i = 0; i < 20000; i++) onlyTyped(() => decodeCbor(bytes(1 + Math.floor(rand() * 40))));
  for (let n = 0; n < sample.length; n++) onlyTyped(() => decodeCbor(sample.subarray(0, n)));
  for (let i = 0; i < 5000; i++) {
    const m = Uint8Array.from(sample);
    m[Math.floor(rand() * m.length)]! ^= 1 << Math.floor(rand() * 8);
    onlyTyped(() => decodeCbor(m));
  }
  // Lengths and counts far beyond the input: rejected without allocating them.
  for (const h of ['5bffffffffffffffff', '7affffffff', '9bffffffffffffff00', 'bbffffffffffffffff', '9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f9f', 'bf', '5f41', 'c0c0c0c0', 'ff', '1c'])
    assert.throws(() => decodeCbor(Buffer.from(h, 'hex')), UnbrickError, h);
  assert.ok(performance.now() - t0 < 20000, 'bounded time');
});

test('frame decoder: random lines, corrupted frames and truncations never throw or wedge it', () => {
  const good = encodeFrame(Buffer.concat([Buffer.from('0300000a00000000', 'hex'), Buffer.from('bf61726568656c6c6fff', 'hex')]));
  let packets = 0;
  const r = new FrameReader((e) => {
    if (e.kind === 'packet') packets++;
  });
  for (let i = 0; i < 3000; i++) {
    const kind = i % 4;
    if (kind === 0) r.push(bytes(Math.floor(rand() * 300)));
    else if (kind === 1) {
      const m = Uint8Array.from(good);
      m[Math.floor(rand() * (m.length - 1))]! ^= 1 << Math.floor(rand() * 8);
      r.push(m);
    } else if (kind === 2) r.push(good.subarray(0, Math.floor(rand() * good.length)));
    else r.push(Buffer.from('\x06\x09' + 'A'.repeat(Math.floor(rand() * 5000)) + '\n', 'latin1'));
  }
  // After all that, a good frame still decodes (a start line always resynchronises).
  r.push(Buffer.from('\n'));
  const before = packets;
  r.push(good);
  assert.equal(packets, before + 1);
  for (let i = 0; i < 2000; i++) onlyTyped(() => decodeFrame(bytes(Math.floor(rand() * 200))));
  // A length field claiming 65535 bytes just waits; the next start line resets it.
  const big = Buffer.concat([Buffer.from('\x06\x09', 'latin1'), Buffer.from(Buffer.from('ffff0000', 'hex').toString('base64')), Buffer.from('\n')]);
  r.push(big);
  r.push(good);
  assert.equal(packets, before + 2);
});

test('simulators survive garbage and mutated requests on their RX line', async () => {
  const devices = [new McubootDevice({ checker: HASH_ONLY }), new ZephyrDevice({ checker: HASH_ONLY })];
  for (const dev of devices) {
    let out = 0;
    dev.onOutput((b) => (out += b.length));
    const req = encodeFrame(Buffer.concat([Buffer.from('0200000900000000', 'hex'), Buffer.from('a161646568656c6c6f', 'hex')]));
    for (let i = 0; i < 3000; i++) {
      if (i % 3 === 0) dev.input(bytes(Math.floor(rand() * 200)));
      else {
        // Valid framing around random CBOR and random group/id: the device must answer or ignore, never throw.
        const cbor = bytes(Math.floor(rand() * 30));
        const id = [0, 1, 2, 3, 4, 6, 7, 8, 9][Math.floor(rand() * 9)]!; // not 5: a reset would (rightly) make it deaf for a while
        const hdr = Buffer.from([rand() < 0.5 ? 0 : 2, 0, 0, cbor.length, 0, Math.floor(rand() * 4), i & 0xff, id]);
        dev.input(encodeFrame(Buffer.concat([hdr, cbor])));
      }
      if (i % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    dev.input(Buffer.from('\n'));
    out = 0;
    dev.input(req);
    // The Zephyr model reads its UART on a 20 ms grid and may still be busy with flash work from the
    // garbage: wait for the answer (bounded), not a fixed time.
    for (let waited = 0; out === 0 && waited < 5000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    assert.ok(out > 0, `${dev.constructor.name} still answers a good echo`);
    dev.dispose();
  }
});
