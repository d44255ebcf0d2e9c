import { test } from 'node:test';
import { createHandlers } from '../../../src/app/handlers.ts';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppCore } from '../../../src/app/app-core.ts';
import { DemoLab } from '../../../src/sim/lab/lab.ts';
import type { DeviceSummary, JobSnapshot } from '../../../src/api/contract.ts';
import { hardwareAttached, type PortInfo } from '../../../src/devices/ports.ts';

async function core(t: { after(fn: () => unknown): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-core-'));
  const c = new AppCore({ dataDir: dir, lab: new DemoLab(), operator: 'tester@bench', autoDetect: false });
  t.after(async () => {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return c;
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

test('the demo lab lists its seven units; unplugging one removes it and says so', async (t) => {
  const c = await core(t);
  assert.deepEqual(
    c.devices.list().map((d) => d.id).sort(),
    ['lab-boot-loop', 'lab-corrupt-image', 'lab-healthy-pending', 'lab-low-battery', 'lab-mcuboot-erased', 'lab-rdp1', 'lab-recovery-empty'],
  );
  const seen: DeviceSummary[][] = [];
  c.on('devices', (l) => seen.push(l));
  c.lab!.setPlugged('lab-rdp1', false);
  assert.equal(seen.length, 1);
  assert.ok(!seen[0]!.some((d) => d.id === 'lab-rdp1'));
  assert.throws(() => c.devices.get('lab-rdp1'), (e: unknown) => (e as { code?: string }).code === 'device.not-found');
});

test('a finished job is recorded in the service log under the unit identity', async (t) => {
  const c = await core(t);
  const jobs: JobSnapshot[] = [];
  c.on('job', (j) => jobs.push(j));
  const started = c.startJob('detect', 'lab-corrupt-image', {});
  await until(() => jobs.some((j) => j.id === started.id && j.endedAt !== undefined));
  const v = c.log.verify();
  assert.equal(v.ok, true);
  assert.equal(v.entries.length, 1);
  const e = v.entries[0]!;
  assert.equal(e.action, 'detect');
  assert.equal(e.operator, 'tester@bench');
  assert.equal(e.unit.id, 'UB-LAB-0002');
  assert.equal(e.unit.serial, 'UB-LAB-0002');
  assert.equal(e.unit.port, 'lab:lab-corrupt-image');
  assert.equal((e.details as { jobId: string }).jobId, started.id);
  // The device is free again.
  assert.equal(c.devices.list().find((d) => d.id === 'lab-corrupt-image')!.busyJobId, undefined);
});

test('a refused workflow is recorded as refused, with its reason', async (t) => {
  const c = await core(t);
  const done = new Promise<JobSnapshot>((resolve) => c.on('job', (j) => j.endedAt && resolve(j)));
  // Without detect the unit is still "identifying": every workflow but detect refuses, saying why.
  c.startJob('update', 'lab-healthy-pending', {});
  const j = await done;
  assert.equal(j.state, 'refused');
  const e = c.log.verify().entries.at(-1)!;
  assert.equal(e.outcome, 'refused');
  assert.equal(e.action, 'update');
  assert.equal(e.summary, j.error!.message);
});

test('real serial adapters appear and disappear in the same list as the lab', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-core-'));
  let ports: PortInfo[] = [{ path: '/dev/ttyS0' }];
  const c = new AppCore({ dataDir: dir, autoDetect: false, ports: { list: async () => ports, intervalMs: 10, extraPaths: ['/dev/pts/99'] } });
  t.after(async () => {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  });
  // Built-in UARTs are left out unless named; a named path is listed even before the OS lists it.
  await until(() => c.devices.list().length === 1);
  assert.deepEqual(c.devices.list().map((d) => d.port), ['/dev/pts/99']);
  ports = [{ path: '/dev/ttyS0' }, { path: '/dev/ttyUSB0', vendorId: '0403', productId: '6001', manufacturer: 'FTDI', serialNumber: 'A10K' }];
  await until(() => c.devices.list().length === 2);
  const usb = c.devices.list().find((d) => d.port === '/dev/ttyUSB0')!;
  assert.equal(usb.simulated, false);
  assert.equal(usb.label, 'FTDI on /dev/ttyUSB0');
  assert.equal(usb.kind, 'identifying');
  ports = [{ path: '/dev/ttyS0' }];
  await until(() => c.devices.list().length === 1);
  assert.equal(await hardwareAttached(async () => ports), false);
  assert.equal(await hardwareAttached(async () => [{ path: '/dev/ttyACM0', vendorId: '2fe3' }]), true);
});

test('a station is not started over a port where a job is running', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-core-'));
  const c = new AppCore({ dataDir: dir, autoDetect: false, ports: { list: async () => [], intervalMs: 10, extraPaths: ['/dev/pts/98', '/dev/pts/99'] } });
  t.after(async () => {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await until(() => c.devices.list().length === 2);
  c.devices.update(c.devices.list().find((d) => d.port === '/dev/pts/99')!.id, { busyJobId: 'job-writing' });
  const start = createHandlers(c, 'server')['station.start'];
  for (const ports of [undefined, ['/dev/pts/99']])
    await assert.rejects(Promise.resolve().then(() => start({ bundle: '/nonexistent.ubundle', ...(ports ? { ports } : {}) }, undefined)), (e: Error & { code?: string }) => e.code === 'station.port-busy' && /\/dev\/pts\/99 is busy/.test(e.message));
  // Another port is free to take: the start goes on (and fails on the missing bundle, not on the busy port).
  await assert.rejects(Promise.resolve().then(() => start({ bundle: '/nonexistent.ubundle', ports: ['/dev/pts/98'] }, undefined)), (e: Error & { code?: string }) => e.code !== 'station.port-busy');
});
