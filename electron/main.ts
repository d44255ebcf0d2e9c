/**
 * The desktop app's main process: one hardened window, the renderer served
 * from the app's own scheme with a strict CSP, and the one typed contract over
 * IPC. Device I/O (the application core) runs here, never in the renderer.
 *
 * Everything Electron-specific takes the `electron` module as a parameter, so
 * tests can drive it with a small test double (the Electron binary is not
 * installed on CI machines); the entry block at the bottom runs only inside Electron.
 */
import type * as ElectronNS from 'electron';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { APP_HOST, APP_ORIGIN, APP_SCHEME, IPC_EVENT, IPC_REQUEST } from '../src/api/ipc.ts';
import { connectFrontEnd } from '../src/app/handlers.ts';
import { eventMessage } from '../src/api/protocol.ts';
import type { ResponseMessage } from '../src/api/contract.ts';
import { dataDir } from '../src/core/paths.ts';
import type { AppCore, PortWatcherOptions } from '../src/app/app-core.ts';
import { createAppCore } from '../src/app/create-app-core.ts';
import { readStatic, resolveStatic } from '../src/server/static.ts';

type Electron = Pick<typeof ElectronNS, 'app' | 'BrowserWindow' | 'ipcMain' | 'protocol' | 'session' | 'dialog'>;

/** The renderer's Content-Security-Policy: our own files only; no network, no eval, no inline code. */
export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const ENTRY_URL = `${APP_ORIGIN}/index.html`;

export function secureWebPreferences(preload: string): ElectronNS.WebPreferences {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    experimentalFeatures: false,
    navigateOnDragDrop: false,
    safeDialogs: true,
    spellcheck: false,
  };
}

/** True only for the top frame of our own window showing our own origin. */
export function isTrustedSender(event: { sender: unknown; senderFrame: { url: string; parent?: unknown } | null }, window: { webContents: unknown } | undefined): boolean {
  if (!window || event.sender !== window.webContents) return false;
  const frame = event.senderFrame;
  if (!frame || frame.parent) return false;
  try {
    const u = new URL(frame.url);
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST;
  } catch {
    return false;
  }
}

/** Serves the built renderer from app://unbrick/ with the CSP on every response. */
export function rendererResponse(rendererDir: string, requestUrl: string): Response {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return new Response('Bad request', { status: 400 });
  }
  const headers = { 'content-security-policy': CSP, 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache' };
  if (url.host !== APP_HOST) return new Response('Not found', { status: 404, headers });
  const file = resolveStatic(rendererDir, url.pathname === '/' ? '/index.html' : url.pathname);
  if (!file) return new Response('Not found', { status: 404, headers });
  return new Response(new Uint8Array(readStatic(file.path)), { status: 200, headers: { ...headers, 'content-type': file.type } });
}

/** Applies the navigation, window and webview rules to every web contents the app ever creates. */
export function hardenWebContents(contents: ElectronNS.WebContents, electron: Pick<Electron, 'dialog'>): void {
  contents.on('will-navigate', (event, url) => {
    if (url !== contents.getURL()) event.preventDefault();
  });
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  // The renderer asks before closing while a device is being written (beforeunload); say why and let the user choose.
  contents.on('will-prevent-unload', (event) => {
    const choice = electron.dialog.showMessageBoxSync({
      type: 'warning',
      buttons: ['Keep working', 'Close anyway'],
      defaultId: 0,
      cancelId: 0,
      title: 'A device is being written',
      message: 'A device is being written. Closing now can leave it unable to start.',
      detail: 'Wait for the job to finish, or cancel it first: a cancelled job can be resumed.',
    });
    if (choice === 1) event.preventDefault();
  });
}

export interface DesktopOptions {
  rendererDir: string;
  preloadPath: string;
  dataDir: string;
  /** The demo lab: 'auto' shows it when no USB serial adapter is attached (src/app/create-app-core.ts). */
  lab: boolean | 'auto';
  /** Real serial port watching (on in the app; tests pass a fake lister). */
  ports?: PortWatcherOptions | false;
}

export interface Desktop {
  window: ElectronNS.BrowserWindow;
  core: AppCore;
}

/** Starts the app. Call before the `ready` event (schemes must be registered first). */
export async function startDesktop(electron: Electron, opts: DesktopOptions): Promise<Desktop> {
  const { app, BrowserWindow, ipcMain, protocol, session } = electron;
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true } }]);
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, electron));
  await app.whenReady();

  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  ses.setDevicePermissionHandler?.(() => false);
  // The renderer never talks to the network: anything not from our own scheme is cancelled.
  ses.webRequest.onBeforeRequest((details, callback) => callback({ cancel: !details.url.startsWith(`${APP_ORIGIN}/`) && !details.url.startsWith('devtools:') }));
  protocol.handle(APP_SCHEME, (request) => rendererResponse(opts.rendererDir, request.url));

  const core = await createAppCore({ dataDir: opts.dataDir, lab: opts.lab, ports: opts.ports ?? {} });
  const window = new BrowserWindow({
    width: 1280,
    height: 820,
    show: false,
    title: 'Unbrick',
    webPreferences: secureWebPreferences(opts.preloadPath),
  });
  const frontEnd = connectFrontEnd(core, 'electron', (event, data) => {
    if (!window.isDestroyed()) window.webContents.send(IPC_EVENT, eventMessage(event, data));
  });
  ipcMain.handle(IPC_REQUEST, async (event, message: unknown): Promise<ResponseMessage> => {
    if (!isTrustedSender(event, window)) {
      const id = Number.isSafeInteger((message as { id?: unknown } | null)?.id) ? (message as { id: number }).id : -1;
      return { type: 'response', id, ok: false, error: { code: 'ipc.untrusted-sender', kind: 'usage', message: 'Request refused: it did not come from the Unbrick window.' } };
    }
    return frontEnd.dispatch(message);
  });
  window.once('ready-to-show', () => window.show());
  window.on('closed', () => {
    frontEnd.close();
    void core.close();
  });
  app.on('window-all-closed', () => app.quit());
  await window.loadURL(ENTRY_URL);
  return { window, core };
}

// Entry point: only inside Electron (the bundled main), never when tests import this module.
if (process.versions.electron && process.type === 'browser') {
  const electron = (await import('electron')) as unknown as Electron;
  const here = fileURLToPath(new URL('.', import.meta.url));
  await startDesktop(electron, {
    rendererDir: join(here, '..', 'renderer') + '/',
    preloadPath: join(here, 'preload.cjs'),
    dataDir: dataDir(),
    // UNBRICK_LAB=1 or 0 forces the demo lab on or off; otherwise it is shown when no hardware is attached.
    lab: process.env.UNBRICK_LAB === '1' ? true : process.env.UNBRICK_LAB === '0' ? false : 'auto',
  });
}
