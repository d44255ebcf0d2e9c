// The station screen's side of the contract, in-process (the same handlers Electron and server mode use):
// typed refusals, a real station started from a signed bundle on pty units, coalesced and revisioned
// status events, progress estimates once a unit has passed, and the app leaving the station's ports alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppCore } from '../../../src/app/app-core.ts';
import { connectFrontEnd } from '../../../src/app/handlers.ts';
import { ApiError, createClient, eventMessage, type ApiClient } from '../../../src/api/protocol.ts';
import type { StationStatus } from '../../../src/api/contract.ts';
import { UnbrickError } from '../../../src/core/errors.ts';
import { provisioningLab } from './provisioning-bundle.ts';
import { ptyUnit } from './stm32-units.ts';

function clientFor(core: AppCore): { client: ApiClient; close(): void } {
  let deliver: (m: unknown) => void = () => {};
  const fe = connectFrontEnd(core, 'server', (event, data) => deliver(eventMessage(event, data)));
  const client = createClient({
    send: (m) => void fe.dispatch(m).then((r) => deliver(r)),
    onMessage: (l) => (deliver = l),
  });
  return { client, close: () => fe.close() };
}

/** The error code a call ends with (the client checks parameters before sending, so it may throw at once). */
async function code(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
  } catch (e) {
    return e instanceof ApiError ? e.info.code : e instanceof UnbrickError ? e.code : `untyped: ${String(e)}`;
  }
  return 'no error';
}

test('station methods refuse in plain, typed errors when they cannot act', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-screen-'));
  const core = new AppCore({ dataDir: dir, autoDetect: false });
  const { client, close } = clientFor(core);
  t.after(async () => {
    close();
    await core.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const s = await client.call('station.status', {});
  assert.deepEqual([s.run, s.demoAvailable], [undefined, false]);
  assert.equal(await code(() => client.call('station.startDemo', {})), 'station.demo-off');
  assert.equal(await code(() => client.call('station.approvePilot', {})), 'station.not-running');
  assert.equal(await code(() => client.call('station.enablePort', { port: '/dev/ttyUSB0' })), 'station.not-running');
  assert.equal(await code(() => client.call('station.start', { bundle: join(dir, 'missing.ubundle'), parallel: 0 })), 'api.invalid-message');
  const missing = await code(() => client.call('station.start', { bundle: join(dir, 'missing.ubundle') }));
  assert.notEqual(missing, 'no error');
  assert.ok(!missing.startsWith('untyped'), missing);
  const after = await client.call('station.status', {});
  assert.equal(after.run, undefined);
  assert.equal(after.error?.code, missing, 'the screen can say why the station did not start');
});

test('a station started through the contract: coalesced revisioned events, progress estimates, its ports kept from the device list', { timeout: 120_000 }, async (t) => {
  const { lab, bundle } = await provisioningLab();
  const units = [0, 1, 2].map((i) => ptyUnit('f103', 700 + i, 0, 0.05));
  const others = ptyUnit('f103', 799, 0, 0.05); // a port that is not the station's
  // The app's own port list sees all four adapters.
  const listed = [...units, others].map((u) => ({ path: u.path, vendorId: '0483', productId: '5740' }));
  const core = new AppCore({ dataDir: lab.dataDir, autoDetect: false, ports: { list: async () => listed, intervalMs: 50 } });
  const { client, close } = clientFor(core);
  t.after(async () => {
    close();
    await core.close();
    [...units, others].forEach((u) => u.close());
    lab.cleanup();
  });
  const devicePorts = async () => (await client.call('devices.list', {})).devices.map((d) => d.port).sort();
  for (let i = 0; i < 100 && (await devicePorts()).length < 4; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal((await devicePorts()).length, 4);

  const seen: StationStatus[] = [];
  client.on('station.changed', (s) => seen.push(s));
  const appended: string[] = [];
  client.on('records.appended', (r) => appended.push(r.unitId));
  const started = await client.call('station.start', { bundle, ports: units.map((u) => u.path), parallel: 1, batch: 'screen' });
  assert.equal(started.run?.product, 'Acme Sensor');
  assert.deepEqual(await devicePorts(), [others.path], 'the station owns its ports: not offered to other jobs');

  const deadline = Date.now() + 90_000;
  while (!seen.some((s) => s.run && s.run.passed + s.run.failed === 3)) {
    assert.ok(Date.now() < deadline, `station did not finish: ${JSON.stringify(seen.at(-1)?.run)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const last = seen.at(-1)!.run!;
  assert.deepEqual([last.passed, last.failed, last.started, last.mode], [3, 0, 3, 'running']);
  assert.deepEqual(
    last.ports.map((p) => [p.state, p.progress]),
    units.map(() => ['pass', 1]),
  );
  for (const p of last.ports) assert.match(p.unit ?? '', /^[0-9a-f]{24}$/);
  // The station records in the app's own service log: the records screen hears of each unit.
  assert.deepEqual(appended.sort(), last.ports.map((p) => p.unit).sort());
  // Revisions only grow; events are coalesced (each unit alone has more step changes than this).
  const revs = seen.map((s) => s.revision);
  assert.deepEqual(revs, [...revs].sort((a, b) => a - b));
  // Before any unit passed there is no estimate; after, the running units get one between 0 and 1.
  const running = seen.flatMap((s) => s.run?.ports.filter((p) => p.state === 'running') ?? []);
  assert.ok(running.some((p) => p.progress === undefined));
  const estimated = running.filter((p) => p.progress !== undefined).map((p) => p.progress!);
  assert.ok(estimated.length > 0 && estimated.every((x) => x >= 0 && x < 1), JSON.stringify(estimated));

  const stopped = await client.call('station.stop', {});
  assert.equal(stopped.run, undefined);
  for (let i = 0; i < 100 && (await devicePorts()).length < 4; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal((await devicePorts()).length, 4, 'the ports are the app\'s again once the station stopped');
});
