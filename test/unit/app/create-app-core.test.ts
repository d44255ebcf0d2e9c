import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAppCore, LAB_UNIT_IDS } from '../../../src/app/create-app-core.ts';
import { UnbrickError } from '../../../src/core/errors.ts';

const dataDir = (t: { after(fn: () => unknown): void }) => {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-create-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};
const adapter = { path: '/dev/ttyUSB0', vendorId: '0403', productId: '6001' };

test("'auto' shows the demo lab only when no USB serial adapter is attached", async (t) => {
  const dir = dataDir(t);
  const none = await createAppCore({ dataDir: dir, autoDetect: false, ports: false, listPorts: async () => [] });
  const some = await createAppCore({ dataDir: dir, autoDetect: false, ports: false, listPorts: async () => [adapter] });
  t.after(() => Promise.all([none.close(), some.close()]));
  assert.ok(none.lab);
  assert.equal(none.devices.list().length, LAB_UNIT_IDS.length);
  assert.equal(some.lab, undefined);
  assert.equal(some.devices.list().length, 0);
});

test('true and false force the lab; a list of ids shows only those units; an unknown id is a usage error', async (t) => {
  const dir = dataDir(t);
  const forced = await createAppCore({ dataDir: dir, autoDetect: false, ports: false, lab: true, listPorts: async () => [adapter] });
  const off = await createAppCore({ dataDir: dir, autoDetect: false, ports: false, lab: false, listPorts: async () => [] });
  const one = await createAppCore({ dataDir: dir, autoDetect: false, ports: false, lab: [LAB_UNIT_IDS[0]!] });
  t.after(() => Promise.all([forced.close(), off.close(), one.close()]));
  assert.ok(forced.lab);
  assert.equal(off.lab, undefined);
  assert.deepEqual(one.devices.list().map((d) => d.id), [LAB_UNIT_IDS[0]]);
  await assert.rejects(createAppCore({ dataDir: dir, lab: ['lab-nope'] }), (e: unknown) => e instanceof UnbrickError && e.code === 'usage.unknown-lab-unit');
});
