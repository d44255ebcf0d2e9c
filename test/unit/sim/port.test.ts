import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { simulatedPort } from '../../../src/sim/port.ts';

test('simulatedPort: writes reach the device as copies; device bytes reach the host after the turn, not after close', async () => {
  const got: number[][] = [];
  const link = simulatedPort('sim', 'closed!', (d) => got.push([...d]));
  const buf = Uint8Array.of(1, 2);
  await link.port.write(buf);
  buf[0] = 9;
  assert.deepEqual(got, [[1, 2]]);
  const heard: number[][] = [];
  link.port.onData((d) => heard.push([...d]));
  link.toHost(Uint8Array.of(3));
  assert.deepEqual(heard, []);
  await turn();
  assert.deepEqual(heard, [[3]]);
  link.toHost(Uint8Array.of(4));
  await link.port.close();
  await turn();
  assert.deepEqual(heard, [[3]]);
  await assert.rejects(link.port.write(Uint8Array.of(5)), (e: Error & { code?: string }) => e.code === 'io.port-closed' && e.message === 'closed!');
});

test('simulatedPort: unplug closes at once and tells the host now, or after the turn', async () => {
  const now = simulatedPort('sim', 'x', () => {});
  const told: string[] = [];
  now.port.onClose((e) => told.push(`now:${e?.message}`));
  now.unplug(new Error('cut'));
  assert.deepEqual([now.closed, told], [true, ['now:cut']]);
  const later = simulatedPort('sim', 'x', () => {});
  later.port.onClose((e) => told.push(`later:${e?.message}`));
  later.unplug(new Error('gone'), true);
  assert.equal(later.closed, true);
  assert.deepEqual(told, ['now:cut']);
  await turn();
  assert.deepEqual(told, ['now:cut', 'later:gone']);
});
