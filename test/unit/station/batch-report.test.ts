import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceLog } from '../../../src/records/service-log.ts';
import { unitRecordEntry, unitRows, type UnitOutcome } from '../../../src/station/unit-record.ts';
import { batchCsv, batchHtml, batchReport, csvCell, CSV_COLUMNS } from '../../../src/station/batch-report.ts';
import { parseCsvRows } from '../../../src/station/data-source.ts';

function tempLog(t: { after(fn: () => void): void }): ServiceLog {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-batch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return ServiceLog.inDir(dir);
}

const outcome = (i: number, o: Partial<UnitOutcome> = {}): UnitOutcome => ({
  batch: 'B-2026-11',
  station: 'line1-st2',
  operator: 'ana@line1',
  port: `/dev/ttyUSB${i % 4}`,
  ok: true,
  reason: 'Provisioned.',
  chipUid: `0039002a3137510b${String(i).padStart(8, '0')}`,
  serial: `SN-${i}`,
  target: i % 2 ? 'stm32' : 'mcuboot',
  chip: i % 2 ? 'STM32F411xE' : 'nRF52840',
  versions: { bootloader: '1.10.0', application: '2.3.1+4' },
  hashes: { 'app.signed.bin': 'ab'.repeat(32) },
  optionBytes: { RDP: 'level 1', WRP: 'sectors 0-1' },
  dataEntry: `SN-${i}`,
  steps: [
    { name: 'identify', ok: true, ms: 120 },
    { name: 'write', ok: true, ms: 4200.4 },
  ],
  totalMs: 4420.7,
  ...o,
});

function fill(log: ServiceLog) {
  log.append(unitRecordEntry(outcome(1)));
  log.append(unitRecordEntry(outcome(2, { ok: false, code: 'stm32.verify-failed', reason: 'Verify failed at 0x08004000.' })));
  log.append({ unit: { id: 'other' }, action: 'recover', operator: 'x', outcome: 'succeeded', summary: 'not a station record' });
  log.append(unitRecordEntry(outcome(3, { ok: false, code: 'station.unplugged', reason: 'Unplugged during write.' })));
  log.append(unitRecordEntry(outcome(2))); // re-run passes
  log.append(unitRecordEntry(outcome(4, { batch: 'other-batch' })));
  log.append(unitRecordEntry(outcome(5, { ok: false, code: 'stm32.verify-failed', reason: 'Verify failed at 0x08008000.', chipUid: undefined, serial: undefined })));
}

test('unit records round-trip through the service log into rows with attempts', (t) => {
  const log = tempLog(t);
  fill(log);
  const rows = unitRows(log.verify().entries, 'B-2026-11');
  assert.deepEqual(
    rows.map((r) => [r.unit, r.ok, r.attempt, r.final]),
    [
      ['0039002a3137510b00000001', true, 1, true],
      ['0039002a3137510b00000002', false, 1, false],
      ['0039002a3137510b00000003', false, 1, true],
      ['0039002a3137510b00000002', true, 2, true],
      ['port:/dev/ttyUSB1', false, 1, true],
    ],
  );
  const r0 = rows[0]!;
  assert.deepEqual(
    { ...r0, time: undefined, hash: undefined },
    { ...outcome(1), unit: '0039002a3137510b00000001', time: undefined, hash: undefined, seq: 0, attempt: 1, final: true, totalMs: 4421, steps: [{ name: 'identify', ok: true, ms: 120 }, { name: 'write', ok: true, ms: 4200 }] },
  );
  assert.equal(unitRows(log.verify().entries).length, 6);
});

test('batch report: totals count units by their last attempt; failures by code', (t) => {
  const log = tempLog(t);
  fill(log);
  const r = batchReport(log.verify(), log.path, { batch: 'B-2026-11', now: new Date('2026-11-22T05:00:00Z') });
  assert.deepEqual(r.totals, { units: 4, passed: 2, failed: 2, attempts: 5, passedOnRerun: 1 });
  assert.deepEqual(r.failures, [
    { code: 'station.unplugged', units: 1, example: 'Unplugged during write.' },
    { code: 'stm32.verify-failed', units: 1, example: 'Verify failed at 0x08008000.' },
  ]);
  assert.equal(r.log.intact, true);
  assert.equal(r.log.head, log.verify().head);
  assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
});

test('CSV: one row per attempt, every column parses back, formula-looking text is neutralised', (t) => {
  const log = tempLog(t);
  fill(log);
  log.append(unitRecordEntry(outcome(9, { reason: '=HYPERLINK("http://x","click"), then\n"quoted"', ok: false, code: 'x' })));
  const r = batchReport(log.verify(), log.path, { batch: 'B-2026-11' });
  const csv = batchCsv(r);
  const rows = parseCsvRows(csv);
  assert.deepEqual(rows[0]!.cells, [...CSV_COLUMNS]);
  assert.equal(rows.length, r.rows.length + 1);
  const col = (name: (typeof CSV_COLUMNS)[number], row = 1) => rows[row]!.cells[CSV_COLUMNS.indexOf(name)];
  assert.equal(col('chip_uid'), '0039002a3137510b00000001');
  assert.equal(col('result'), 'pass');
  // Canonical JSON in the log sorts keys.
  assert.equal(col('versions'), 'application=2.3.1+4; bootloader=1.10.0');
  assert.equal(col('option_bytes'), 'RDP=level 1; WRP=sectors 0-1');
  assert.equal(col('steps'), 'identify:ok:120; write:ok:4200');
  assert.equal(col('duration_ms'), '4421');
  assert.equal(col('reason', 2), 'Verify failed at 0x08004000.');
  assert.equal(col('final', 2), 'no');
  assert.equal(col('reason', rows.length - 1), '\'=HYPERLINK("http://x","click"), then\n"quoted"');
  assert.equal(csvCell('-12'), '-12');
  assert.equal(csvCell('-1x'), "'-1x");
  assert.equal(csvCell('@SUM(A1)'), "'@SUM(A1)");
});

test('HTML: self-contained, escaped, flags a tampered log', (t) => {
  const log = tempLog(t);
  fill(log);
  log.append(unitRecordEntry(outcome(7, { ok: false, code: 'x.y', reason: '<script>alert(1)</script>' })));
  const html = batchHtml(batchReport(log.verify(), log.path, { batch: 'B-2026-11' }));
  assert.ok(!html.includes('<script>'));
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.match(html, /Content-Security-Policy/);
  assert.match(html, /Units: <b>5<\/b>/);
  assert.match(html, /Service log intact/);
  // Edit a recorded result after the fact: the report says the log failed its check.
  writeFileSync(log.path, readFileSync(log.path, 'utf8').replace('"outcome":"failed","prev"', '"outcome":"succeeded","prev"'));
  const tampered = batchReport(log.verify(), log.path, { batch: 'B-2026-11' });
  assert.equal(tampered.log.intact, false);
  assert.match(batchHtml(tampered), /failed its integrity check/);
});
