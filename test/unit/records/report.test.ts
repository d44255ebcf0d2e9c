import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceLog } from '../../../src/records/service-log.ts';
import { reportHtml, unitReport } from '../../../src/records/report.ts';

test('a unit report holds only that unit, its identity and the log verdict', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-report-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const log = ServiceLog.inDir(dir);
  log.append({ unit: { id: 'UID-1', serial: 'SN1' }, action: 'diagnose', operator: 'a@b', outcome: 'succeeded', summary: 'slot 0 holds no valid image' });
  log.append({ unit: { id: 'UID-2', serial: 'SN2' }, action: 'recover', operator: 'a@b', outcome: 'failed', summary: 'other unit' });
  log.append({
    unit: { id: 'UID-1', serial: 'SN1', 'chip uid': 'UID-1' },
    action: 'recover',
    operator: 'a@b',
    outcome: 'succeeded',
    summary: '<script>alert(1)</script> recovered',
    inputs: [{ name: 'golden.bin', sha256: 'cd'.repeat(32) }],
  });
  const r = unitReport('UID-1', log.path, log.verify(), new Date('2026-01-01T00:00:00Z'));
  assert.equal(r.entries.length, 2);
  assert.deepEqual(
    r.entries.map((e) => e.action),
    ['diagnose', 'recover'],
  );
  assert.equal(r.identity['chip uid'], 'UID-1');
  assert.equal(r.log.intact, true);
  assert.equal(r.log.entries, 3);

  const html = reportHtml(r);
  assert.ok(!html.includes('<script>'), 'entry text is escaped');
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt; recovered/);
  assert.match(html, /Service log intact/);
  assert.match(html, /cdcdcdcd/);
  assert.match(html, /default-src 'none'/);

  // Tamper with the other unit's entry: this unit's report says the log is not intact.
  const lines = readFileSync(log.path, 'utf8').split('\n');
  lines[1] = lines[1]!.replace('other unit', 'nothing happened');
  writeFileSync(log.path, lines.join('\n'));
  const bad = unitReport('UID-1', log.path, log.verify());
  assert.equal(bad.log.intact, false);
  assert.match(reportHtml(bad), /failed its integrity check/);
});
