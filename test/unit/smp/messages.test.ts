import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandOf, GROUP, requestFields, SMP_COMMANDS, smpAnswer, smpRequest, type SmpCommandName } from '../../../src/smp/messages.ts';
import { OP } from '../../../src/smp/header.ts';
import { UnbrickError } from '../../../src/core/errors.ts';

test('every declared command has its own group, id and op, and routes back to its name', () => {
  const seen = new Set<string>();
  for (const [name, c] of Object.entries(SMP_COMMANDS)) {
    const key = `${c.group}/${c.id}/${c.op}`;
    assert.ok(!seen.has(key), `${name}: ${key} declared twice`);
    seen.add(key);
    assert.equal(commandOf({ group: c.group, id: c.id, op: c.op === 'read' ? OP.read : OP.write }), name);
  }
});

test('ids as the MCUmgr docs number them (smp_group_0, 1, 3, 8, 63)', () => {
  const at = (n: SmpCommandName) => [SMP_COMMANDS[n].group, SMP_COMMANDS[n].id, SMP_COMMANDS[n].op];
  assert.deepEqual(at('echo'), [GROUP.os, 0, 'write']);
  assert.deepEqual(at('reset'), [0, 5, 'write']);
  assert.deepEqual(at('params'), [0, 6, 'read']);
  assert.deepEqual(at('imageUpload'), [1, 1, 'write']);
  assert.deepEqual(at('slotInfo'), [1, 6, 'read']);
  assert.deepEqual(at('settingsSave'), [3, 3, 'write']);
  assert.deepEqual(at('fileClose'), [8, 4, 'write']);
  assert.deepEqual(at('storageErase'), [63, 0, 'write']);
});

test('a device routes the other op only for the commands it names; responses are never routed', () => {
  assert.equal(commandOf({ group: 0, id: 0, op: OP.read }), undefined);
  assert.equal(commandOf({ group: 0, id: 0, op: OP.read }, new Set(['echo'])), 'echo');
  assert.equal(commandOf({ group: 0, id: 0, op: OP.writeRsp }, new Set(['echo'])), undefined);
  assert.equal(commandOf({ group: 9, id: 0, op: OP.write }), undefined);
});

test('requests carry the declared op, group, id and words; answers are read with the response schema', () => {
  assert.deepEqual(smpRequest('echo', { d: 'hi' }), { op: 'write', group: 0, id: 0, what: 'echo', body: { d: 'hi' } });
  assert.deepEqual(smpRequest('imageList'), { op: 'read', group: 1, id: 0, what: 'image list' });
  assert.deepEqual(requestFields('settingRead'), { name: 'tstr', max_size: 'uint' });
  // Undeclared keys (rc, vendor extras) pass; a declared key of the wrong type is a bad answer.
  assert.deepEqual(smpAnswer('echo', { r: 'hi', rc: 0 }), { r: 'hi', rc: 0 });
  assert.deepEqual(smpAnswer('params', {}), {});
  assert.throws(() => smpAnswer('params', { buf_size: 'big' }), (e) => e instanceof UnbrickError && e.code === 'smp.bad-answer' && /buf_size/.test(e.message));
});
