/**
 * The CLI's human output and exit codes (README's table): versions and
 * addresses through the one formatter, `image verify` without a key says
 * INTEGRITY ONLY, and `run diagnose` on a unit with a critical finding exits 1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VECTORS } from '../mcuboot/vectors.ts';

const BIN = new URL('../../../bin/unbrick.js', import.meta.url).pathname;
function unbrick(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const image = join(VECTORS, 'images/ecdsa-p256_seccnt-auto_dep.bin');

test('image verify without a key: INTEGRITY ONLY, never VALID; with the key: VALID', () => {
  const r = unbrick('image', 'verify', image);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^INTEGRITY ONLY: /);
  assert.doesNotMatch(r.out, /^VALID/m);
  assert.match(r.out, /version 3\.4\.5\+6/);
  const k = unbrick('image', 'verify', image, '--key', join(VECTORS, 'keys/ecdsa-p256-a.pub.pem'));
  assert.equal(k.code, 0, k.err);
  assert.match(k.out, /^VALID: /);
});

test('image info: addresses as 0x and eight hex digits, no raw JSON', () => {
  const r = unbrick('image', 'info', image);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /magic\s+0x96f3b83d/);
  assert.match(r.out, /load address\s+0x[0-9a-f]{8}\b/);
  assert.doesNotMatch(r.out, /^\s*\{|"\w+":/m);
});

test('run diagnose: a critical finding exits 1 (check failed); --json stays JSON', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-human-'));
  try {
    const r = unbrick('run', 'diagnose', '--lab', 'lab-recovery-empty', '--data-dir', dir);
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /\[critical\]/);
    assert.match(r.out, /problems found: 1 critical/);
    assert.doesNotMatch(r.out, /^\s*\{|"\w+":/m, "no raw JSON in human mode");
    const j = unbrick('run', 'diagnose', '--lab', 'lab-recovery-empty', '--data-dir', dir, '--json');
    assert.equal(j.code, 1);
    assert.equal(JSON.parse(j.out).job.state, 'succeeded');
    const healthy = unbrick('run', 'diagnose', '--lab', 'lab-healthy-pending', '--data-dir', dir);
    assert.notEqual(healthy.code, 1, healthy.out);
    // The records list: local time with the zone, and the critical diagnosis in words, not "succeeded".
    const list = unbrick('records', '--data-dir', dir);
    assert.equal(list.code, 0, list.err);
    assert.match(list.out, /UB-LAB-0001 diagnose problems found: 1 critical/);
    assert.match(list.out, /UB-LAB-0005 diagnose done/);
    assert.match(list.out, /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    assert.doesNotMatch(list.out, /succeeded/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('structured data in human mode: indented name: value lines, never raw JSON', async () => {
  const { plainLines, inlinePairs } = await import('../../../src/cli/human.ts');
  assert.deepEqual(plainLines({ product: { name: 'Acme', hardwareRevisions: ['A', 'B'] }, payloads: [{ name: 'app', size: 3 }], notes: null }, '  ', 1), [
    '  product:',
    '    name: Acme',
    '    hardwareRevisions: A, B',
    '  payloads:',
    '    - name: app',
    '      size: 3',
    '  notes: —',
  ]);
  assert.equal(inlinePairs({ rdp: 0, wrp: [0, 1], user: { nBOOT0: 1 } }), 'rdp=0, wrp=0+1, user={nBOOT0=1}');
});
