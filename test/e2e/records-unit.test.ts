/**
 * A unit's history by its chip UID, through the UI (server mode, Chromium): a
 * simulated STM32 behind a real pseudo-terminal ('unbrick sim stm32', as a USB
 * serial adapter would be), diagnosed from the app, is filed in the service log
 * under the chip UID read through its ROM bootloader, not under the port; the
 * Records screen lists it under that UID and exports its report, and
 * 'unbrick records --unit UID' finds the same entry.
 * (test/integration/records/unit-history.test.ts covers the CLI-only path.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { openApp, screenshot } from './helpers.ts';

const UID = '0123456789abcdef13579bdf';

test('a unit on a pty adapter is filed under its chip UID and found in the Records screen', { timeout: 180_000 }, async (t) => {
  const sim = spawn(process.execPath, ['bin/unbrick.js', 'sim', 'stm32', '--chip', 'l476', '--uid', UID], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => void sim.kill('SIGINT'));
  const path = await new Promise<string>((resolve, reject) => {
    createInterface({ input: sim.stdout! }).once('line', resolve);
    sim.once('exit', (code) => reject(new Error(`sim stm32 exited (${code})`)));
  });

  // No demo lab: the only device is the pty, watched as a serial port.
  const { served, page, cspViolations } = await openApp(t, ['--no-lab', '--port', path]);
  const device = page.getByTestId(`device-port:${path}`);
  await device.and(page.locator('[data-kind=stm32-rom]')).waitFor({ timeout: 60_000 });
  await device.click();
  await page.getByTestId('start-diagnose').click(); // read-only: one click, no confirmation
  await page.locator('[data-testid=job][data-workflow=diagnose][data-state=succeeded]').waitFor({ timeout: 90_000 });

  await page.getByTestId('nav-records').click();
  await page.getByTestId('chain').filter({ hasText: 'Log intact: 1 entry,' }).waitFor();
  const row = page.getByTestId('record-entries').locator('tbody tr').first();
  const text = await row.innerText();
  assert.match(text, new RegExp(`${UID}[\\s\\S]*diagnose`), 'the record names the chip UID, not the port');
  assert.doesNotMatch(text, /port:/);
  await screenshot(page, 'records-unit-chip-uid');

  // The per-unit report of that UID carries the entry and the typed identity.
  const [json] = await Promise.all([page.waitForEvent('download'), page.getByTestId(`export-json-${UID}`).click()]);
  const report = JSON.parse(readFileSync((await json.path())!, 'utf8'));
  assert.equal(report.unitId, UID);
  assert.equal(report.identity.chipUid, UID);
  assert.equal(report.entries.length, 1);
  assert.equal(report.entries[0].action, 'diagnose');

  // The CLI finds the same history by the UID (upper case too).
  const list = spawnSync(process.execPath, ['bin/unbrick.js', 'records', '--unit', UID.toUpperCase(), '--data-dir', served.dataDir, '--json'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(list.status, 0, list.stderr);
  const { entries } = JSON.parse(list.stdout);
  assert.equal(entries.length, 1);
  assert.equal(entries[0].unit.id, UID);
  assert.equal(entries[0].unit.port, path);

  assert.deepEqual(cspViolations, []);
});
