/**
 * The renderer's only way to the core: the typed contract client over
 * Electron IPC (the preload's `window.unbrick`) or, in server mode, over a
 * WebSocket to the page's own origin with the launch token. Every incoming
 * message is validated by the shared contract (src/api/protocol.ts).
 */
import { createClient, type ApiClient, type MessageChannel } from '../../src/api/protocol.ts';
import type { RequestMessage } from '../../src/api/contract.ts';

/** What electron/preload.ts exposes (and nothing more). */
export interface PreloadBridge {
  send(message: RequestMessage): void;
  onMessage(listener: (message: unknown) => void): void;
}

declare global {
  interface Window {
    unbrick?: PreloadBridge;
  }
}

export interface Connection {
  client: ApiClient;
  onStatus(listener: (status: 'connecting' | 'open' | 'lost') => void): void;
}

export function connect(): Connection {
  const statusListeners = new Set<(s: 'connecting' | 'open' | 'lost') => void>();
  const setStatus = (s: 'connecting' | 'open' | 'lost') => statusListeners.forEach((l) => l(s));
  if (window.unbrick) {
    const client = createClient(window.unbrick);
    return { client, onStatus: (l) => (statusListeners.add(l), l('open')) };
  }
  const token = new URLSearchParams(location.search).get('token') ?? '';
  const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/api?token=${encodeURIComponent(token)}`);
  const queue: string[] = [];
  let listener: ((m: unknown) => void) | undefined;
  let status: 'connecting' | 'open' | 'lost' = 'connecting';
  const channel: MessageChannel = {
    send(message) {
      const text = JSON.stringify(message);
      if (ws.readyState === WebSocket.OPEN) ws.send(text);
      else queue.push(text);
    },
    onMessage(l) {
      listener = l;
    },
  };
  ws.addEventListener('open', () => {
    for (const t of queue.splice(0)) ws.send(t);
    status = 'open';
    setStatus(status);
  });
  ws.addEventListener('message', (ev) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(String(ev.data));
    } catch {
      return;
    }
    listener?.(parsed);
  });
  const client = createClient(channel, { timeoutMs: 60_000 });
  ws.addEventListener('close', () => {
    status = 'lost';
    setStatus(status);
    client.fail({ code: 'api.disconnected', kind: 'io', message: 'The connection to Unbrick was lost. Restart `unbrick serve` and open its new URL.' });
  });
  return { client, onStatus: (l) => (statusListeners.add(l), l(status)) };
}
