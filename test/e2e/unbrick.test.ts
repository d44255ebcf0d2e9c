/**
 * Full unbrick from the UI (server mode, demo lab at the seed's scale: STM32L4,
 * 448 KiB slots, 320 KiB application, on a paced 460800-baud line; Chromium):
 * every destructive step is confirmed in a dialog; a write is cancelled
 * midway and resumed; progress shows rate and ETA.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { openApp, screenshot } from './helpers.ts';

async function confirm(page: Page, title: RegExp) {
  const dialog = page.getByTestId('confirm-dialog');
  const heading = dialog.locator('h3', { hasText: title });
  await heading.waitFor({ timeout: 30_000 });
  await dialog.getByTestId('confirm-allow').click();
  await heading.waitFor({ state: 'detached' });
}

async function startUnbrick(page: Page, id: string) {
  await page.getByTestId(`device-${id}`).and(page.locator('[data-kind=stm32-rom]')).waitFor({ timeout: 30_000 });
  await page.getByTestId(`device-${id}`).click();
  await page.getByTestId('start-unbrick').click();
  await page.getByTestId('start-dialog').getByText('May erase the whole chip').waitFor();
  // Not diagnosed first: the plan cannot cover the steps, so the job asks before each destructive one.
  await page.getByTestId('start-confirm').click();
}

// A paced line (rate and ETA are real), four times the default rate: ~330 KiB written and read back
// take about 65 s of line time at 115200 baud, 16 s here.
test('fully unbrick the unit whose MCUboot is erased, confirming each destructive step', { timeout: 180_000 }, async (t) => {
  const { page } = await openApp(t, ['--lab-baud', '460800']);

  await startUnbrick(page, 'lab-mcuboot-erased');
  await confirm(page, /Lift write protection on pages 0-11\?/);
  await screenshot(page, '07-unbrick-confirm');
  await confirm(page, /Erase pages 0-11, 16-239 and write the golden images\?/);
  const progress = page.getByTestId('progress');
  await progress.getByText('Writing').waitFor({ timeout: 30_000 });
  // Rate and ETA are shown while writing (bytes per second over the paced lab line).
  await page.getByTestId('rate').filter({ hasText: /KiB\/s/ }).waitFor();
  await page.getByTestId('eta').filter({ hasText: /\d+ s|\d+ min/ }).waitFor();
  await screenshot(page, '08-unbrick-progress');
  // Closing the page while the device is written asks first; staying keeps the job going.
  const dialogs: string[] = [];
  page.once('dialog', (d) => {
    dialogs.push(d.type());
    void d.dismiss();
  });
  await page.close({ runBeforeUnload: true });
  for (let i = 0; i < 100 && dialogs.length === 0; i++) await page.waitForTimeout(50);
  assert.deepEqual(dialogs, ['beforeunload']);
  assert.equal(page.isClosed(), false);
  await page.locator('[data-testid=job][data-state=succeeded]').waitFor({ timeout: 120_000 });
  assert.match(await page.getByTestId('job-result').innerText(), /written and verified .*pages 0-15 protected again/);
  await screenshot(page, '09-unbrick-done');
});

test('cancel the write midway, then resume it to completion', { timeout: 180_000 }, async (t) => {
  const { page } = await openApp(t, ['--lab-baud', '460800']);

  await startUnbrick(page, 'lab-rdp1');
  const dialog = page.getByTestId('confirm-dialog');
  await dialog.locator('h3', { hasText: /Erase the whole chip/ }).waitFor({ timeout: 30_000 });
  // Removing readout protection erases the chip: the typed word, as in the CLI.
  assert.equal(await dialog.getByTestId('confirm-allow').isDisabled(), true);
  await dialog.getByTestId('confirm-word').fill('ERASE');
  await confirm(page, /Erase the whole chip/);
  await confirm(page, /Lift write protection/);
  await confirm(page, /Erase pages .* and write/);
  await page.getByTestId('progress').getByText('Writing').waitFor({ timeout: 60_000 });
  await page.waitForTimeout(1500);
  await page.getByTestId('job-cancel').click();
  await page.getByTestId('cancel-confirm').click();
  await page.locator('[data-testid=job][data-state=cancelled]').waitFor({ timeout: 30_000 });
  assert.match(await page.getByTestId('job-error').innerText(), /Cancelled/);
  await screenshot(page, '10-write-cancelled');

  await page.getByTestId('job-resume').click();
  await page.locator('[data-testid=job][data-workflow=unbrick][data-state=succeeded]').waitFor({ timeout: 120_000 });
  assert.match(await page.getByTestId('job-result').innerText(), /readout protection was removed/);
  await page.locator('details.log').click();
  assert.match(await page.locator('details.log pre').innerText(), /Resuming the write at block [1-9]\d*/);

  // Both runs are on the record: cancelled, then succeeded.
  await page.getByTestId('nav-records').click();
  const rows = page.getByTestId('record-entries').locator('tbody tr');
  await rows.filter({ hasText: /unbrick\s*done/ }).waitFor(); // a success reads "done" (api/format.ts outcomeWords)
  await rows.filter({ hasText: /unbrick\s*cancelled/ }).waitFor();
});
