/**
 * The device page a technician trusts at a glance (issue 16), in Chromium
 * against `unbrick serve --lab`, at 1280x800 and 1024x700, screenshots in
 * test-artifacts/: no stale finding after a write; a job whose cable is
 * pulled stays in view and resumes after the replug; the one plan in a modal
 * operated by keyboard alone; the flash map of every lab unit (the seed's
 * STM32L4 layout with its regions and locks); cancel asks, then says what it
 * left; axe-core finds no serious violation on the device page.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { openApp, screenshot } from './helpers.ts';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core over the page (injected through the debugger, which the page's CSP does not govern): serious and critical violations. */
async function axeSerious(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  const r = (await page.evaluate(() =>
    (window as unknown as { axe: { run(ctx: unknown, o: unknown): Promise<unknown> } }).axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } }),
  )) as { violations: { id: string; impact: string; nodes: { target: string[] }[] }[] };
  return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

async function choose(page: Page, id: string, kind: string) {
  await page.getByTestId(`device-${id}`).and(page.locator(`[data-kind=${kind}]`)).waitFor({ timeout: 30_000 });
  await page.getByTestId(`device-${id}`).click();
}

async function diagnoseNow(page: Page) {
  // Read-only: one click, no confirmation.
  await page.getByTestId('start-diagnose').click();
  await page.locator('[data-testid=job][data-workflow=diagnose][data-state=succeeded]').waitFor({ timeout: 60_000 });
  await page.locator('[data-testid=diagnosis][data-stale=false]').waitFor();
}

async function noStaleAfterWrite(page: Page) {
  // The app reads identity and findings again by itself; until then they are greyed and stamped.
  await page.getByTestId('refreshing').waitFor({ state: 'detached', timeout: 60_000 });
  await page.locator('[data-testid=diagnosis][data-stale=false]').waitFor({ timeout: 60_000 });
  await page.locator('[data-testid=identity][data-stale=false]').waitFor();
  assert.equal(await page.locator('[data-stale=true]').count(), 0);
}

test('Recover by keyboard from one plan; pulled cable keeps the job in view; Resume offered first; no stale finding after', { timeout: 240_000 }, async (t) => {
  const { page, cspViolations } = await openApp(t, ['--lab-baud', '460800']);
  await page.setViewportSize({ width: 1280, height: 800 });
  const id = 'lab-recovery-empty';
  await choose(page, id, 'mcuboot-serial');
  // No diagnosis yet: the recommended step is Diagnose, one click.
  await page.getByTestId('recommended').getByTestId('start-diagnose').waitFor();
  await diagnoseNow(page);
  assert.ok((await page.locator('[data-testid=finding][data-severity=critical]').count()) > 0);
  assert.match(await page.getByTestId(`device-${id}`).innerText(), /Critical/);
  // Actions that do not apply to this unit are disabled, with the reason beside them.
  assert.equal(await page.getByTestId('start-unbrick').isDisabled(), true);
  assert.match(await page.getByTestId('actions').innerText(), /Needs the STM32 ROM bootloader/);
  await screenshot(page, 'dp-01-recover-recommended-1280');

  // Keyboard alone: from the device button, the recommended action is within three Tab presses.
  await page.getByTestId(`device-${id}`).focus();
  await page.keyboard.press('Enter');
  let reached = false;
  for (let i = 0; i < 3 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => document.activeElement?.getAttribute('data-testid') === 'start-recover');
  }
  assert.ok(reached, 'Recover is within three Tab presses of choosing the unit');
  // A visible focus ring on the focused action.
  const ring = await page.evaluate(() => {
    const cs = getComputedStyle(document.activeElement!);
    return { style: cs.outlineStyle, width: parseFloat(cs.outlineWidth) };
  });
  assert.ok(ring.style !== 'none' && ring.width >= 2, JSON.stringify(ring));
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  assert.equal(await dialog.getAttribute('aria-modal'), 'true');
  // Focus on the safe choice; Escape cancels.
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'start-cancel');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  await page.keyboard.press('Enter'); // focus went back to Recover
  await dialog.waitFor();
  await dialog.getByTestId('plan-write').first().waitFor();
  assert.match(await dialog.getByTestId('plan').innerText(), /Slot 0 \(now: no valid image\)/);
  await dialog.getByTestId('flash-map').waitFor();
  await screenshot(page, 'dp-02-recover-plan-1280');
  // Tab from Cancel reaches Start (the select sits before Cancel, so Tab moves forward to Start).
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'start-confirm');
  await page.keyboard.press('Enter');
  await dialog.waitFor({ state: 'detached' });

  // Confirmed once: the job does not ask again. Pull the cable mid-upload.
  const job = page.locator('[data-testid=job][data-workflow=recover]');
  await job.getByTestId('rate').filter({ hasText: /B\/s/ }).waitFor({ timeout: 60_000 });
  assert.equal(await page.getByTestId('confirm-dialog').count(), 0);
  await page.getByTestId(`plug-${id}`).click();
  await job.getByTestId('job-interrupted').waitFor({ timeout: 30_000 });
  assert.match(await job.getByTestId('job-interrupted').innerText(), /Cable lost at [\d.]+ (KiB|B) of [\d.]+ KiB — plug it back in/);
  assert.match(await page.getByTestId('job-tray').innerText(), /Recover: .* interrupted, cable out/);
  assert.match(await job.getByTestId('job-condition').innerText(), /Slot 0 is half-written/);
  await page.getByTestId('unplugged').waitFor();
  await screenshot(page, 'dp-03-cable-pulled-1280');

  // Replug: the automatic detect does not hide the interrupted job; Resume is offered first.
  await page.getByTestId(`plug-${id}`).click();
  await page.getByTestId(`device-${id}`).and(page.locator('[data-kind=mcuboot-serial]')).waitFor({ timeout: 30_000 });
  await page.getByTestId('resume-first').waitFor();
  assert.equal(await page.locator('[data-testid=job][data-workflow=recover]').count(), 1);
  // The findings read before the pull stay, greyed and stamped, until the unit is read again.
  await page.locator('[data-testid=diagnosis][data-stale=true]').waitFor();
  await screenshot(page, 'dp-04-replugged-resume-offered-1280');
  await page.getByTestId('resume-first').click();
  await page.locator('[data-testid=job][data-workflow=recover][data-state=succeeded]').waitFor({ timeout: 120_000 });
  await noStaleAfterWrite(page);
  assert.equal(await page.locator('[data-testid=finding][data-severity=critical]').count(), 0, await page.getByTestId('diagnosis').innerText());
  assert.doesNotMatch(await page.getByTestId('diagnosis').innerText(), /Slot 0 holds no valid image/);
  await screenshot(page, 'dp-05-after-recover-fresh-1280');
  await page.setViewportSize({ width: 1024, height: 700 });
  await screenshot(page, 'dp-05-after-recover-fresh-1024');
  assert.deepEqual(await axeSerious(page), []);
  assert.deepEqual(cspViolations, []);
});

test('flash map of every lab unit at 1024x700, the seed STM32L4 layout with regions and locks; axe finds nothing serious', { timeout: 240_000 }, async (t) => {
  const { page } = await openApp(t, ['--lab-baud', '0']);
  await page.setViewportSize({ width: 1024, height: 700 });
  const units: [string, string][] = [
    ['lab-recovery-empty', 'mcuboot-serial'],
    ['lab-corrupt-image', 'mcuboot-serial'],
    ['lab-mcuboot-erased', 'stm32-rom'],
    ['lab-rdp1', 'stm32-rom'],
    ['lab-healthy-pending', 'zephyr-smp'],
  ];
  for (const [id, kind] of units) {
    await choose(page, id, kind);
    await diagnoseNow(page);
    const map = page.getByTestId('diagnosis').getByTestId('flash-map');
    await map.waitFor();
    const regions = await map.locator('svg g.fm-region').evaluateAll((gs) => gs.map((g) => [g.getAttribute('data-region'), g.getAttribute('data-holds'), g.getAttribute('data-lock')]));
    assert.ok(regions.length >= 2, `${id}: ${JSON.stringify(regions)}`);
    if (id === 'lab-mcuboot-erased') {
      // STM32L4 (seed layout): MCUboot erased but its pages locked; slot 0 valid 1.2.0; 2 KiB pages drawn, 16 of them hatched.
      assert.deepEqual(regions[0], ['bootloader (MCUboot)', 'erased', 'locked']);
      assert.ok(regions.some((r) => r[0] === 'slot 0' && r[1] === 'valid'), JSON.stringify(regions));
      assert.equal(await map.locator('rect.fm-sector[data-locked=true]').count(), 16);
      assert.match(await map.locator('table').innerText(), /slot 0\s+0x08008000\s+448 KiB\s+valid image 1\.2\.0/);
    }
    if (id === 'lab-rdp1') {
      assert.ok(regions.every((r) => r[1] === 'unknown'), JSON.stringify(regions));
      assert.match(await map.innerText(), /\? Readout protection level 1/);
    }
    if (id === 'lab-recovery-empty') assert.ok(regions.some((r) => r[0] === 'slot 0' && r[1] === 'none'), JSON.stringify(regions));
    if (id === 'lab-corrupt-image') assert.ok(regions.some((r) => r[0] === 'slot 0' && r[1] !== 'valid'), JSON.stringify(regions));
    if (id === 'lab-healthy-pending') assert.ok(regions.some((r) => r[0] === 'slot 1' && r[1] === 'pending'), JSON.stringify(regions));
    await map.scrollIntoViewIfNeeded();
    await screenshot(page, `dp-map-${id}-1024`);
    await page.setViewportSize({ width: 1280, height: 800 });
    await screenshot(page, `dp-map-${id}-1280`);
    await page.setViewportSize({ width: 1024, height: 700 });
    assert.deepEqual(await axeSerious(page), [], id);
  }
  // The device list shows health as words, never a colour bar alone: seen through a full colour-blindness
  // filter (grayscale, set through the CSSOM, which the page's CSP allows), every state still reads.
  const words = await page.getByTestId('health-word').allInnerTexts();
  assert.ok(words.every((w) => /Healthy|Needs attention|Critical|Not diagnosed/.test(w)), words.join('|'));
  assert.ok(words.some((w) => /Critical/.test(w)) && words.some((w) => /Healthy|Needs attention/.test(w)), words.join('|'));
  await page.evaluate(() => void (document.documentElement.style.filter = 'grayscale(1)'));
  await choose(page, 'lab-mcuboot-erased', 'stm32-rom');
  await page.getByTestId('finding').first().waitFor();
  const findings = await page.getByTestId('finding').allInnerTexts();
  assert.ok(findings.every((f) => /^\W*(OK|Note|Warning|Critical)\b/.test(f.trim())), findings.join('|'));
  assert.match(await page.getByTestId('diagnosis').getByTestId('flash-map').locator('table').innerText(), /Locked: write-protected/);
  await screenshot(page, 'dp-map-grayscale-1024');
});

test('RDP-1 unit at 1024x700: the plan asks for the typed word ERASE, stays on screen; cancel asks, then says what it left; resume to fresh findings', { timeout: 300_000 }, async (t) => {
  const { page } = await openApp(t, ['--lab-baud', '460800']);
  await page.setViewportSize({ width: 1024, height: 700 });
  await choose(page, 'lab-rdp1', 'stm32-rom');
  await diagnoseNow(page);
  await page.getByTestId('recommended').getByTestId('start-unbrick').click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  const box = (await dialog.boundingBox())!;
  assert.ok(box.y >= 0 && box.y + box.height <= 700 && box.x >= 0 && box.x + box.width <= 1024, JSON.stringify(box));
  assert.match(await dialog.getByTestId('plan').innerText(), /The WHOLE chip/);
  assert.equal(await dialog.getByTestId('start-confirm').isDisabled(), true);
  await dialog.getByTestId('plan-word').fill('unprotect');
  assert.equal(await dialog.getByTestId('start-confirm').isDisabled(), true);
  await dialog.getByTestId('plan-word').fill('ERASE');
  await screenshot(page, 'dp-06-unbrick-plan-rdp1-1024');
  await dialog.getByTestId('start-confirm').click();
  const job = page.locator('[data-testid=job][data-workflow=unbrick]');
  await job.getByTestId('phase').filter({ hasText: 'Writing' }).waitFor({ timeout: 90_000 });
  // One plan: no second and third question.
  assert.equal(await page.getByTestId('confirm-dialog').count(), 0);
  await job.getByTestId('overall-progress').waitFor();
  await page.waitForTimeout(1500);
  await job.getByTestId('job-cancel').click();
  await page.getByTestId('cancel-dialog').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'cancel-keep');
  await screenshot(page, 'dp-07-cancel-asks-1024');
  await page.getByTestId('cancel-confirm').click();
  await page.locator('[data-testid=job][data-workflow=unbrick][data-state=cancelled]').waitFor({ timeout: 30_000 });
  const cond = await job.getByTestId('job-condition').innerText();
  assert.match(cond, /Stopped in: Write MCUboot and the golden application/);
  assert.match(cond, /half-written/);
  assert.match(cond, /Write protection is OFF/);
  assert.match(await page.getByTestId('job-tray').innerText(), /Full unbrick: .* interrupted, can resume/);
  await screenshot(page, 'dp-08-cancelled-condition-1024');
  await page.getByTestId('resume-first').click();
  await page.locator('[data-testid=job][data-workflow=unbrick][data-state=succeeded]').waitFor({ timeout: 180_000 });
  await noStaleAfterWrite(page);
  await screenshot(page, 'dp-09-unbrick-done-fresh-1024');
});
