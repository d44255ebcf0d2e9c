/**
 * Both ends of the contract: the dispatcher (core side) parses each request and
 * routes it to a typed handler; the client (UI side, also used by tests and
 * scripts) parses each response and event. Transports (Electron IPC, the
 * server's WebSocket) only move these messages. Pure TypeScript.
 */
import { UnbrickError } from '../core/errors.ts';
import {
  ErrorInfoSchema,
  type ErrorInfo,
  type EventData,
  type EventName,
  events,
  type MethodName,
  methods,
  type Params,
  type RequestMessage,
  type ResponseMessage,
  type Result,
  type ServerMessage,
} from './contract.ts';
import { json, literal, num, obj, parseAs, type Schema, str } from '../core/schema.ts';

/** Parses one contract value; a failure is `api.invalid-message` naming the field. */
const message = <T>(schema: Schema<T>, value: unknown, path = ''): T => parseAs(schema, value, { what: 'Invalid message', code: 'api.invalid-message', path });

const RequestEnvelope = obj({
  type: literal('request'),
  id: num({ int: true, min: 0, max: Number.MAX_SAFE_INTEGER }),
  method: str({ max: 100 }),
  params: json({ depth: 12 }),
});

const isMethod = (m: string): m is MethodName => Object.hasOwn(methods, m);
const isEvent = (e: string): e is EventName => Object.hasOwn(events, e);

/** Parses one incoming request; throws `api.invalid-message` / `api.unknown-method`. */
export function parseRequest(raw: unknown): { id: number; method: MethodName; params: unknown } {
  const env = message(RequestEnvelope, raw);
  if (!isMethod(env.method)) throw new UnbrickError('input', 'api.unknown-method', `Unknown method "${env.method}".`);
  const params = message(methods[env.method].params, env.params, 'params');
  return { id: env.id, method: env.method, params };
}

export function toErrorInfo(err: unknown): ErrorInfo {
  if (err instanceof UnbrickError) {
    const info: ErrorInfo = { code: err.code, kind: err.kind, message: err.message };
    if (err.details !== undefined) {
      try {
        info.details = json().parse(JSON.parse(JSON.stringify(err.details)));
      } catch {
        /* details that are not plain JSON are left out rather than failing the reply */
      }
    }
    return info;
  }
  return { code: 'internal', kind: 'io', message: err instanceof Error ? err.message : String(err) };
}

export type Handlers<C = void> = { [M in MethodName]: (params: Params<M>, ctx: C) => Promise<Result<M>> | Result<M> };

/**
 * Routes parsed requests to handlers. Results are parsed with their schema on
 * the way out too, so a core bug shows up as a clear error here rather than as
 * a confused UI.
 */
export function createDispatcher<C>(handlers: Handlers<C>) {
  return async function dispatch(raw: unknown, ctx: C): Promise<ResponseMessage> {
    const id = typeof raw === 'object' && raw !== null && Number.isSafeInteger((raw as { id?: unknown }).id) ? ((raw as { id: number }).id) : -1;
    try {
      const req = parseRequest(raw);
      const handler = handlers[req.method] as (p: unknown, c: C) => Promise<unknown>;
      const result: unknown = await handler(req.params, ctx);
      return { type: 'response', id: req.id, ok: true, result: message(methods[req.method].result as Schema<Result<MethodName>>, result, 'result') };
    } catch (err) {
      return { type: 'response', id, ok: false, error: toErrorInfo(err) };
    }
  };
}

export function eventMessage<E extends EventName>(event: E, data: EventData<E>): ServerMessage {
  return { type: 'event', event, data: message(events[event] as Schema<unknown>, data, 'data') as EventData<E> };
}

// ---- client -------------------------------------------------------------------------------

/** What a client needs from a transport: send one message, receive messages. */
export interface MessageChannel {
  send(message: RequestMessage): void;
  onMessage(listener: (message: unknown) => void): void;
}

/** An error returned by the core, kept typed for the UI. */
export class ApiError extends Error {
  readonly info: ErrorInfo;
  constructor(info: ErrorInfo) {
    super(info.message);
    this.name = 'ApiError';
    this.info = info;
  }
}

const ResponseOk = obj({ type: literal('response'), id: num({ int: true }), ok: literal(true), result: json({ depth: 12 }) });
const ResponseErr = obj({ type: literal('response'), id: num({ int: true }), ok: literal(false), error: ErrorInfoSchema });
const EventEnvelope = obj({ type: literal('event'), event: str({ max: 100 }), data: json({ depth: 12 }) });

export interface ApiClient {
  call<M extends MethodName>(method: M, params: Params<M>): Promise<Result<M>>;
  on<E extends EventName>(event: E, listener: (data: EventData<E>) => void): () => void;
  /** Messages that failed validation (kept for diagnostics; they are otherwise dropped). */
  readonly rejected: number;
  /** Fails every request still waiting (the connection dropped). */
  fail(info: ErrorInfo): void;
}

export function createClient(channel: MessageChannel, opts: { timeoutMs?: number } = {}): ApiClient {
  let nextId = 1;
  let rejected = 0;
  const pending = new Map<number, { method: MethodName; resolve: (v: unknown) => void; reject: (e: Error) => void; timer?: ReturnType<typeof setTimeout> }>();
  const listeners = new Map<string, Set<(d: unknown) => void>>();

  channel.onMessage((raw) => {
    try {
      const type = (raw as { type?: unknown } | null)?.type;
      if (type === 'event') {
        const ev = message(EventEnvelope, raw);
        if (!isEvent(ev.event)) throw new UnbrickError('input', 'api.unknown-event', `Unknown event "${ev.event}".`);
        const data = message(events[ev.event] as Schema<unknown>, ev.data, 'data');
        for (const l of listeners.get(ev.event) ?? []) l(data);
        return;
      }
      const ok = (raw as { ok?: unknown } | null)?.ok;
      const res = ok === true ? message(ResponseOk, raw) : message(ResponseErr, raw);
      const p = pending.get(res.id);
      if (!p) throw new UnbrickError('input', 'api.unexpected-response', `No request ${res.id} is waiting.`);
      pending.delete(res.id);
      if (p.timer) clearTimeout(p.timer);
      if (res.ok) {
        try {
          p.resolve(message(methods[p.method].result as Schema<unknown>, res.result, 'result'));
        } catch (e) {
          p.reject(e as Error);
        }
      } else p.reject(new ApiError(res.error));
    } catch {
      rejected++;
    }
  });

  return {
    get rejected() {
      return rejected;
    },
    fail(info) {
      for (const [id, p] of pending) {
        pending.delete(id);
        if (p.timer) clearTimeout(p.timer);
        p.reject(new ApiError(info));
      }
    },
    call(method, params) {
      const id = nextId++;
      // Validate on the way out too: a UI bug is caught here, with the field named.
      const checked = message(methods[method].params, params, 'params');
      return new Promise((resolve, reject) => {
        const entry: { method: MethodName; resolve: (v: unknown) => void; reject: (e: Error) => void; timer?: ReturnType<typeof setTimeout> } = {
          method,
          resolve: resolve as (v: unknown) => void,
          reject,
        };
        if (opts.timeoutMs) {
          entry.timer = setTimeout(() => {
            pending.delete(id);
            reject(new ApiError({ code: 'api.timeout', kind: 'io', message: `The app did not answer "${method}" in time. Restart it if this repeats.` }));
          }, opts.timeoutMs);
        }
        pending.set(id, entry);
        channel.send({ type: 'request', id, method, params: checked ?? {} });
      });
    },
    on(event, listener) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener as (d: unknown) => void);
      return () => set.delete(listener as (d: unknown) => void);
    },
  };
}

