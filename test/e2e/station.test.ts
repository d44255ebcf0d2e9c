/**
 * The factory station screen in Chromium, over server mode with the demo
 * factory line (`unbrick serve --station-demo`: simulated blank STM32 units on
 * ptys paced at 115200 baud, a provisioning bundle signed by a lab root in a
 * temporary folder). The operator's view of a batch: the pilot lot runs and
 * the line pauses, the tiles go RUNNING -> PASS, Approve lets the rest run,
 * the readout-protected unit shows FAIL with its reason, the counters add up,
 * and the page runs under its CSP without a violation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { launchBrowser, screenshot, serve } from './helpers.ts';

const states = (page: Page) => page.locator('.tile').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.state ?? ''));
const count = (list: string[], s: string) => list.filter((x) => x === s).length;

async function until(page: Page, what: string, ok: (states: string[]) => boolean, timeoutMs = 60_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await states(page);
    if (ok(s)) return s;
    if (Date.now() > deadline) throw new Error(`${what}: tiles are ${s.join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('station screen: pilot pause and approve, tiles RUNNING -> PASS, a faulty unit FAILs with its reason', { timeout: 150_000 }, async (t) => {
  const served = await serve(['--station-demo', '--demo-units', '6', '--pilot', '2']);
  t.after(() => served.stop());
  const { page, close } = await launchBrowser();
  t.after(close);
  const cspViolations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(m.text());
  });

  await page.goto(served.url);
  // A station started with the app opens on its screen.
  await page.getByTestId('station').waitFor({ timeout: 30_000 });
  assert.match(await page.locator('.station-head').innerText(), /Demo sensor 1\.0\.0[\s\S]*demo line of simulated units/);

  // The pilot lot: two units start, then the line pauses; the other four wait.
  await page.getByTestId('pilot-banner').waitFor({ timeout: 30_000 });
  assert.match(await page.getByTestId('pilot-banner').innerText(), /Pilot lot: the first 2 units/);
  assert.equal(await page.getByTestId('station-mode').innerText(), 'LINE PAUSED');
  const early = await until(page, 'two pilot units running', (s) => count(s, 'running') === 2);
  assert.equal(count(early, 'idle'), 4);
  const running = page.locator('.tile[data-state=running]').first();
  assert.match(await running.getByTestId('tile-word').innerText(), /RUNNING/);
  await screenshot(page, 'station-01-pilot-running');

  // Both pilot units pass; nothing else starts before someone approves.
  const afterPilot = await until(page, 'pilot units passed', (s) => count(s, 'pass') === 2);
  assert.equal(count(afterPilot, 'running'), 0);
  const pass = page.locator('.tile[data-state=pass]');
  for (const text of await pass.allInnerTexts()) assert.match(text, /PASS[\s\S]*DS-000[12][\s\S]*UID [0-9a-f]{24}/);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(count(await states(page), 'running'), 0, 'the line waits for the approval');
  assert.equal(await page.getByTestId('count-passed').innerText(), '2');
  await screenshot(page, 'station-02-pilot-review');

  await page.getByTestId('approve-pilot').click();
  await page.getByTestId('pilot-banner').waitFor({ state: 'detached' });
  assert.equal(await page.getByTestId('station-mode').innerText(), 'LINE RUNNING');
  await until(page, 'the rest of the batch starts', (s) => count(s, 'running') >= 3);
  const done = await until(page, 'the batch finished', (s) => count(s, 'pass') + count(s, 'fail') === 6, 90_000);
  assert.deepEqual([count(done, 'pass'), count(done, 'fail')], [5, 1]);

  // The unit from the wrong lot (readout-protected): FAIL, with what to do in plain words.
  const failed = page.locator('.tile[data-state=fail]');
  assert.match(await failed.getByTestId('tile-word').innerText(), /FAIL/);
  assert.match(await failed.getByTestId('tile-reason').innerText(), /readout-protected.*--allow-unprotect.*\(station\.unit-protected\)/s);
  assert.equal(await page.getByTestId('count-passed').innerText(), '5');
  assert.equal(await page.getByTestId('count-failed').innerText(), '1');
  assert.equal(await page.getByTestId('count-started').innerText(), '6');
  // Five serials handed out, each once.
  const serials = (await pass.allInnerTexts()).map((s) => /DS-\d{4}/.exec(s)?.[0]);
  assert.deepEqual([...new Set(serials)].sort(), ['DS-0001', 'DS-0002', 'DS-0003', 'DS-0004', 'DS-0005']);
  assert.equal(await page.getByTestId('count-data').innerText(), '495');
  await screenshot(page, 'station-03-batch-done');

  assert.deepEqual(cspViolations, []);
});
