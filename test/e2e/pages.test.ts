/**
 * The Records, Bundles and Station screens in Chromium at 1280x800 and
 * 1024x700, with screenshots in test-artifacts/: records opened, filtered by
 * unit and searched, in local time, a diagnosis with a critical finding not
 * shown as "succeeded"; bundles listing the demo lab's bundles and a vendor
 * root added (after typing its fingerprint) and removed (after showing it);
 * the station at 16 sockets on 1024x700 with a fixture fault. Each screen is
 * checked with axe-core (WCAG 2 A/AA: no serious or critical violation), under
 * a grey-scale filter (every state still has its word or icon), and for a
 * visible focus ring.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { openApp, screenshot } from './helpers.ts';
import { Lab, makeVendor } from '../unit/bundle/fixture.ts';

const AXE = readFileSync(join(process.cwd(), 'node_modules/axe-core/axe.min.js'), 'utf8');
const SIZES = [
  { width: 1280, height: 800 },
  { width: 1024, height: 700 },
] as const;

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

/** axe-core over one screen (WCAG 2.0/2.1 A and AA rules); returns the serious and critical violations. */
async function axe(page: Page, selector: string): Promise<AxeViolation[]> {
  // Evaluated over the DevTools protocol, so the page's CSP (script-src 'self') does not block it.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE);
  const violations = (await page.evaluate(
    (sel) =>
      (window as unknown as { axe: { run(ctx: unknown, o: unknown): Promise<{ violations: unknown[] }> } }).axe
        .run(document.querySelector(sel), { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
        .then((r) => r.violations),
    selector,
  )) as AxeViolation[];
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

const describe = (v: AxeViolation[]) => v.map((x) => `${x.id} (${x.impact}): ${x.help}\n  ${x.nodes.map((n) => `${n.target.join(' ')} ${n.failureSummary ?? ''}`).join('\n  ')}`).join('\n');

/** Grey-scale (what a person who sees no colour gets): a screenshot, and the states still read as words. */
async function greyscale<T>(page: Page, name: string, check: () => Promise<T>): Promise<T> {
  await page.evaluate(() => (document.documentElement.style.filter = 'grayscale(1)'));
  await screenshot(page, name);
  try {
    return await check();
  } finally {
    await page.evaluate(() => (document.documentElement.style.filter = ''));
  }
}

/** Tabs to the first element matching `selector` and says whether it shows a focus ring (an outline of 2 px or more). */
async function focusRing(page: Page, selector: string): Promise<{ outline: string }> {
  await page.locator(selector).first().focus();
  // A keyboard focus (Tab away and back) so :focus-visible applies.
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Tab');
  return page.evaluate(() => {
    const s = getComputedStyle(document.activeElement!);
    return { outline: `${s.outlineStyle} ${s.outlineWidth}` };
  });
}

function cli(dataDir: string, ...args: string[]) {
  return spawnSync(process.execPath, ['bin/unbrick.js', ...args, '--data-dir', dataDir], { encoding: 'utf8', timeout: 120_000 });
}

test('records: open, filter by unit, search, local time; a critical diagnosis is not "succeeded"; the HTML report', { timeout: 180_000 }, async (t) => {
  const { served, page, cspViolations } = await openApp(t);
  // Three runs into the app's service log, from the CLI (the same log, under its lock).
  assert.equal(cli(served.dataDir, 'run', 'diagnose', '--lab', 'lab-recovery-empty').status, 1, 'a critical finding exits 1');
  assert.equal(cli(served.dataDir, 'run', 'diagnose', '--lab', 'lab-healthy-pending').status, 0);
  cli(served.dataDir, 'run', 'recover', '--lab', 'lab-healthy-pending');

  await page.getByTestId('nav-records').click();
  await page.getByTestId('chain').filter({ hasText: 'Log intact: 3 entries' }).waitFor();
  const critical = page.getByTestId('record-0');
  assert.equal(await critical.getAttribute('data-outcome'), 'bad');
  const text = await critical.innerText();
  assert.match(text, /problems found: 1 critical/);
  assert.doesNotMatch(text, /succeeded/);
  // Local time with the zone named, not raw ISO.
  assert.match(text, /\d{4}-\d\d-\d\d\s+\d\d:\d\d:\d\d UTC/);
  assert.doesNotMatch(text, /\d{4}-\d\d-\d\dT/);

  // Open it: the findings.
  await page.getByTestId('record-open-0').click();
  const detail = page.getByTestId('record-detail-0');
  await detail.waitFor();
  assert.match(await detail.innerText(), /Critical: Slot 0 holds no valid image/);

  // Filter by unit, then search.
  await page.getByTestId('records-unit').selectOption('UB-LAB-0005');
  assert.match(await page.getByTestId('records-count').innerText(), /Showing 2 of 3/);
  await page.getByTestId('records-search').fill('refused');
  assert.match(await page.getByTestId('records-count').innerText(), /Showing 1 of 3/);
  assert.match(await page.getByTestId('record-entries').locator('tbody tr').first().innerText(), /recover\s+refused/);
  await page.getByTestId('records-unit').selectOption('');
  await page.getByTestId('records-search').fill('no valid image');
  assert.match(await page.getByTestId('records-count').innerText(), /Showing 1 of 3/);
  await page.getByTestId('records-search').fill('');

  for (const size of SIZES) {
    await page.setViewportSize(size);
    await screenshot(page, `pages-records-${size.width}x${size.height}`);
  }
  await greyscale(page, 'pages-records-greyscale', async () => {
    for (const row of await page.getByTestId('record-entries').locator('tbody tr[data-outcome]').all()) {
      const icon = await row.locator('.outcome-cell').evaluate((el) => getComputedStyle(el, '::before').content);
      assert.match(icon, /[✓✗!•]/, 'an icon beside every outcome');
      assert.match(await row.locator('.outcome-cell').innerText(), /\w/, 'and a word');
    }
  });
  const serious = await axe(page, '[data-testid=records]');
  assert.deepEqual(serious, [], describe(serious));
  assert.match((await focusRing(page, '[data-testid=records-search]')).outline, /^(solid|auto) ([2-9]|\d\d)/);

  // The unit's HTML report: local times with the zone, no path on this computer, the findings.
  const [html] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-html-UB-LAB-0001').click()]);
  const report = readFileSync((await html.path())!, 'utf8');
  assert.match(report, /Generated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
  assert.ok(!report.includes(served.dataDir), 'no local path');
  assert.match(report, /CRITICAL:<\/b> Slot 0 holds no valid image/);
  assert.match(report, /problems found: 1 critical/);
  assert.match(report, /data-slot="flash-map"/);
  assert.deepEqual(cspViolations, []);
});

test('bundles: the demo lab bundles are listed and marked; a vendor root is added after its fingerprint is typed, and removed after it is shown', { timeout: 150_000 }, async (t) => {
  const { page, cspViolations } = await openApp(t);
  const files = new Lab();
  t.after(() => files.cleanup());
  const vendor = makeVendor();
  const rootPath = join(files.dir, 'acme-root.json');
  writeFileSync(rootPath, vendor.rootBytes);
  const fingerprint = vendor.rootKeys[0]!.fingerprint;

  await page.getByTestId('nav-library').click();
  // What Recover offers on a lab unit is listed here, marked LAB: never "None yet." for it.
  const labGolden = page.getByTestId('library-lab-golden');
  await labGolden.waitFor();
  assert.ok((await labGolden.locator('tbody tr[data-source=lab]').count()) >= 1);
  assert.match(await labGolden.innerText(), /LAB/);
  assert.match(await page.getByTestId('library-golden-empty').innerText(), /None yet\. Add a bundle file above/);
  await page.getByTestId('roots-table').getByText('LAB').first().waitFor();

  // Add: the fingerprint is shown; a wrong one is refused; the right one adds the vendor.
  await page.getByTestId('root-file').setInputFiles(rootPath);
  const confirm = page.getByTestId('root-add-confirm');
  await confirm.waitFor();
  assert.equal((await page.getByTestId('root-fingerprint').innerText()).replace(/\s/g, ''), fingerprint);
  await page.getByTestId('root-fingerprint-typed').fill('0123 4567 89ab cdef');
  assert.match(await page.getByTestId('root-fingerprint-verdict').innerText(), /Matches no key/);
  assert.equal(await page.getByTestId('root-add-yes').isDisabled(), true);
  await page.getByTestId('root-fingerprint-typed').fill(fingerprint.slice(0, 16).toUpperCase());
  assert.match(await page.getByTestId('root-fingerprint-verdict').innerText(), /Matches a key that signed/);
  for (const size of SIZES) {
    await page.setViewportSize(size);
    await confirm.scrollIntoViewIfNeeded();
    await screenshot(page, `pages-bundles-add-root-${size.width}x${size.height}`);
  }
  await page.getByTestId('root-add-yes').click();
  await page.getByTestId('root-note').filter({ hasText: 'Now trusted: Acme Field Devices' }).waitFor();
  const row = page.getByTestId(`root-${vendor.rootSpec.vendorId}`).filter({ hasNotText: 'LAB' });
  await row.waitFor();

  const serious = await axe(page, '[data-testid=library]');
  assert.deepEqual(serious, [], describe(serious));
  assert.match((await focusRing(page, `[data-testid=root-remove-${vendor.rootSpec.vendorId}]`)).outline, /^(solid|auto) ([2-9]|\d\d)/);
  await greyscale(page, 'pages-bundles-greyscale', async () => {
    assert.match(await labGolden.innerText(), /LAB/, 'lab bundles are marked by a word');
  });

  // Remove: the fingerprint is shown first; the safe choice has the focus.
  await page.getByTestId(`root-remove-${vendor.rootSpec.vendorId}`).click();
  const removeBox = page.getByTestId('root-remove-confirm');
  await removeBox.waitFor();
  assert.equal((await page.getByTestId('root-remove-fingerprint').innerText()).replace(/\s/g, ''), fingerprint);
  await page.waitForFunction(() => document.activeElement?.textContent === 'Keep trusting', undefined, { timeout: 5000 });
  await removeBox.scrollIntoViewIfNeeded();
  await screenshot(page, 'pages-bundles-remove-root');
  await page.getByTestId('root-remove-yes').click();
  await page.getByTestId('root-note').filter({ hasText: 'no longer trusted' }).waitFor();
  await page.getByTestId(`root-remove-${vendor.rootSpec.vendorId}`).waitFor({ state: 'detached' });

  // The station's start screen (no station running) passes the same check.
  await page.getByTestId('nav-station').click();
  await page.getByTestId('station-start').waitFor();
  const startSerious = await axe(page, '[data-testid=station-start]');
  assert.deepEqual(startSerious, [], describe(startSerious));
  assert.deepEqual(cspViolations, []);
});

test('station: 16 sockets fit 1024x700; a dead socket reads as a fixture fault, not a failed unit', { timeout: 180_000 }, async (t) => {
  // Fifteen simulated units and one socket whose adapter cannot be opened.
  const { page, cspViolations } = await openApp(t, ['--station-demo', '--demo-units', '15', '--demo-dead-socket', '--pilot', '0']);
  await page.setViewportSize({ width: 1024, height: 700 });
  await page.getByTestId('station').waitFor({ timeout: 60_000 });
  assert.equal(await page.locator('.tile').count(), 16);
  const dead = page.locator('.tile[data-fault=fixture]');
  await dead.waitFor({ timeout: 60_000 });
  const deadText = await dead.innerText();
  const n = await dead.getAttribute('data-socket');
  assert.match(deadText, new RegExp(`Socket ${n}: fixture fault — unit is fine, call the engineer`));
  assert.match(deadText, /FIXTURE/);
  assert.doesNotMatch(deadText, /FAIL|set it aside/i, 'a good unit is never scrapped for a fixture fault');

  // Operator words on the tiles; sockets by number, not /dev paths; no command-line advice.
  const tiles = await page.locator('.tile').allInnerTexts();
  assert.ok(tiles.every((x, i) => x.includes(`SOCKET ${i + 1}`)));
  assert.ok(tiles.every((x) => !/\/dev\//.test(x) && !/--allow-unprotect/.test(x)), tiles.join('\n---\n'));
  assert.ok(tiles.every((x) => !/[a-z]Unit plugged in/.test(x)), 'words are not run together');
  // The engineer's detail is behind Details.
  await dead.locator('summary').click();
  assert.match(await dead.getByTestId('tile-reason').innerText(), /Cannot open \/dev\/unbrick-demo-broken-socket[\s\S]*\(io\.open-failed\)/);
  await dead.locator('summary').click();

  // Every socket on screen at 1024x700, without scrolling.
  const boxes = await page.locator('.tile').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().bottom));
  assert.ok(Math.max(...boxes) <= 700, `the lowest tile ends at ${Math.max(...boxes)} px`);
  await page.screenshot({ path: join(process.cwd(), 'test-artifacts', 'pages-station-16-1024x700.png') });

  // Yield and units per hour, once units finish.
  await page.locator('.tile[data-state=pass]').first().waitFor({ timeout: 90_000 });
  await page.waitForFunction(() => /\d+%/.test(document.querySelector('[data-testid=count-yield]')?.textContent ?? ''), undefined, { timeout: 30_000 });
  assert.match(await page.getByTestId('count-per-hour').innerText(), /^\d+$/);
  // The dead socket's fault is counted apart and left out of the yield: passed of the units actually tested.
  // Read in one go, so a unit finishing in between does not skew the sum.
  const [passed, failed, fixtureFaults, shown] = await page.evaluate(() =>
    ['count-passed', 'count-failed', 'count-fixture', 'count-yield'].map((id) => Number((document.querySelector(`[data-testid=${id}]`)?.textContent ?? '').replace('%', ''))),
  );
  assert.ok(fixtureFaults! >= 1);
  assert.equal(shown, Math.round((100 * passed!) / (passed! + failed! - fixtureFaults!)), `yield for ${passed} passed, ${failed} failed, ${fixtureFaults} fixture faults`);
  await page.screenshot({ path: join(process.cwd(), 'test-artifacts', 'pages-station-16-running-1024x700.png') });

  await greyscale(page, 'pages-station-greyscale', async () => {
    for (const tile of await page.locator('.tile').all()) assert.match(await tile.getByTestId('tile-word').innerText(), /[○▶✓✗⊘⚠] [A-Z]+/, 'a word and an icon on every tile');
  });
  const serious = await axe(page, '[data-testid=station]');
  assert.deepEqual(serious, [], describe(serious));
  assert.match((await focusRing(page, '[data-testid=stop-station]')).outline, /^(solid|auto) ([2-9]|\d\d)/);

  await page.setViewportSize({ width: 1280, height: 800 });
  await screenshot(page, 'pages-station-16-1280x800');
  assert.deepEqual(cspViolations, []);
});
