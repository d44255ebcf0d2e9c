/**
 * Shared e2e plumbing: start `unbrick serve` as a real child process (reading
 * the URL from its first line of output) and a headless Debian Chromium via
 * playwright-core with a fresh profile. Screenshots go to test-artifacts/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const ARTIFACTS = join(process.cwd(), 'test-artifacts');

export interface Served {
  url: string;
  dataDir: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function serve(extraArgs: string[] = []): Promise<Served> {
  const dataDir = mkdtempSync(join(tmpdir(), 'unbrick-e2e-'));
  const child = spawn(process.execPath, ['bin/unbrick.js', 'serve', '--lab', '--data-dir', dataDir, ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  const url = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error(`unbrick serve printed no URL in time. stderr: ${stderr}`)), 30_000);
    rl.once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    child.once('exit', (code) => reject(new Error(`unbrick serve exited (${code}) before printing its URL. stderr: ${stderr}`)));
  });
  return {
    url,
    dataDir,
    child,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser(): Promise<{ context: BrowserContext; page: Page; close(): Promise<void> }> {
  // A fresh profile per run (playwright passes it as --user-data-dir).
  const profile = mkdtempSync(join(tmpdir(), 'unbrick-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/**
 * `unbrick serve` (demo lab on) and a Chromium page open on it, both closed
 * after the test. Content Security Policy violations the page reports are
 * collected: tests assert there are none.
 */
export async function openApp(t: { after(fn: () => unknown): void }, serveArgs: string[] = []): Promise<{ served: Served; page: Page; cspViolations: string[] }> {
  const served = await serve(serveArgs);
  t.after(() => served.stop());
  const { page, close } = await launchBrowser();
  t.after(close);
  const cspViolations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(m.text());
  });
  await page.goto(served.url);
  return { served, page, cspViolations };
}
