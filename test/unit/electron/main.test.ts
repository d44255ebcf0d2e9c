/**
 * The desktop app's security settings and IPC validation, asserted on the real
 * main.ts and preload.ts driven by a test double of `electron` (see
 * electron-double.ts for why a double: the Electron binary is absent here).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CSP, ENTRY_URL } from '../../../electron/main.ts';
import { createBridge } from '../../../electron/preload.ts';
import { IPC_EVENT, IPC_REQUEST } from '../../../src/api/ipc.ts';
import { FakeEvent, FakeWebContents } from './electron-double.ts';
import { bootDesktop } from './desktop.ts';

async function boot(t: { after(fn: () => unknown): void }) {
  const { dir, double, win } = await bootDesktop(t, 'unbrick-electron-', { 'renderer/assets/app.js': 'console.log(1)', 'secret.txt': 'not for the renderer' });
  const ipc = double.ipcHandlers.get(IPC_REQUEST)!;
  const trusted = { sender: win.webContents, senderFrame: win.webContents.mainFrame };
  return { double, win, ipc, trusted, dir };
}

test('the window is created with isolation, sandbox and no Node, and loads the app scheme', async (t) => {
  const { double, win } = await boot(t);
  const p = win.options.webPreferences;
  assert.equal(p.contextIsolation, true);
  assert.equal(p.sandbox, true);
  assert.equal(p.nodeIntegration, false);
  assert.equal(p.nodeIntegrationInWorker, false);
  assert.equal(p.nodeIntegrationInSubFrames, false);
  assert.equal(p.webSecurity, true);
  assert.equal(p.allowRunningInsecureContent, false);
  assert.equal(p.webviewTag, false);
  assert.match(String(p.preload), /preload\.cjs$/);
  assert.equal(win.loaded, ENTRY_URL);
  assert.ok(ENTRY_URL.startsWith('app://unbrick/'));
  // The scheme must be registered before the app is ready, or Electron ignores it.
  assert.equal(double.calls[0], 'protocol.registerSchemesAsPrivileged(ready=false)');
  assert.deepEqual(double.privileged, [{ scheme: 'app', privileges: { standard: true, secure: true } }]);
});

test('every permission request and check is denied', async (t) => {
  const { double } = await boot(t);
  for (const permission of ['media', 'geolocation', 'notifications', 'serial', 'hid', 'usb', 'clipboard-read', 'openExternal']) {
    let answer: boolean | undefined;
    double.session.permissionRequest!({}, permission, (ok) => (answer = ok));
    assert.equal(answer, false, permission);
    assert.equal(double.session.permissionCheck!({}, permission, 'app://unbrick', {}), false);
  }
  assert.equal(double.session.devicePermission!({}), false);
});

test('navigation, redirects, new windows and webviews are denied', async (t) => {
  const { win } = await boot(t);
  const wc = win.webContents;
  const nav = new FakeEvent();
  wc.emit('will-navigate', nav, 'https://evil.example/');
  assert.equal(nav.prevented, true);
  const fileNav = new FakeEvent();
  wc.emit('will-navigate', fileNav, 'file:///etc/passwd');
  assert.equal(fileNav.prevented, true);
  const redirect = new FakeEvent();
  wc.emit('will-redirect', redirect, 'https://evil.example/');
  assert.equal(redirect.prevented, true);
  const webview = new FakeEvent();
  wc.emit('will-attach-webview', webview, {}, {});
  assert.equal(webview.prevented, true);
  assert.deepEqual(wc.windowOpenHandler!({ url: 'https://evil.example/' }), { action: 'deny' });
  assert.deepEqual(wc.windowOpenHandler!({ url: ENTRY_URL }), { action: 'deny' });
});

test('any other web contents gets the same rules', async (t) => {
  const { double } = await boot(t);
  const other = new FakeWebContents();
  double.electron.app.emit('web-contents-created', {}, other);
  const nav = new FakeEvent();
  other.emit('will-navigate', nav, 'https://evil.example/');
  assert.equal(nav.prevented, true);
  assert.deepEqual(other.windowOpenHandler!({ url: 'x' }), { action: 'deny' });
});

test('network requests other than the app scheme are cancelled', async (t) => {
  const { double } = await boot(t);
  const verdict = (url: string) => {
    let cancel: boolean | undefined;
    double.session.beforeRequest!({ url }, (r) => (cancel = r.cancel));
    return cancel;
  };
  assert.equal(verdict('https://example.com/x.js'), true);
  assert.equal(verdict('http://127.0.0.1:8080/'), true);
  assert.equal(verdict('file:///etc/passwd'), true);
  assert.equal(verdict('app://unbrick/assets/app.js'), false);
});

test('the app scheme serves only the renderer, always with the strict CSP', async (t) => {
  const { double } = await boot(t);
  const index = double.protocol('app://unbrick/index.html');
  assert.equal(index.status, 200);
  assert.equal(index.headers.get('content-security-policy'), CSP);
  assert.match(CSP, /default-src 'none'/);
  assert.match(CSP, /script-src 'self'(;|$)/);
  assert.doesNotMatch(CSP, /unsafe-inline|unsafe-eval/);
  assert.equal(double.protocol('app://unbrick/assets/app.js').headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.equal(double.protocol('app://unbrick/../secret.txt').status, 404);
  assert.equal(double.protocol('app://unbrick/%2e%2e/secret.txt').status, 404);
  assert.equal(double.protocol('app://unbrick/assets/%2e%2e%2f..%2fsecret.txt').status, 404);
  assert.equal(double.protocol('app://other/index.html').status, 404);
  assert.equal(double.protocol('app://unbrick/missing.js').headers.get('content-security-policy'), CSP);
});

test('IPC answers the window and validates every message', async (t) => {
  const { ipc, trusted } = await boot(t);
  const ok = (await ipc(trusted, { type: 'request', id: 1, method: 'devices.list', params: {} })) as { ok: boolean; result: { devices: { id: string }[] } };
  assert.equal(ok.ok, true);
  assert.equal(ok.result.devices.length, 7);

  const cases: [unknown, string][] = [
    [{ type: 'request', id: 2, method: 'devices.list', params: { all: true } }, 'api.invalid-message'],
    [{ type: 'request', id: 3, method: 'shell.exec', params: {} }, 'api.unknown-method'],
    [{ type: 'request', id: 4, method: 'constructor', params: {} }, 'api.unknown-method'],
    [{ type: 'request', id: 5, method: 'jobs.start', params: { workflow: 'detect', deviceId: 42 } }, 'api.invalid-message'],
    ['{"type":"request"}', 'api.invalid-message'],
    [null, 'api.invalid-message'],
  ];
  for (const [message, code] of cases) {
    const r = (await ipc(trusted, message)) as { ok: boolean; error: { code: string } };
    assert.equal(r.ok, false, JSON.stringify(message));
    assert.equal(r.error.code, code, JSON.stringify(message));
  }
});

test('IPC refuses senders other than the top frame of our window on our origin', async (t) => {
  const { ipc, win } = await boot(t);
  const req = { type: 'request', id: 9, method: 'lab.plug', params: { unitId: 'lab-rdp1', plugged: false } };
  const refused = async (event: unknown) => {
    const r = (await ipc(event, req)) as { ok: boolean; id: number; error: { code: string } };
    assert.equal(r.ok, false);
    assert.equal(r.id, 9);
    assert.equal(r.error.code, 'ipc.untrusted-sender');
  };
  await refused({ sender: new FakeWebContents(), senderFrame: { url: ENTRY_URL, parent: null } });
  await refused({ sender: win.webContents, senderFrame: { url: 'https://evil.example/', parent: null } });
  await refused({ sender: win.webContents, senderFrame: { url: 'file:///index.html', parent: null } });
  await refused({ sender: win.webContents, senderFrame: { url: ENTRY_URL, parent: {} } });
  await refused({ sender: win.webContents, senderFrame: null });
  // Nothing happened: the unit is still plugged.
  const list = (await ipc({ sender: win.webContents, senderFrame: win.webContents.mainFrame }, { type: 'request', id: 10, method: 'devices.list', params: {} })) as {
    result: { devices: { id: string }[] };
  };
  assert.ok(list.result.devices.some((d) => d.id === 'lab-rdp1'));
});

test('core events reach the window as validated contract events', async (t) => {
  const { ipc, trusted, win } = await boot(t);
  win.webContents.sent.length = 0;
  await ipc(trusted, { type: 'request', id: 1, method: 'lab.plug', params: { unitId: 'lab-rdp1', plugged: false } });
  const ev = win.webContents.sent.find((s) => s.channel === IPC_EVENT && (s.message as { event: string }).event === 'devices.changed');
  assert.ok(ev, 'devices.changed was sent');
  const ids = (ev.message as { data: { devices: { id: string }[] } }).data.devices.map((d) => d.id);
  assert.ok(!ids.includes('lab-rdp1'));
});

test('closing while a device is written asks first; "close anyway" lets it close', async (t) => {
  const { double, win } = await boot(t);
  const keep = new FakeEvent();
  double.setDialogChoice(0);
  win.webContents.emit('will-prevent-unload', keep);
  assert.equal(keep.prevented, false, 'keep working: the unload stays prevented');
  const close = new FakeEvent();
  double.setDialogChoice(1);
  win.webContents.emit('will-prevent-unload', close);
  assert.equal(close.prevented, true, 'close anyway: the beforeunload veto is overridden');
  assert.equal(double.calls.filter((c) => c === 'dialog.showMessageBoxSync').length, 2);
});

test('the preload exposes only send/onMessage and passes only the envelope', async () => {
  const invoked: unknown[] = [];
  let eventListener: ((e: unknown, m: unknown) => void) | undefined;
  const bridge = createBridge({
    invoke: async (channel, message) => {
      invoked.push({ channel, message });
      if ((message as { method: string }).method === 'boom') throw new Error('main crashed');
      return { type: 'response', id: (message as { id: number }).id, ok: true, result: {} };
    },
    on: (channel, l) => {
      assert.equal(channel, IPC_EVENT);
      eventListener = l;
    },
  });
  assert.deepEqual(Object.keys(bridge).sort(), ['onMessage', 'send']);
  assert.ok(Object.isFrozen(bridge));
  const got: unknown[] = [];
  bridge.onMessage((m) => got.push(m));
  bridge.send({ type: 'request', id: 1, method: 'app.info', params: {}, extra: 'dropped' } as never);
  bridge.send({ type: 'request', id: 2, method: 'boom', params: {} });
  eventListener!({}, { type: 'event', event: 'devices.changed', data: { devices: [] } });
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(invoked[0], { channel: IPC_REQUEST, message: { type: 'request', id: 1, method: 'app.info', params: {} } });
  assert.equal(got.length, 3);
  assert.ok(got.some((m) => (m as { error?: { code: string } }).error?.code === 'ipc.failed'));
});
