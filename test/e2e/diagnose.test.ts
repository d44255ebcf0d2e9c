/**
 * Detect and diagnose in the UI (server mode, demo lab, Chromium): the STM32
 * units are identified on their own, and diagnosing each shows the expected
 * findings, the option bytes and the write-protected pages (STM32L4 lab units).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { openApp, screenshot } from './helpers.ts';

async function diagnose(page: Page, id: string) {
  const item = page.getByTestId(`device-${id}`);
  await item.and(page.locator('[data-kind=stm32-rom]')).waitFor({ timeout: 30_000 });
  await item.click();
  // Read-only: one click, no confirmation.
  await page.getByTestId('start-diagnose').click();
  await page.locator('[data-testid=job][data-workflow=diagnose][data-state=succeeded]').waitFor({ timeout: 30_000 });
  await page.locator('[data-testid=diagnosis][data-stale=false]').waitFor();
  return (await page.getByTestId('finding').allInnerTexts()).map((t) => t.replace(/\s+/g, ' '));
}

test('diagnose the erased-MCUboot and the RDP-1 units from the UI', { timeout: 120_000 }, async (t) => {
  // Not about the pace: an unpaced lab line (slot images of several hundred KiB are read and written).
  const { page } = await openApp(t, ['--lab-baud', '0']);

  const erased = await diagnose(page, 'lab-mcuboot-erased');
  assert.ok(erased.some((f) => /Critical MCUboot is missing/.test(f)), erased.join('\n'));
  assert.ok(erased.some((f) => /Warning Bootloader pages are write-protected \(pages 0-15\)/.test(f)), erased.join('\n'));
  assert.ok(erased.some((f) => /OK Slot 0 holds a valid image 1\.2\.0/.test(f)), erased.join('\n'));
  // The flash map: the 16 bootloader pages hatched as write-protected.
  assert.equal(await page.getByTestId('diagnosis').locator('rect.fm-sector[data-locked=true]').count(), 16);
  assert.match(await page.getByTestId('chip').innerText(), /Readout protection: level 0/);
  assert.match(await page.getByTestId('slots').innerText(), /1\.2\.0/);
  await screenshot(page, '05-diagnose-erased-mcuboot');

  const rdp = await diagnose(page, 'lab-rdp1');
  assert.ok(rdp.some((f) => /Critical Readout protection is at level 1/.test(f)), rdp.join('\n'));
  assert.match(await page.getByTestId('chip').innerText(), /Readout protection: level 1/);
  await screenshot(page, '06-diagnose-rdp1');

  // The list shows each unit's health after diagnosis.
  await page.locator('[data-testid=device-lab-rdp1].health-critical').waitFor();
});

test('diagnose the SMP units, then recover the corrupt one from the UI', { timeout: 150_000 }, async (t) => {
  // Not about the pace: an unpaced lab line (slot images of several hundred KiB are read and written).
  const { page } = await openApp(t, ['--lab-baud', '0']);

  const open = async (id: string, kind: string) => {
    await page.getByTestId(`device-${id}`).and(page.locator(`[data-kind=${kind}]`)).waitFor({ timeout: 30_000 });
    await page.getByTestId(`device-${id}`).click();
  };
  const run = async (workflow: string, state = 'succeeded') => {
    // After a write the app reads the unit again first: the button waits until it is enabled.
    await page.getByTestId(`start-${workflow}`).click();
    if (workflow !== 'diagnose' && workflow !== 'detect') await page.getByTestId('start-confirm').click();
    const confirm = page.getByTestId('confirm-allow');
    const done = page.locator(`[data-testid=job][data-workflow=${workflow}][data-state=${state}]`);
    await Promise.race([confirm.waitFor({ timeout: 60_000 }).then(() => confirm.click()), done.waitFor({ timeout: 60_000 })]);
    await done.waitFor({ timeout: 90_000 });
  };
  const finding = (re: RegExp) => page.getByTestId('finding').filter({ hasText: re }).first().waitFor({ timeout: 15_000 });

  await open('lab-healthy-pending', 'zephyr-smp');
  await run('diagnose');
  await finding(/Slot 1 holds a pending test image 1\.3\.0/);
  await finding(/Slot 0 holds image 1\.2\.0, confirmed and matches Unbrick demo gateway 1\.2\.0 \(golden\)/);
  await screenshot(page, '11-diagnose-pending-test');

  await open('lab-corrupt-image', 'mcuboot-serial');
  await run('diagnose');
  await finding(/Slot 0 holds no valid image/);
  await run('recover');
  assert.match(await page.getByTestId('job-result').innerText(), /Recovered: golden image 1\.2\.0 written, hash checked/);
  await screenshot(page, '12-recovered');
  await run('diagnose');
  await finding(/Slot 0 holds image 1\.2\.0/);
  assert.equal(await page.getByTestId('finding').filter({ hasText: /no valid image/ }).count(), 0);
});
