/**
 * Offline update from the UI: the healthy unit boots its pending 1.3.0 as a
 * test, Unbrick waits for it and confirms it; the device page then shows 1.3.0
 * confirmed in slot 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp, screenshot } from './helpers.ts';

test('offline update with test boot and confirm', { timeout: 150_000 }, async (t) => {
  const { page } = await openApp(t);

  await page.getByTestId('device-lab-healthy-pending').and(page.locator('[data-kind=zephyr-smp]')).waitFor({ timeout: 30_000 });
  await page.getByTestId('device-lab-healthy-pending').click();
  await page.getByTestId('start-update').click();
  // The dialog names the verified update bundle that will be installed (the lab's own, signed under its lab root).
  await page.getByTestId('bundle-select').locator('option', { hasText: 'Newest: Unbrick demo gateway 1.3.0' }).waitFor({ state: 'attached' });
  assert.match(await page.getByTestId('bundle-detail').innerText(), /Unbrick demo gateway 1\.3\.0.*signatures are checked again/);
  // The plan says what changes: from the version it runs to the new one.
  assert.match(await page.getByTestId('plan').innerText(), /1\.2\.0 → 1\.3\.0/);
  await screenshot(page, '13-update-bundle');
  await page.getByTestId('start-confirm').click();
  const dialog = page.getByTestId('confirm-dialog');
  await dialog.locator('h3', { hasText: 'Install 1.3.0 on this unit?' }).waitFor({ timeout: 30_000 });
  await screenshot(page, '13-update-confirm');
  await dialog.getByTestId('confirm-allow').click();
  await page.locator('[data-testid=job][data-state=succeeded]').waitFor({ timeout: 120_000 });
  assert.match(await page.getByTestId('job-result').innerText(), /Updated to 1\.3\.0: it booted and is confirmed\./);
  await page.getByTestId('device-kind').filter({ hasText: 'Zephyr application 1.3.0' }).waitFor();

  // The app read the unit again after the update: the findings are current without another click.
  await page.locator('[data-testid=diagnosis][data-stale=false]').waitFor({ timeout: 60_000 });
  await page.getByTestId('finding').filter({ hasText: /Slot 0 holds image 1\.3\.0, confirmed and matches/ }).waitFor({ timeout: 60_000 });
  await screenshot(page, '14-updated');
});
