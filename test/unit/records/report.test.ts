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

test('the HTML report: local times with their zone, no local path, findings, versions before and after, a place for the map', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-report-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const log = ServiceLog.inDir(dir);
  log.append({
    unit: { id: 'UB-1', port: '/dev/ttyUSB0' },
    action: 'diagnose',
    operator: 'a@b',
    outcome: 'succeeded',
    summary: '1 critical finding',
    details: { findings: [{ severity: 'critical', code: 'slot0.empty', text: 'Slot 0 holds no valid image' }] },
  });
  log.append({ unit: { id: 'UB-1' }, action: 'update', operator: 'a@b', outcome: 'succeeded', summary: 'updated', details: { runningBefore: '1.2.0', runningAfter: '1.3.0' } });
  const r = unitReport('UB-1', log.path, log.verify(), new Date('2026-12-07T12:00:00Z'));
  const html = reportHtml(r, { offsetMinutesEast: 60 });
  assert.match(html, /Generated 2026-12-07 13:00:00 UTC\+01:00/);
  assert.doesNotMatch(html, /\d{4}-\d\d-\d\dT\d\d:\d\d/, 'no raw ISO times');
  assert.ok(!html.includes(dir), 'no path on the technician’s computer');
  assert.ok(!html.includes('/dev/ttyUSB0'));
  assert.match(html, /CRITICAL:<\/b> Slot 0 holds no valid image/);
  assert.match(html, /problems found: 1 critical/, 'a diagnosis with a critical finding is not "succeeded"');
  assert.match(html, /1\.2\.0 → 1\.3\.0/);
  assert.match(html, /may be out of date/, 'findings read before a later write are marked');
  assert.match(html, /data-slot="flash-map"/);
  assert.match(reportHtml(r, { flashMapSvg: '<svg id="m"></svg>' }), /<svg id="m"><\/svg>/);
});

test('the HTML report draws the flash map the latest diagnosis recorded, without the unit, and skips one that does not draw', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-report-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const log = ServiceLog.inDir(dir);
  const map = {
    title: 'Flash <b>',
    base: 0x08000000,
    size: 0x100000,
    toScale: true,
    regions: [{ name: 'MCUboot', address: 0x08000000, size: 0x8000, holds: 'valid' }],
    sectors: [],
  };
  log.append({ unit: { id: 'UID-9' }, action: 'diagnose', operator: 'a@b', outcome: 'succeeded', summary: 'read', details: { flashMap: map } });
  const html = reportHtml(unitReport('UID-9', log.path, log.verify(), new Date('2026-01-01T00:00:00Z')));
  assert.match(html, /data-slot="flash-map"><p>As read by the diagnosis of [^<]+<\/p>[\s\S]*<svg/);
  assert.match(html, /MCUboot/);
  assert.doesNotMatch(html, /Flash <b>/, 'recorded text is escaped');

  // A later diagnosis whose map is not a map: the report falls back to the earlier one, never fails.
  log.append({ unit: { id: 'UID-9' }, action: 'diagnose', operator: 'a@b', outcome: 'succeeded', summary: 'read', details: { flashMap: { base: 'x' } } });
  assert.match(reportHtml(unitReport('UID-9', log.path, log.verify(), new Date())), /<svg/);
});
