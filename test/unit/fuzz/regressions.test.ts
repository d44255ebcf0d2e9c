/**
 * Bugs the fuzzer found, one test each: the input that crashed (or hung) now
 * gets a typed error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnbrickError } from '../../../src/core/errors.ts';
import { DfuClient } from '../../../src/dfu/client.ts';
import { decodeFunctionalDescriptor } from '../../../src/dfu/protocol.ts';

const typed = (code: string) => (e: unknown) => e instanceof UnbrickError && e.code === code;

test('a DFU device answering GETSTATUS with 5 bytes gets dfu.bad-status, not a RangeError', async () => {
  const c = new DfuClient({ in: async () => Uint8Array.of(0, 0, 0, 0, 2), out: async () => {} }, { transferSize: 2048 });
  await assert.rejects(c.getStatus(), typed('dfu.bad-status'));
  await assert.rejects(c.ensureIdle(), typed('dfu.bad-status'));
});

test('a functional descriptor that cannot be read is a typed device error', () => {
  assert.throws(() => decodeFunctionalDescriptor(Uint8Array.of(9, 0x21, 0)), typed('dfu.bad-descriptor'));
});

test('an SMP request ends at once with io.port-closed when the link closes during its wait (an erase no longer waits out 2 x 30 s)', async () => {
  const { SmpClient } = await import('../../../src/smp/client.ts');
  const { erase } = await import('../../../src/smp/groups/image.ts');
  let closeLink: ((err?: Error) => void) | undefined;
  const c = new SmpClient({ description: 'test link', write: async () => {}, onData: () => {}, onClose: (l) => (closeLink = l), close: async () => {} });
  const t0 = performance.now();
  const pending = erase(c, 1);
  setTimeout(() => closeLink!(new Error('unplugged')), 50);
  await assert.rejects(pending, typed('io.port-closed'));
  assert.ok(performance.now() - t0 < 10_000, 'ended long before the 30 s erase timeout');
});
