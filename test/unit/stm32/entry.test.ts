import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enterBootloader, leaveBootloader } from '../../../src/stm32/entry.ts';
import type { ByteTransport } from '../../../src/transport/types.ts';

function fakePort(withLines = true) {
  const calls: Array<{ dtr?: boolean; rts?: boolean }> = [];
  const port: ByteTransport = {
    description: 'fake',
    async write() {},
    onData() {},
    onClose() {},
    async close() {},
    ...(withLines
      ? {
          async setSignals(this: ByteTransport, s: { dtr?: boolean; rts?: boolean }) {
            assert.equal(this, port);
            calls.push(s);
          },
        }
      : {}),
  };
  return { port, calls };
}

test('enter: BOOT0 line asserted with reset, then reset released; leave: the same pulse with BOOT0 low', async () => {
  const a = fakePort();
  assert.equal(await enterBootloader(a.port, 'rts-boot0-dtr-reset'), true);
  assert.deepEqual(a.calls, [{ rts: true, dtr: true }, { dtr: false }]);
  const b = fakePort();
  assert.equal(await leaveBootloader(b.port, 'dtr-boot0-rts-reset'), true);
  assert.deepEqual(b.calls, [{ dtr: false, rts: true }, { rts: false }]);
});

test('inverted lines: asserted is low', async () => {
  const a = fakePort();
  await enterBootloader(a.port, 'dtr-boot0-rts-reset', true);
  assert.deepEqual(a.calls, [{ dtr: false, rts: false }, { rts: true }]);
});

test('no wiring does nothing; a port without modem lines cannot enter (usage error) and leaves nothing', async () => {
  const a = fakePort();
  assert.equal(await enterBootloader(a.port, 'none'), false);
  assert.deepEqual(a.calls, []);
  const b = fakePort(false);
  await assert.rejects(enterBootloader(b.port, 'rts-boot0-dtr-reset'), (e: Error & { code?: string }) => e.code === 'stm32.no-modem-lines');
  assert.equal(await leaveBootloader(b.port, 'rts-boot0-dtr-reset'), false);
});
