import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_POLICY, failureStop, initialLineState, mayStart, reduceLine, runningCount, type LineEvent, type LineState, type PolicyConfig } from '../../../src/station/policy.ts';

const apply = (s: LineState, events: LineEvent[], cfg: PolicyConfig) => events.reduce((x, e) => reduceLine(x, e, cfg), s);

/** Plug a unit into `port`, run it, finish it with `ok`, pull it. */
function unit(port: string, ok: boolean, extra: Partial<Extract<LineEvent, { type: 'unit-finished' }>> = {}): LineEvent[] {
  return [
    { type: 'port-present', port },
    { type: 'unit-started', port },
    { type: 'unit-finished', port, ok, ...extra },
    { type: 'port-gone', port },
  ];
}

test('a port goes idle -> running -> pass/fail, shows its result until the next unit, and refuses a second start', () => {
  const cfg = DEFAULT_POLICY;
  let s = reduceLine(initialLineState(), { type: 'port-present', port: 'p1' }, cfg);
  assert.equal(s.ports.p1!.state, 'idle');
  assert.deepEqual(mayStart(s, 'p1'), { ok: true });
  assert.equal(mayStart(s, 'p9').ok, false);
  s = reduceLine(s, { type: 'unit-started', port: 'p1' }, cfg);
  s = reduceLine(s, { type: 'unit-identified', port: 'p1', unit: 'UID-1' }, cfg);
  assert.equal(s.ports.p1!.state, 'running');
  assert.equal(runningCount(s), 1);
  assert.equal(mayStart(s, 'p1').ok, false);
  s = reduceLine(s, { type: 'unit-finished', port: 'p1', ok: false, code: 'x.y', reason: 'verify failed' }, cfg);
  assert.deepEqual([s.ports.p1!.state, s.ports.p1!.unit, s.ports.p1!.reason], ['fail', 'UID-1', 'verify failed']);
  assert.match((mayStart(s, 'p1') as { reason: string }).reason, /Pull the finished unit/);
  s = reduceLine(s, { type: 'port-gone', port: 'p1' }, cfg);
  assert.equal(s.ports.p1!.state, 'fail', 'the light stays on after the unit is pulled');
  s = reduceLine(s, { type: 'port-present', port: 'p1' }, cfg);
  assert.deepEqual([s.ports.p1!.state, s.ports.p1!.unit, s.ports.p1!.reason], ['idle', undefined, undefined]);
  assert.deepEqual([s.started, s.passed, s.failed], [1, 0, 1]);
});

test('pilot lot: the first N units start, then the line pauses for review until approved', () => {
  const cfg: PolicyConfig = { ...DEFAULT_POLICY, pilot: 3 };
  let s = initialLineState();
  for (const p of ['a', 'b', 'c', 'd']) s = reduceLine(s, { type: 'port-present', port: p }, cfg);
  s = apply(s, [{ type: 'unit-started', port: 'a' }, { type: 'unit-started', port: 'b' }], cfg);
  assert.equal(s.mode, 'running');
  assert.equal(mayStart(s, 'c').ok, true);
  s = reduceLine(s, { type: 'unit-started', port: 'c' }, cfg);
  assert.equal(s.mode, 'pilot-review');
  assert.match(s.reason!, /first 3 units/);
  assert.equal(mayStart(s, 'd').ok, false);
  // Pilot units still finish while paused.
  s = reduceLine(s, { type: 'unit-finished', port: 'a', ok: true }, cfg);
  assert.equal(s.ports.a!.state, 'pass');
  s = reduceLine(s, { type: 'approve-pilot' }, cfg);
  assert.equal(s.mode, 'running');
  assert.equal(mayStart(s, 'd').ok, true);
  // Once approved, no second pause.
  for (let i = 0; i < 5; i++) s = apply(s, unit('d', true), cfg);
  assert.equal(s.mode, 'running');
});

test('failure-rate stop: over the window, above the threshold, with a plain reason; resume starts a fresh window', () => {
  const cfg: PolicyConfig = { ...DEFAULT_POLICY, window: 10, threshold: 0.3 };
  let s = initialLineState();
  // 3 failures in 10: exactly 30%, not above: keeps going.
  for (let i = 0; i < 10; i++) s = apply(s, unit('p1', i % 3 !== 1, i % 3 === 1 ? { code: 'stm32.verify-failed', reason: 'verify' } : {}), cfg);
  assert.equal(s.failed, 3);
  assert.equal(s.mode, 'running');
  // One more failure pushes out a pass: 4 of the last 10.
  s = apply(s, unit('p1', false, { code: 'smp.timeout', reason: 'no answer' }), cfg);
  assert.equal(s.mode, 'stopped');
  assert.equal(s.reason, 'Line stopped: 4 of the last 10 units failed (40%, limit 30%). Most frequent: stm32.verify-failed (3), smp.timeout (1). Check the fixture, the cables and the bundle, then resume.');
  assert.equal(mayStart(reduceLine(s, { type: 'port-present', port: 'p2' }, cfg), 'p2').ok, false);
  s = reduceLine(s, { type: 'resume' }, cfg);
  assert.equal(s.mode, 'running');
  assert.deepEqual(s.recent, []);
  // Not judged until the window is full again (minUnits defaults to the window).
  for (let i = 0; i < 9; i++) s = apply(s, unit('p1', false, { code: 'e' }), cfg);
  assert.equal(s.mode, 'running');
  s = apply(s, unit('p1', false, { code: 'e' }), cfg);
  assert.equal(s.mode, 'stopped');
});

test('failureStop honours minUnits and counts only the window', () => {
  const cfg: PolicyConfig = { ...DEFAULT_POLICY, window: 5, threshold: 0.5, minUnits: 2 };
  assert.equal(failureStop([{ ok: false }], cfg), undefined);
  assert.match(failureStop([{ ok: false }, { ok: false, code: 'a' }], cfg)!, /2 of the last 2 units failed \(100%, limit 50%\)\. Most frequent: a \(1\), unknown \(1\)/);
  assert.equal(failureStop([{ ok: false }, { ok: true }], cfg), undefined);
});

test('a misbehaving port is disabled after repeated faults; the others keep running and the line does not stop', () => {
  const cfg: PolicyConfig = { ...DEFAULT_POLICY, window: 4, threshold: 0.25, portFaultLimit: 3 };
  let s = initialLineState();
  for (let i = 0; i < 6; i++) {
    // The station starts a unit only where mayStart allows.
    if (mayStart(reduceLine(s, { type: 'port-present', port: 'bad' }, cfg), 'bad').ok)
      s = apply(s, unit('bad', false, { portFault: true, code: 'io.eio', reason: 'cannot open the port' }), cfg);
    s = apply(s, unit('good', true), cfg);
  }
  assert.equal(s.failed, 3);
  assert.equal(s.ports.bad!.state, 'disabled');
  assert.match(s.ports.bad!.reason!, /Port disabled after 3 faults in a row \(last: cannot open the port\)/);
  assert.equal(s.mode, 'running');
  assert.equal(s.ports.good!.state, 'pass');
  assert.equal(mayStart(reduceLine(s, { type: 'port-present', port: 'good' }, cfg), 'good').ok, true);
  assert.equal(mayStart(reduceLine(s, { type: 'port-present', port: 'bad' }, cfg), 'bad').ok, false);
  // A success in between resets the count.
  let t = initialLineState();
  t = apply(t, [...unit('p', false, { portFault: true }), ...unit('p', false, { portFault: true }), ...unit('p', true), ...unit('p', false, { portFault: true })], cfg);
  assert.equal(t.ports.p!.state, 'fail');
  assert.equal(t.ports.p!.faultsInARow, 1);
  // Enabling a disabled port makes it usable again.
  s = reduceLine(s, { type: 'enable-port', port: 'bad' }, cfg);
  s = reduceLine(s, { type: 'port-present', port: 'bad' }, cfg);
  assert.equal(mayStart(s, 'bad').ok, true);
});

test('the reducer does not mutate its input (state can be persisted and replayed)', () => {
  const cfg = { ...DEFAULT_POLICY, pilot: 1 };
  const s0 = reduceLine(initialLineState(), { type: 'port-present', port: 'p' }, cfg);
  const frozen = JSON.stringify(s0);
  const s1 = apply(s0, unit('p', false, { code: 'c' }), cfg);
  assert.equal(JSON.stringify(s0), frozen);
  assert.deepEqual(JSON.parse(JSON.stringify(s1)), s1);
});

test('a failure that is not the unit\'s doing (unplugged, station restarted) shows on the port but does not stop the line', () => {
  const cfg: PolicyConfig = { ...DEFAULT_POLICY, window: 2, threshold: 0.4 };
  let s = initialLineState();
  for (let i = 0; i < 4; i++) s = apply(s, unit('p', false, { notCounted: true, code: 'station.unplugged', reason: 'pulled' }), cfg);
  assert.deepEqual([s.mode, s.failed, s.recent.length, s.ports.p!.state, s.ports.p!.faultsInARow], ['running', 4, 0, 'fail', 0]);
  s = apply(s, [...unit('p', false, { code: 'a' }), ...unit('p', false, { code: 'a' })], cfg);
  assert.equal(s.mode, 'stopped');
});

test('a port listed again without having gone (station restart) keeps its result: the same unit is not run twice', () => {
  const cfg = DEFAULT_POLICY;
  let s = apply(initialLineState(), [{ type: 'port-present', port: 'p' }, { type: 'unit-started', port: 'p' }, { type: 'unit-finished', port: 'p', ok: true, unit: 'U' }], cfg);
  s = reduceLine(s, { type: 'port-present', port: 'p' }, cfg);
  assert.deepEqual([s.ports.p!.state, s.ports.p!.unit], ['pass', 'U']);
  assert.equal(mayStart(s, 'p').ok, false);
  s = apply(s, [{ type: 'port-gone', port: 'p' }, { type: 'port-present', port: 'p' }], cfg);
  assert.equal(mayStart(s, 'p').ok, true);
});
