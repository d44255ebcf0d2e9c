/**
 * The factory station screen in Chromium, over server mode with the demo
 * factory line (`unbrick serve --station-demo`: simulated blank STM32 units on
 * ptys paced at 115200 baud, a provisioning bundle signed by a lab root in a
 * temporary folder). The operator's view of a batch: the pilot lot runs and
 * the line pauses, the tiles go RUNNING -> PASS, Approve lets the rest run,
 * the two faulty units of the line (one readout-protected, one with a stuck
 * flash cell) show FAIL with their reasons, the counters add up, and the page
 * runs under its CSP without a violation. Then the failure-rate stop, the
 * operator swapping units, Resume, and stopping the station.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { openApp, screenshot } from './helpers.ts';

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

test('station screen: pilot pause and approve, tiles RUNNING -> PASS, faulty units FAIL with their reasons', { timeout: 150_000 }, async (t) => {
  // Started from the screen (the page is there before the first unit starts, so every state is seen).
  const { page, cspViolations } = await openApp(t);
  await page.getByTestId('nav-station').click();
  await page.getByTestId('station-start').waitFor();
  await page.getByTestId('station-demo').click();
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
  for (const text of await pass.allInnerTexts()) assert.match(text, /SOCKET \d[\s\S]*PASS[\s\S]*DS-000[12]/);
  // The chip UID is the engineer's detail, behind the tile's Details.
  for (const text of await pass.getByTestId('tile-reason').allTextContents()) assert.match(text, /UID [0-9a-f]{24}/);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(count(await states(page), 'running'), 0, 'the line waits for the approval');
  assert.equal(await page.getByTestId('count-passed').innerText(), '2');
  await screenshot(page, 'station-02-pilot-review');

  await page.getByTestId('approve-pilot').click();
  await page.getByTestId('pilot-banner').waitFor({ state: 'detached' });
  assert.equal(await page.getByTestId('station-mode').innerText(), 'LINE RUNNING');
  await until(page, 'the rest of the batch starts', (s) => count(s, 'running') >= 3);
  const done = await until(page, 'the batch finished', (s) => count(s, 'pass') + count(s, 'fail') === 6, 90_000);
  assert.deepEqual([count(done, 'pass'), count(done, 'fail')], [4, 2]);

  // The unit from the wrong lot (readout-protected) and the one with a bad flash cell: FAIL, in operator words on the tile
  // (no command-line advice), with the engineer's detail (error text and code) behind Details.
  const failedTiles = page.locator('.tile[data-state=fail]');
  const failed = await failedTiles.allInnerTexts();
  assert.equal(failed.length, 2);
  assert.ok(failed.every((text) => /FAIL[\s\S]*Set it aside/.test(text) && !/--allow-unprotect/.test(text)), failed.join('\n'));
  assert.ok(failed.some((text) => /Locked unit: wrong lot\?/.test(text)), failed.join('\n'));
  assert.ok(failed.some((text) => /Flash did not verify/.test(text)), failed.join('\n'));
  const detail = await failedTiles.getByTestId('tile-reason').allTextContents();
  assert.ok(detail.some((text) => /readout-protected.*\(station\.unit-protected\)/s.test(text) && !/--allow-unprotect/.test(text)), detail.join('\n'));
  assert.ok(detail.some((text) => /UID [0-9a-f]{24}[\s\S]*Verify failed: pages 4 do not hold the image.*\(stm32\.verify-failed\)/s.test(text)), detail.join('\n'));
  assert.equal(await page.getByTestId('count-passed').innerText(), '4');
  assert.equal(await page.getByTestId('count-failed').innerText(), '2');
  assert.equal(await page.getByTestId('count-started').innerText(), '6');
  // Four serials handed out, each once (a unit that failed before its per-unit data step takes none).
  const serials = (await pass.allInnerTexts()).map((s) => /DS-\d{4}/.exec(s)?.[0]);
  assert.deepEqual([...new Set(serials)].sort(), ['DS-0001', 'DS-0002', 'DS-0003', 'DS-0004']);
  assert.equal(await page.getByTestId('count-data').innerText(), '496');
  await screenshot(page, 'station-03-batch-done');

  assert.deepEqual(cspViolations, []);
});

test('station screen: the line stops itself with its reason, the operator swaps units, resumes, and stops the station', { timeout: 150_000 }, async (t) => {
  // The failure rate over the last 3 units: after the two pilot units passed, the first unit of the lot
  // to fail (the one that fails verify, or the one that arrives readout-protected: a unit that answered
  // its bootloader counts against the line, not its port) stops the line (1 of 3 = 33% > 20%).
  const { page } = await openApp(t, ['--station-demo', '--demo-units', '6', '--pilot', '2', '--window', '3', '--threshold', '20']);
  // A station started with the app opens on its screen.
  await page.getByTestId('station').waitFor({ timeout: 30_000 });
  await until(page, 'pilot units passed', (s) => count(s, 'pass') === 2);
  await page.getByTestId('approve-pilot').click();

  await page.getByTestId('stopped-banner').waitFor({ timeout: 60_000 });
  assert.equal(await page.getByTestId('station-mode').innerText(), 'LINE STOPPED');
  assert.match(await page.getByTestId('stopped-banner').innerText(), /Line stopped: 1 of the last 3 units failed \(33%, limit 20%\)\. Most frequent: (stm32\.verify-failed|station\.unit-protected) \(1\)/);
  // Units already running finish; nothing new starts.
  const first = await until(page, 'the first lot finished', (s) => count(s, 'pass') + count(s, 'fail') === 6);
  assert.deepEqual([count(first, 'pass'), count(first, 'fail')], [4, 2]);
  await screenshot(page, 'station-04-line-stopped');

  // The operator pulls the finished units and plugs in fresh ones: they wait while the line is stopped.
  await page.getByTestId('demo-next').click();
  await until(page, 'fresh units wait for the stopped line', (s) => count(s, 'idle') === 6, 30_000);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(count(await states(page), 'running'), 0);
  assert.match(await page.locator('.tile').first().innerText(), /Waiting for the line/);

  await page.getByTestId('resume-line').click();
  await until(page, 'the next lot runs after Resume', (s) => count(s, 'running') + count(s, 'pass') + count(s, 'fail') >= 3);
  const second = await until(page, 'the second lot finished', (s) => count(s, 'pass') + count(s, 'fail') === 6, 90_000);
  assert.deepEqual([count(second, 'pass'), count(second, 'fail')], [5, 1], 'the second lot has a protected unit');
  assert.equal(await page.getByTestId('count-started').innerText(), '12');
  assert.equal(await page.getByTestId('count-passed').innerText(), '9');
  const serials = (await page.locator('.tile[data-state=pass]').allInnerTexts()).map((s) => /DS-\d{4}/.exec(s)?.[0]);
  assert.deepEqual([...new Set(serials)].sort(), ['DS-0005', 'DS-0006', 'DS-0007', 'DS-0008', 'DS-0009'], 'the next serials, none twice');

  // Stopping the station asks first, then the screen offers to start one again.
  await page.getByTestId('stop-station').click();
  await page.getByTestId('stop-confirm').click();
  await page.getByTestId('station-start').waitFor();
  await page.getByTestId('station-demo').waitFor();
  await screenshot(page, 'station-05-stopped-station');
});

test('station screen: a port that keeps faulting is disabled with its reason, and Enable brings it back', { timeout: 120_000 }, async (t) => {
  // One good socket and one whose adapter cannot be opened: a fault of the port, not of a unit.
  const { page } = await openApp(t, ['--station-demo', '--demo-units', '1', '--demo-dead-socket', '--pilot', '0']);
  await page.getByTestId('station').waitFor({ timeout: 30_000 });
  const broken = page.getByTestId('tile-/dev/unbrick-demo-broken-socket');
  const started = async () => Number(await page.getByTestId('count-started').innerText());
  for (let lot = 1; lot <= 3; lot++) {
    // Both sockets have had their unit of this lot, and both are done.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const s = await states(page);
      if ((await started()) === 2 * lot && s.length === 2 && s.every((x) => x === 'pass' || x === 'fail' || x === 'disabled')) break;
      assert.ok(Date.now() < deadline, `lot ${lot}: tiles ${s.join(', ')}, ${await started()} started`);
      await new Promise((r) => setTimeout(r, 100));
    }
    if (lot < 3) {
      assert.equal(await broken.getAttribute('data-state'), 'fail');
      // A fault of the fixture, not of the unit: never "FAIL … set it aside".
      assert.equal(await broken.getAttribute('data-fault'), 'fixture');
      assert.match(await broken.innerText(), /SOCKET 2[\s\S]*FIXTURE[\s\S]*Socket 2: fixture fault — unit is fine, call the engineer/);
      assert.match((await broken.getByTestId('tile-reason').textContent())!, /Cannot open \/dev\/unbrick-demo-broken-socket.*\(io\.open-failed\)/s);
      await page.getByTestId('demo-next').click();
    }
  }
  // Third fault in a row: the port is disabled; the line itself keeps running (a port fault is not the line's).
  assert.equal(await broken.getAttribute('data-state'), 'disabled');
  assert.match(await broken.innerText(), /OFF[\s\S]*switched off after repeated fixture faults — unit is fine, call the engineer/);
  assert.match((await broken.getByTestId('tile-reason').textContent())!, /Port disabled after 3 faults in a row \(last: Cannot open[^)]*\)\. Check its cable and hub, then enable it\./);
  assert.equal(await page.getByTestId('station-mode').innerText(), 'LINE RUNNING');
  await screenshot(page, 'station-06-port-disabled');
  // Pulling and plugging does not bring a disabled port back; Enable does, and it runs (and faults) again.
  await page.getByTestId('demo-next').click();
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(await broken.getAttribute('data-state'), 'disabled');
  const before = await started();
  await page.getByTestId('enable-/dev/unbrick-demo-broken-socket').click();
  const deadline = Date.now() + 30_000;
  while ((await broken.getAttribute('data-state')) !== 'fail') {
    assert.ok(Date.now() < deadline, `the enabled port shows ${await broken.getAttribute('data-state')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.match((await broken.getByTestId('tile-reason').textContent())!, /Cannot open/);
  assert.ok((await started()) > before, 'a unit started on the enabled port');
});
