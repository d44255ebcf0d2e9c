/**
 * A small test double of the `electron` module. The Electron binary is not
 * installed on CI machines, so the main process cannot run for real here; this
 * double records what main.ts asks of Electron (window options, handlers) and
 * lets tests fire the events Electron would. Only what main.ts uses is modelled.
 */
import { EventEmitter } from 'node:events';

export class FakeEvent {
  prevented = false;
  preventDefault() {
    this.prevented = true;
  }
}

export class FakeWebContents extends EventEmitter {
  sent: { channel: string; message: unknown }[] = [];
  windowOpenHandler: ((d: { url: string }) => { action: string }) | undefined;
  url = '';
  readonly mainFrame: { url: string; parent: null };
  constructor() {
    super();
    this.mainFrame = { url: '', parent: null };
  }
  send(channel: string, message: unknown) {
    this.sent.push({ channel, message });
  }
  setWindowOpenHandler(h: (d: { url: string }) => { action: string }) {
    this.windowOpenHandler = h;
  }
  getURL() {
    return this.url;
  }
}

export function createElectronDouble(opts: { dialogChoice?: number } = {}) {
  const calls: string[] = [];
  const app = new (class extends EventEmitter {
    ready = false;
    async whenReady() {
      calls.push('app.whenReady');
      this.ready = true;
    }
    quit() {
      calls.push('app.quit');
    }
  })();
  const created: FakeWindow[] = [];
  const ipcHandlers = new Map<string, (event: unknown, message: unknown) => Promise<unknown>>();
  let protocolHandler: ((req: { url: string }) => Response) | undefined;
  const privileged: unknown[] = [];
  type PermissionRequest = (wc: unknown, permission: string, cb: (ok: boolean) => void) => void;
  type Check = (...a: unknown[]) => boolean;
  type BeforeRequest = (d: { url: string }, cb: (r: { cancel: boolean }) => void) => void;
  interface SessionDouble {
    permissionRequest?: PermissionRequest;
    permissionCheck?: Check;
    devicePermission?: Check;
    beforeRequest?: BeforeRequest;
    setPermissionRequestHandler(h: PermissionRequest): void;
    setPermissionCheckHandler(h: Check): void;
    setDevicePermissionHandler(h: Check): void;
    webRequest: { onBeforeRequest(h: BeforeRequest): void };
  }
  const session: SessionDouble = {
    setPermissionRequestHandler(h) {
      session.permissionRequest = h;
    },
    setPermissionCheckHandler(h) {
      session.permissionCheck = h;
    },
    setDevicePermissionHandler(h) {
      session.devicePermission = h;
    },
    webRequest: {
      onBeforeRequest(h) {
        session.beforeRequest = h;
      },
    },
  };
  class FakeWindow extends EventEmitter {
    readonly webContents = new FakeWebContents();
    loaded: string | undefined;
    destroyed = false;
    constructor(readonly options: { webPreferences: Record<string, unknown> }) {
      super();
      created.push(this);
      // Electron emits web-contents-created for every new web contents.
      app.emit('web-contents-created', {}, this.webContents);
    }
    async loadURL(url: string) {
      this.loaded = url;
      this.webContents.url = url;
      this.webContents.mainFrame.url = url;
    }
    isDestroyed() {
      return this.destroyed;
    }
    show() {}
  }
  let dialogChoice = opts.dialogChoice ?? 0;
  const electron = {
    app,
    BrowserWindow: FakeWindow,
    ipcMain: {
      handle(channel: string, h: (event: unknown, message: unknown) => Promise<unknown>) {
        ipcHandlers.set(channel, h);
      },
    },
    protocol: {
      registerSchemesAsPrivileged(schemes: unknown[]) {
        calls.push(`protocol.registerSchemesAsPrivileged(ready=${app.ready})`);
        privileged.push(...schemes);
      },
      handle(_scheme: string, h: (req: { url: string }) => Response) {
        protocolHandler = h;
      },
    },
    session: { defaultSession: session },
    dialog: {
      showMessageBoxSync() {
        calls.push('dialog.showMessageBoxSync');
        return dialogChoice;
      },
    },
  };
  return {
    electron,
    calls,
    created,
    ipcHandlers,
    privileged,
    session,
    protocol: (url: string) => protocolHandler!({ url }),
    setDialogChoice(n: number) {
      dialogChoice = n;
    },
  };
}
