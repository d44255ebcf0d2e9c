/**
 * The preload: the only bridge between the sandboxed renderer and the main
 * process. It exposes exactly two functions (send a contract request, receive
 * contract messages) and never the raw ipcRenderer. Runs sandboxed, so it is
 * bundled to one CommonJS file at build time.
 */
import { IPC_EVENT, IPC_REQUEST } from '../src/api/ipc.ts';
import type { RequestMessage } from '../src/api/contract.ts';

/** The part of ipcRenderer the bridge uses. */
export interface IpcRendererLike {
  invoke(channel: string, message: unknown): Promise<unknown>;
  on(channel: string, listener: (event: unknown, message: unknown) => void): void;
}

export interface UnbrickBridge {
  send(message: RequestMessage): void;
  onMessage(listener: (message: unknown) => void): void;
}

export function createBridge(ipc: IpcRendererLike): UnbrickBridge {
  let listener: ((m: unknown) => void) | undefined;
  ipc.on(IPC_EVENT, (_event, message) => listener?.(message));
  return Object.freeze({
    send(message: RequestMessage) {
      // Pass only the contract's envelope fields: nothing else crosses, whatever the caller added.
      const id = Number.isSafeInteger(message?.id) ? message.id : -1;
      const envelope = { type: 'request', id, method: String(message?.method), params: message?.params };
      ipc.invoke(IPC_REQUEST, envelope).then(
        (reply) => listener?.(reply),
        (err: unknown) =>
          listener?.({
            type: 'response',
            id,
            ok: false,
            error: { code: 'ipc.failed', kind: 'io', message: `The app's main process did not answer: ${err instanceof Error ? err.message : String(err)}` },
          }),
      );
    },
    onMessage(l: (m: unknown) => void) {
      listener = l;
    },
  });
}

// In Electron's sandboxed preload, `require('electron')` is the only module access there is.
declare const require: ((id: 'electron') => { contextBridge: { exposeInMainWorld(key: string, api: unknown): void }; ipcRenderer: IpcRendererLike }) | undefined;
if (typeof require === 'function' && typeof process !== 'undefined' && process.versions?.electron) {
  const { contextBridge, ipcRenderer } = require('electron');
  contextBridge.exposeInMainWorld('unbrick', createBridge(ipcRenderer));
}
