/**
 * The station screen under load: 16 simulated STM32 units (ROM bootloader on ptys paced at 115200
 * baud, 8E1 timing, hosted in a child process) provisioned at once by the station of server mode,
 * watched in headless Chromium on the Station tab. Prints the longest main-thread task of the page
 * during the run (goal < 50 ms), measured three ways: Chromium's own trace of the renderer main
 * thread (every task, the figure), the page's PerformanceObserver 'longtask' entries (only tasks
 * over 50 ms exist there), and the longest gap between animation frames.
 *   npm run bench -- station        (also runs station.bench.ts; STATION_BENCH_UNITS=16, STATION_BENCH_KIB=16 by default)
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { CDPSession } from 'playwright-core';
import { AppCore } from '../../src/app/app-core.ts';
import { startServer } from '../../src/server/server.ts';
import { DEFAULT_RENDERER_DIR } from '../../src/server/static.ts';
import { DATA_OFFSET, hostSims } from '../integration/station/stm32-units.ts';
import { provisioningLab } from '../integration/station/provisioning-bundle.ts';
import { launchBrowser, screenshot } from '../e2e/helpers.ts';

const BAUD = 115200;
const ROOT = join(import.meta.dirname, '../..');

/** Builds the renderer when its build is older than its sources (as scripts/run-tests.js does). */
function ensureFreshRenderer(): void {
  const newest = (dir: string): number =>
    readdirSync(dir).reduce((m, name) => {
      const p = join(dir, name);
      const st = statSync(p);
      return Math.max(m, st.isDirectory() ? newest(p) : st.mtimeMs);
    }, 0);
  let built = 0;
  try {
    built = statSync(join(DEFAULT_RENDERER_DIR, 'index.html')).mtimeMs;
  } catch {
    /* not built */
  }
  if (built >= Math.max(newest(join(ROOT, 'renderer')), newest(join(ROOT, 'src/api')), newest(join(ROOT, 'src/core')))) return;
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', join(ROOT, 'renderer/vite.config.ts')], { stdio: 'inherit', cwd: ROOT });
  if (r.status !== 0) throw new Error('building the renderer failed');
}



interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  tdur?: number;
  args?: { name?: string };
}

/** Chromium's trace of the page: every task on the renderer main thread, with its duration. */
async function startTrace(cdp: CDPSession): Promise<() => Promise<{ ms: number; cpuMs: number; what: string }[]>> {
  await cdp.send('Tracing.start', { categories: 'disabled-by-default-devtools.timeline,devtools.timeline,toplevel', transferMode: 'ReturnAsStream' });
  return async () => {
    const complete = new Promise<string>((resolve) => cdp.once('Tracing.tracingComplete', (e) => resolve(e.stream!)));
    await cdp.send('Tracing.end');
    const stream = await complete;
    let text = '';
    for (;;) {
      const chunk = await cdp.send('IO.read', { handle: stream, size: 1 << 20 });
      text += chunk.base64Encoded ? Buffer.from(chunk.data, 'base64').toString() : chunk.data;
      if (chunk.eof) break;
    }
    await cdp.send('IO.close', { handle: stream });
    const parsed = JSON.parse(text) as TraceEvent[] | { traceEvents: TraceEvent[] };
    const events = Array.isArray(parsed) ? parsed : parsed.traceEvents;
    const mains = new Set(events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
    const onMain = events.filter((e) => e.ph === 'X' && mains.has(`${e.pid}:${e.tid}`));
    return onMain
      .filter((e) => e.name === 'RunTask')
      .map((t) => {
        // What filled the task: its longest child event (FunctionCall, Layout, Paint, GC …).
        const inside = onMain.filter((e) => e !== t && e.ts >= t.ts && e.ts < t.ts + (t.dur ?? 0) && e.name !== 'RunTask' && e.name !== 'ThreadControllerImpl::RunTask');
        const top = inside.sort((a, b) => (b.dur ?? 0) - (a.dur ?? 0))[0];
        return { ms: (t.dur ?? 0) / 1000, cpuMs: (t.tdur ?? t.dur ?? 0) / 1000, what: top ? `${top.name} ${((top.dur ?? 0) / 1000).toFixed(1)} ms` : '' };
      });
  };
}

export async function run(): Promise<void> {
  const n = Number(process.env.STATION_BENCH_UNITS ?? 16);
  const kib = Number(process.env.STATION_BENCH_KIB ?? 16);
  ensureFreshRenderer();
  const { lab, chip, bundle } = await provisioningLab('f103', { appBytes: kib * 1024 });
  const { child, units } = await hostSims(n, BAUD);
  const core = new AppCore({ dataDir: lab.dataDir, autoDetect: false, operator: 'bench' });
  const server = await startServer({ core, rendererDir: DEFAULT_RENDERER_DIR });
  const browser = await launchBrowser();
  try {
    const csv = lab.file('serials.csv', 'serial\n' + units.map((_, i) => `SN-${String(i).padStart(4, '0')}`).join('\n') + '\n');
    const { page } = browser;
    let messages = 0;
    page.on('websocket', (ws) => ws.on('framereceived', (f) => void (String(f.payload).includes('"station.changed"') && messages++)));
    await page.goto(server.url);
    await page.getByTestId('nav-station').click();
    await page.getByTestId('station-start').waitFor();
    // In the page: long tasks (over 50 ms, the browser's own definition) and the longest gap between frames.
    // (A string, not a function: the bundler's helpers do not exist in the page.)
    await page.evaluate(`(() => {
      window.benchLong = [];
      window.benchGap = 0;
      window.benchStop = false;
      new PerformanceObserver((list) => list.getEntries().forEach((e) => window.benchLong.push(e.duration))).observe({ type: 'longtask', buffered: false });
      let last = performance.now();
      const frame = (t) => {
        window.benchGap = Math.max(window.benchGap, t - last);
        last = t;
        if (!window.benchStop) requestAnimationFrame(frame);
      };
      requestAnimationFrame(frame);
    })()`);
    const cdp = await page.context().newCDPSession(page);
    const stopTrace = await startTrace(cdp);

    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await core.station.start({ bundle, ports: units.map((u) => u.path), parallel: n, data: csv, dataAddress: chip.flash.start + DATA_OFFSET, batch: 'ui-bench' });
    await page.waitForFunction((want) => document.querySelectorAll('.tile[data-state=pass], .tile[data-state=fail]').length >= want, n, { timeout: 600_000, polling: 250 });
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const inPage = (await page.evaluate('(() => { window.benchStop = true; return { long: window.benchLong, gap: window.benchGap }; })()')) as { long: number[]; gap: number };
    const tasks = await stopTrace();
    await screenshot(page, 'station-bench-16');
    const st = core.station.status().run!;
    const worst = tasks.reduce((a, b) => (b.ms > a.ms ? b : a), { ms: 0, cpuMs: 0, what: '' });
    const longest = worst.ms;
    const over50 = tasks.filter((d) => d.ms >= 50).length;
    console.log(`station screen in Chromium (headless), ${n} STM32 units provisioned at once at ${BAUD} baud (8E1 timing; 4 KiB bootloader + ${kib} KiB application, verify, WRP, per-unit data), server mode on this machine`);
    console.log(`run: ${(ms / 1000).toFixed(1)} s, ${st.passed}/${n} passed, ${st.failed} failed; ${messages} station.changed messages (${(messages / (ms / 1000)).toFixed(1)}/s)`);
    console.log(`longest main-thread task of the station screen = ${longest.toFixed(1)} ms   (goal < 50 ms; Chromium trace, ${tasks.length} tasks, ${over50} of 50 ms or more)`);
    const heaviest = tasks.reduce((a, b) => (b.cpuMs > a.cpuMs ? b : a), { ms: 0, cpuMs: 0, what: '' });
    console.log(`  that task: ${worst.cpuMs.toFixed(1)} ms of CPU on the thread (the rest waiting for a core), mostly ${worst.what || 'nothing traced'}`);
    console.log(`  the most CPU any one task took: ${heaviest.cpuMs.toFixed(1)} ms (${heaviest.ms.toFixed(1)} ms wall), mostly ${heaviest.what || 'nothing traced'}`);
    console.log(`  PerformanceObserver 'longtask' entries: ${inPage.long.length}${inPage.long.length ? ` (longest ${Math.max(...inPage.long).toFixed(1)} ms)` : ' (none: no task reached 50 ms)'}`);
    console.log(`  longest gap between animation frames: ${inPage.gap.toFixed(1)} ms`);
    console.log(`  server process (station + server) CPU during the run: ${(((cpu.user + cpu.system) / 1000 / ms) * 100).toFixed(1)}% of one core; load average ${loadavg()[0]!.toFixed(1)}`);
  } finally {
    await browser.close();
    await server.close();
    await core.close();
    child.kill('SIGTERM');
    lab.cleanup();
  }
}
