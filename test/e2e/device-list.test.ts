/**
 * The walking skeleton end to end: `unbrick serve` (a real child process) with
 * the demo lab, Debian's Chromium through playwright-core, the device list
 * updating live as lab cables are pulled and plugged back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, screenshot, serve } from './helpers.ts';

test('device list shows the demo lab and updates live', { timeout: 120_000 }, async (t) => {
  const served = await serve();
  t.after(() => served.stop());
  assert.match(served.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{20,}$/);
  const { page, close } = await launchBrowser();
  t.after(close);

  await page.goto(served.url);
  await page.getByTestId('connection').filter({ hasText: 'Connected' }).waitFor();
  const list = page.getByTestId('device-list');
  for (const id of ['lab-recovery-empty', 'lab-corrupt-image', 'lab-mcuboot-erased', 'lab-rdp1', 'lab-healthy-pending', 'lab-low-battery', 'lab-boot-loop'])
    await list.getByTestId(`device-${id}`).waitFor();
  assert.equal(await list.locator('button.device').count(), 7);
  await screenshot(page, '01-device-list');

  // Pull a cable: the unit leaves the list without a reload.
  await page.getByTestId('plug-lab-rdp1').click();
  await list.getByTestId('device-lab-rdp1').waitFor({ state: 'detached' });
  assert.equal(await list.locator('button.device').count(), 6);

  // Plug it back: it returns and is identified again.
  await page.locator('[data-testid=plug-lab-rdp1][data-plugged=false]').click();
  await list.getByTestId('device-lab-rdp1').waitFor();

  // The device page opens and shows the unit's identity.
  await list.getByTestId('device-lab-corrupt-image').click();
  await page.getByTestId('device-page').getByText('UB-LAB-0002').waitFor();
  await screenshot(page, '02-device-page');
});

test('the page refuses to load without the launch token', { timeout: 60_000 }, async (t) => {
  const served = await serve();
  t.after(() => served.stop());
  const bare = served.url.replace(/\?token=.*/, '');
  const res = await fetch(bare);
  assert.equal(res.status, 403);
  const wrong = await fetch(`${bare}?token=not-the-token`);
  assert.equal(wrong.status, 403);
  const ok = await fetch(served.url);
  assert.equal(ok.status, 200);
  assert.match(ok.headers.get('content-security-policy') ?? '', /script-src 'self'/);
});
