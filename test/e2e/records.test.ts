/**
 * Service records through the UI: an action that does not apply to the unit (recover on a unit that runs its
 * application) is not offered, with its reason; a workflow run lands in the log, the records screen shows it
 * with the chain verdict, and the per-unit report exports as HTML and JSON.
 * Also: the page runs under its CSP without a single violation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { openApp, screenshot } from './helpers.ts';

test('an action that does not apply says why; a run is recorded, and the unit report exports', { timeout: 120_000 }, async (t) => {
  const { page, cspViolations } = await openApp(t);
  await page.getByTestId('device-lab-healthy-pending').and(page.locator('[data-kind=zephyr-smp]')).waitFor({ timeout: 30_000 });
  await page.getByTestId('device-lab-healthy-pending').click();
  // Recover is for units in serial recovery: on a unit running its application it is not offered, and says what to use.
  assert.equal(await page.getByTestId('start-recover').isDisabled(), true);
  assert.match(await page.locator('#na-recover').innerText(), /application|Offline update/i);
  // A read-only workflow runs in one click and is recorded.
  await page.getByTestId('start-diagnose').click();
  const job = page.getByTestId('job');
  await job.and(page.locator('[data-workflow=diagnose][data-state=succeeded]')).waitFor({ timeout: 60_000 });
  await screenshot(page, '03-workflow-recorded');

  await page.getByTestId('nav-records').click();
  await page.getByTestId('chain').filter({ hasText: 'Log intact: 1 entry,' }).waitFor();
  const row = page.getByTestId('record-entries').locator('tbody tr').first();
  assert.match(await row.innerText(), /UB-LAB-0005[\s\S]*diagnose/);
  await screenshot(page, '04-service-records');

  const [html] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-html-UB-LAB-0005').click()]);
  assert.equal(html.suggestedFilename(), 'unbrick-report-UB-LAB-0005.html');
  const htmlText = readFileSync((await html.path())!, 'utf8');
  assert.match(htmlText, /Service report: UB-LAB-0005/);
  assert.match(htmlText, /Service log intact/);
  const [json] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-json-UB-LAB-0005').click()]);
  const report = JSON.parse(readFileSync((await json.path())!, 'utf8'));
  assert.equal(report.unitId, 'UB-LAB-0005');
  assert.equal(report.entries.length, 1);
  assert.equal(report.entries[0].action, 'diagnose');
  assert.equal(report.entries[0].outcome, 'succeeded');
  assert.equal(report.log.intact, true);
  await page.getByTestId('exported').waitFor();

  assert.deepEqual(cspViolations, []);
});
