/**
 * The update's safeguards in the app: Offline update on the lab's low-battery
 * unit is refused before anything is sent, naming the battery reading and the
 * release's limit; on the unit whose new image restarts again and again, the
 * job ends as boot-looping (not as a rollback) and says what to do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp, screenshot } from './helpers.ts';

test('offline update: low battery refused with reading and limit; boot loop reported as such', { timeout: 240_000 }, async (t) => {
  const { page, cspViolations } = await openApp(t);

  const startUpdate = async (id: string) => {
    await page.getByTestId(`device-${id}`).and(page.locator('[data-kind=zephyr-smp]')).waitFor({ timeout: 30_000 });
    await page.getByTestId(`device-${id}`).click();
    await page.getByTestId('start-update').click();
    await page.getByTestId('bundle-select').locator('option', { hasText: 'Newest: Unbrick demo gateway 1.3.0' }).waitFor({ state: 'attached' });
    await page.getByTestId('start-confirm').click();
  };

  // Low battery: refused in the checks step; the install question never comes.
  await startUpdate('lab-low-battery');
  await page.locator('[data-testid=job][data-state=failed]').waitFor({ timeout: 60_000 });
  const refusal = await page.getByTestId('job-error').innerText();
  assert.match(refusal, /battery \(power\/battery_mv\) reads 3310 mV; it must be at least 3500 mV/);
  assert.match(refusal, /nothing was sent to it/);
  assert.equal(await page.getByTestId('confirm-dialog').count(), 0);
  await screenshot(page, '15-update-low-battery');

  // Boot loop: slot 1 already holds 1.3.0; the test boot restarts again and again.
  await startUpdate('lab-boot-loop');
  const dialog = page.getByTestId('confirm-dialog');
  await dialog.locator('h3', { hasText: 'Install 1.3.0 on this unit?' }).waitFor({ timeout: 30_000 });
  await dialog.getByTestId('confirm-allow').click();
  await page.locator('[data-testid=job][data-state=failed]').waitFor({ timeout: 120_000 });
  const loop = await page.getByTestId('job-error').innerText();
  assert.match(loop, /The unit is boot-looping: it restarted 7 times after Unbrick restarted it once into 1\.3\.0/);
  assert.match(loop, /Unbrick did not confirm 1\.3\.0/);
  assert.doesNotMatch(loop, /rolled back/);
  await screenshot(page, '16-update-boot-loop');
  assert.deepEqual(cspViolations, []);
});
