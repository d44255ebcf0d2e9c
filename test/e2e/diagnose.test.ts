/**
 * Detect and diagnose in the UI (server mode, demo lab, Chromium): the STM32
 * units are identified on their own, and diagnosing each shows the expected
 * findings, the option bytes and the write-protected sectors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { launchBrowser, screenshot, serve } from './helpers.ts';

async function diagnose(page: Page, id: string) {
  const item = page.getByTestId(`device-${id}`);
  await item.and(page.locator('[data-kind=stm32-rom]')).waitFor({ timeout: 30_000 });
  await item.click();
  await page.getByTestId('start-diagnose').click();
  await page.getByTestId('start-confirm').click();
  await page.locator('[data-testid=job][data-state=succeeded]').waitFor({ timeout: 30_000 });
  await page.getByTestId('diagnosis').waitFor();
  return (await page.getByTestId('finding').allInnerTexts()).map((t) => t.replace(/\s+/g, ' '));
}

test('diagnose the erased-MCUboot and the RDP-1 units from the UI', { timeout: 120_000 }, async (t) => {
  const served = await serve();
  t.after(() => served.stop());
  const { page, close } = await launchBrowser();
  t.after(close);
  await page.goto(served.url);

  const erased = await diagnose(page, 'lab-mcuboot-erased');
  assert.ok(erased.some((f) => /critical MCUboot is missing/.test(f)), erased.join('\n'));
  assert.ok(erased.some((f) => /warning Bootloader pages are write-protected \(sectors 0-3\)/.test(f)), erased.join('\n'));
  assert.ok(erased.some((f) => /ok Slot 0 holds a valid image 1\.2\.0/.test(f)), erased.join('\n'));
  assert.equal(await page.locator('.sector.wrp').count(), 4);
  assert.match(await page.getByTestId('chip').innerText(), /Readout protection: level 0/);
  assert.match(await page.getByTestId('slots').innerText(), /1\.2\.0/);
  await screenshot(page, '05-diagnose-erased-mcuboot');

  const rdp = await diagnose(page, 'lab-rdp1');
  assert.ok(rdp.some((f) => /critical Readout protection is at level 1/.test(f)), rdp.join('\n'));
  assert.match(await page.getByTestId('chip').innerText(), /Readout protection: level 1/);
  await screenshot(page, '06-diagnose-rdp1');

  // The list shows each unit's health after diagnosis.
  await page.locator('[data-testid=device-lab-rdp1].health-critical').waitFor();
});
