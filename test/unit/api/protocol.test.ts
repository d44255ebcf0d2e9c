import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, createDispatcher, parseRequest, type Handlers, type MessageChannel, ApiError } from '../../../src/api/protocol.ts';
import { methods, type RequestMessage } from '../../../src/api/contract.ts';
import { UnbrickError, deviceError } from '../../../src/core/errors.ts';

const device = { id: 'lab-a', port: 'lab:lab-a', label: 'A', kind: 'unknown', summary: 'x', simulated: true } as const;

function handlers(overrides: Partial<Handlers> = {}): Handlers {
  const notUsed = () => {
    throw new Error('not used in this test');
  };
  return {
    'app.info': () => ({ version: '0.1.0', apiVersion: 1, mode: 'server', lab: true, dataDir: '/tmp/x' }),
    'devices.list': () => ({ devices: [device] }),
    'devices.get': notUsed,
    'jobs.start': notUsed,
    'jobs.get': notUsed,
    'jobs.list': () => ({ jobs: [] }),
    'jobs.cancel': notUsed,
    'jobs.resume': notUsed,
    'jobs.confirm': notUsed,
    'records.list': notUsed,
    'records.report': notUsed,
    'lab.list': notUsed,
    'lab.plug': () => ({ ok: true as const }),
    ...overrides,
  } as Handlers;
}

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof UnbrickError, `expected UnbrickError, got ${String(e)}`);
    return e.code;
  }
  assert.fail('expected a throw');
};

test('parseRequest accepts a well-formed request and types its params', () => {
  const r = parseRequest({ type: 'request', id: 7, method: 'lab.plug', params: { unitId: 'lab-a', plugged: false } });
  assert.deepEqual(r, { id: 7, method: 'lab.plug', params: { unitId: 'lab-a', plugged: false } });
});

test('parseRequest refuses malformed envelopes, unknown methods, bad and extra params', () => {
  assert.equal(codeOf(() => parseRequest(null)), 'api.invalid-message');
  assert.equal(codeOf(() => parseRequest({ type: 'request', id: -1, method: 'app.info', params: {} })), 'api.invalid-message');
  assert.equal(codeOf(() => parseRequest({ type: 'request', id: 1, method: 'app.info', params: {}, extra: 1 })), 'api.invalid-message');
  assert.equal(codeOf(() => parseRequest({ type: 'request', id: 1, method: 'fs.readFile', params: {} })), 'api.unknown-method');
  assert.equal(codeOf(() => parseRequest({ type: 'request', id: 1, method: '__proto__', params: {} })), 'api.unknown-method');
  assert.equal(codeOf(() => parseRequest({ type: 'request', id: 1, method: 'lab.plug', params: { unitId: 'a', plugged: 'yes' } })), 'api.invalid-message');
  assert.equal(codeOf(() => parseRequest({ type: 'request', id: 1, method: 'lab.plug', params: { unitId: 'a', plugged: true, shell: 'rm' } })), 'api.invalid-message');
  assert.equal(codeOf(() => parseRequest({ type: 'request', id: 1, method: 'lab.plug', params: { unitId: 'a; rm -rf', plugged: true } })), 'api.invalid-message');
  // A workflow name outside the contract, and options that belong to another workflow.
  assert.equal(codeOf(() => parseRequest({ type: 'request', id: 1, method: 'jobs.start', params: { workflow: 'format', deviceId: 'a' } })), 'api.invalid-message');
  assert.equal(
    codeOf(() => parseRequest({ type: 'request', id: 1, method: 'jobs.start', params: { workflow: 'detect', deviceId: 'a', options: { goldenId: 'x' } } })),
    'api.invalid-message',
  );
  const ok = parseRequest({ type: 'request', id: 1, method: 'jobs.start', params: { workflow: 'recover', deviceId: 'a', options: { goldenId: 'x' } } });
  assert.equal((ok.params as { workflow: string }).workflow, 'recover');
});

test('the error names the offending field', () => {
  try {
    parseRequest({ type: 'request', id: 1, method: 'records.report', params: { unitId: 'u', format: 'pdf' } });
    assert.fail('expected a throw');
  } catch (e) {
    assert.match((e as Error).message, /params\.format/);
  }
});

test('dispatcher answers errors as typed error replies, never throws', async () => {
  const dispatch = createDispatcher(
    handlers({
      'lab.plug': () => {
        throw deviceError('lab.unknown-unit', 'No such unit.');
      },
    }),
  );
  const bad = await dispatch('garbage', undefined);
  assert.equal(bad.ok, false);
  assert.equal(bad.id, -1);
  const typed = await dispatch({ type: 'request', id: 3, method: 'lab.plug', params: { unitId: 'x', plugged: true } }, undefined);
  assert.deepEqual(typed, { type: 'response', id: 3, ok: false, error: { code: 'lab.unknown-unit', kind: 'device', message: 'No such unit.' } });
});

test('dispatcher checks its own results against the contract', async () => {
  const dispatch = createDispatcher(handlers({ 'devices.list': () => ({ devices: [{ ...device, kind: 'toaster' }] }) as never }));
  const r = await dispatch({ type: 'request', id: 1, method: 'devices.list', params: {} }, undefined);
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : r.error.message, /result\.devices\[0\]\.kind/);
});

function loopback(dispatch: (raw: unknown) => Promise<unknown>): MessageChannel & { inject(m: unknown): void } {
  let listener: ((m: unknown) => void) | undefined;
  return {
    send(m: RequestMessage) {
      // Through JSON, as over the wire.
      void dispatch(JSON.parse(JSON.stringify(m))).then((r) => listener?.(JSON.parse(JSON.stringify(r))));
    },
    onMessage(l) {
      listener = l;
    },
    inject(m) {
      listener?.(m);
    },
  };
}

test('client round-trips calls, rejects typed errors and validates events', async () => {
  const dispatch = createDispatcher(handlers());
  const ch = loopback((raw) => dispatch(raw, undefined));
  const client = createClient(ch);
  const info = await client.call('app.info', {});
  assert.equal(info.mode, 'server');
  const list = await client.call('devices.list', {});
  assert.equal(list.devices[0]!.id, 'lab-a');

  const seen: unknown[] = [];
  client.on('devices.changed', (d) => seen.push(d));
  ch.inject({ type: 'event', event: 'devices.changed', data: { devices: [device] } });
  ch.inject({ type: 'event', event: 'devices.changed', data: { devices: [{ ...device, simulated: 'yes' }] } });
  ch.inject({ type: 'event', event: 'no.such.event', data: {} });
  ch.inject({ type: 'response', id: 999, ok: true, result: {} });
  ch.inject('not an object');
  assert.equal(seen.length, 1);
  assert.equal(client.rejected, 4);

  // A call with bad params is refused on the client before it is sent.
  assert.throws(() => client.call('lab.plug', { unitId: 'x' } as never), /plugged/);

  const erroring = createClient(
    loopback((raw) =>
      createDispatcher(
        handlers({
          'lab.plug': () => {
            throw deviceError('lab.unplugged', 'Plug it in.');
          },
        }),
      )(raw, undefined),
    ),
  );
  await assert.rejects(erroring.call('lab.plug', { unitId: 'x', plugged: true }), (e: unknown) => e instanceof ApiError && e.info.code === 'lab.unplugged');
});

test('every method declares both a params and a result schema', () => {
  for (const [name, m] of Object.entries(methods)) {
    assert.equal(typeof m.params.parse, 'function', name);
    assert.equal(typeof m.result.parse, 'function', name);
  }
});
