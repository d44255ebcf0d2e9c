/**
 * Service records through the UI: a workflow run (here one that refuses at
 * its pre-check: recover on a unit that runs its application) lands in the log, the records screen shows it
 * with the chain verdict, and the per-unit report exports as HTML and JSON.
 * Also: the page runs under its CSP without a single violation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { openApp, screenshot } from './helpers.ts';

test('a refused workflow explains itself, is recorded, and the unit report exports', { timeout: 120_000 }, async (t) => {
  const { page, cspViolations } = await openApp(t);
  await page.getByTestId('device-lab-healthy-pending').and(page.locator('[data-kind=zephyr-smp]')).waitFor({ timeout: 30_000 });
  await page.getByTestId('device-lab-healthy-pending').click();
  // Recover is for units in serial recovery: on a unit running its application it refuses, saying what to use.
  await page.getByTestId('start-recover').click();
  // A destructive workflow is described before it starts.
  await page.getByTestId('start-dialog').getByText('Writes the matching golden image').waitFor();
  await page.getByTestId('start-confirm').click();
  const job = page.getByTestId('job');
  await job.and(page.locator('[data-state=refused]')).waitFor();
  assert.match(await page.getByTestId('job-error').innerText(), /runs its application.*Use Offline update/);
  await screenshot(page, '03-workflow-refused');

  await page.getByTestId('nav-records').click();
  await page.getByTestId('chain').filter({ hasText: 'Log intact: 1 entry,' }).waitFor();
  const row = page.getByTestId('record-entries').locator('tbody tr').first();
  assert.match(await row.innerText(), /UB-LAB-0005\s+recover\s+refused/);
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
  assert.equal(report.entries[0].outcome, 'refused');
  assert.equal(report.log.intact, true);
  await page.getByTestId('exported').waitFor();

  assert.deepEqual(cspViolations, []);
});
