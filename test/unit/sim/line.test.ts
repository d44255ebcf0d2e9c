import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacedLine } from '../../../src/sim/line.ts';
import { openPty } from '../../../src/sim/pty.ts';
import { openSerial } from '../../../src/transport/serial.ts';

test('a paced line at 115200 8N1 takes about 1 s for 11520 bytes through a real pty', async () => {
  const pty = openPty();
  const line = new PacedLine(115200, 10, (c) => pty.write(c));
  const host = await openSerial({ path: pty.path, baudRate: 115200 });
  try {
    const got = new Promise<number>((resolve) => {
      let n = 0;
      const t0 = performance.now();
      host.onData((d) => {
        n += d.length;
        if (n >= 11520) resolve(performance.now() - t0);
      });
    });
    const payload = new Uint8Array(11520).map((_, i) => i & 0xff);
    line.push(payload);
    const ms = await got;
    // Wire time is exactly 1000 ms; allow scheduling slack but never faster than the line.
    assert.ok(ms >= 990, `too fast: ${ms} ms`);
    assert.ok(ms < 1400, `too slow: ${ms} ms`);
  } finally {
    await host.close();
    line.close();
    pty.close();
  }
});

test('baud 0 delivers at once, unpaced, byte for byte', () => {
  const chunks: Uint8Array[] = [];
  const line = new PacedLine(0, 10, (c) => chunks.push(c));
  line.push(new Uint8Array([0, 0xff, 0x0a]));
  assert.deepEqual(chunks, [new Uint8Array([0, 0xff, 0x0a])]);
});

test('bytes arrive in order and intact when pushed in many pieces', async () => {
  const out: number[] = [];
  const line = new PacedLine(1_000_000, 10, (c) => out.push(...c));
  const expected: number[] = [];
  for (let i = 0; i < 50; i++) {
    const piece = new Uint8Array(37).map((_, j) => (i * 37 + j) & 0xff);
    expected.push(...piece);
    line.push(piece);
  }
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(out, expected);
});
