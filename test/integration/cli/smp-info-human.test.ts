/**
 * `unbrick smp info` in human mode against `unbrick sim zephyr` (two
 * processes, the simulator on a pty): words, not raw JSON; the os row read as
 * "Zephyr 3.4.99 on native_sim_64 (posix), built …"; versions through the one
 * formatter. --json stays one JSON object.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSim, unbrick } from '../smp/cli-process.ts';

test('smp info prints words in human mode and JSON with --json', { timeout: 90_000 }, async (t) => {
  const { proc: sim, path } = await startSim('zephyr', '--flash', 'none');
  t.after(() => void sim.kill('SIGINT'));
  const r = await unbrick('smp', 'info', '--port', path);
  assert.equal(r.code, 0, r.err);
  assert.doesNotMatch(r.out, /[{}]|"\w+":/, r.out);
  assert.match(r.out, /^OS: Zephyr \S+ on \S+ \(\S+\), built /m, r.out);
  assert.match(r.out, /^MCUmgr params: (buffer \d+(\.\d+)? (B|KiB) × \d+|not supported by this device)$/m, r.out);
  assert.match(r.out, /^Bootloader: /m);
  const j = await unbrick('smp', 'info', '--port', path, '--json');
  assert.equal(j.code, 0, j.err);
  assert.equal(typeof JSON.parse(j.out).os, 'string');
});
