/**
 * STM32 UART bootloader: time to write and verify a 448 KiB image through
 * ../shared/tools/linesim at 115200 baud 8E1 (--frame-bits 11), Unbrick vs
 * Debian's stm32flash (-w -v), in the same run, on a simulated STM32F405
 * (datasheet erase/program times). Unbrick runs twice: against a bootloader that
 * offers Get Checksum (verify by CRC; goal ratio <= 0.55) and one that does not
 * (verify by read-back; goal <= 1.0). Also prints line utilisation during the
 * write phase. STM32_BENCH_KIB shrinks the image for a quick look.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { seededRandom } from '../../src/core/random.ts';
import { connectStm32 } from '../../src/stm32/session.ts';
import { writeImage } from '../../src/stm32/operations.ts';
import { openSerial } from '../../src/transport/serial.ts';

const BAUD = 115200;
const FRAME_BITS = 11;
const LINESIM = new URL('../../../shared/tools/linesim', import.meta.url).pathname;
const CHIP = 'f405';

interface Line {
  host: string;
  proc: ChildProcess;
  stop(): Promise<Record<string, number>>;
}

async function linesim(device: string): Promise<Line> {
  const proc = spawn(LINESIM, ['--device', device, '--baud', String(BAUD), '--frame-bits', String(FRAME_BITS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout! });
  const it = lines[Symbol.asyncIterator]();
  const first = await it.next();
  const host = (JSON.parse(String(first.value)) as { host: string }).host;
  return {
    host,
    proc,
    async stop() {
      proc.kill('SIGTERM');
      const last = await it.next();
      return last.done ? {} : (JSON.parse(String(last.value)) as Record<string, number>);
    },
  };
}

/** The simulator runs in its own process (`unbrick sim stm32`), as a real chip would be apart from the host. */
async function startSim(getChecksum: boolean, oldFirmwareKib = 0): Promise<{ path: string; stop(): void }> {
  const bin = new URL('../../bin/unbrick.js', import.meta.url).pathname;
  const args = ['sim', 'stm32', '--chip', CHIP, '--baud', '0', ...(getChecksum ? ['--get-checksum'] : []), ...(oldFirmwareKib ? ['--old-firmware', String(oldFirmwareKib), '--seed', '99'] : [])];
  const proc = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
  const it = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  const first = await it.next();
  return { path: String(first.value).trim(), stop: () => proc.kill('SIGINT') };
}

async function unbrickRun(image: Uint8Array, getChecksum: boolean, oldFirmwareKib = 0) {
  const sim = await startSim(getChecksum, oldFirmwareKib);
  const line = await linesim(sim.path);
  const port = await openSerial({ path: line.host, baudRate: BAUD, parity: 'none' });
  try {
    const s = await connectStm32(port);
    let writeStart = { t: 0, sent: 0, received: 0 };
    let writeEnd = { t: 0, sent: 0, received: 0 };
    const mark = () => ({ t: performance.now(), sent: s.client.counters.sent, received: s.client.counters.received });
    const t0 = performance.now();
    const r = await writeImage(s, [{ address: 0x08000000, data: image }], {
      onProgress: (p) => {
        if (p.phase === 'Writing' && writeStart.t === 0) writeStart = mark();
        if (p.phase === 'Writing' && p.done === p.total) writeEnd = mark();
      },
    });
    const total = (performance.now() - t0) / 1000;
    const ok = r.verify !== 'none';
    const writeS = (writeEnd.t - writeStart.t) / 1000;
    const byteS = FRAME_BITS / BAUD;
    return {
      total,
      ok,
      verify: r.verify,
      erase: r.ms.erase / 1000,
      write: r.ms.write / 1000,
      verifyS: r.ms.verify / 1000,
      utilHostToDevice: ((writeEnd.sent - writeStart.sent) * byteS) / writeS,
      utilDeviceToHost: ((writeEnd.received - writeStart.received) * byteS) / writeS,
    };
  } finally {
    await port.close();
    await line.stop();
    sim.stop();
  }
}

async function stm32flashRun(file: string) {
  const sim = await startSim(false);
  const line = await linesim(sim.path);
  try {
    const t0 = performance.now();
    let out = '';
    const code = await new Promise<number>((resolve) => {
      const p = spawn('stm32flash', ['-m', '8n1', '-b', String(BAUD), '-w', file, '-v', line.host], { stdio: ['ignore', 'pipe', 'pipe'] });
      p.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-400)));
      p.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-400)));
      p.on('exit', (c) => resolve(c ?? 1));
    });
    const total = (performance.now() - t0) / 1000;
    const ok = code === 0; // -v: stm32flash read back and compared every block
    const why = ok ? '' : (out.split(/[\r\n]+/).filter((l) => l.trim() && !/^(Wrote|Read)/.test(l.trim())).pop() ?? '').trim();
    return { total, ok, why };
  } finally {
    await line.stop();
    sim.stop();
  }
}

export async function run(): Promise<void> {
  const kib = Number(process.env.STM32_BENCH_KIB ?? 448);
  const r = seededRandom(448);
  const image = Uint8Array.from({ length: kib * 1024 }, () => Math.floor(r() * 256));
  const file = join(mkdtempSync(join(tmpdir(), 'unbrick-bench-')), 'image.bin');
  writeFileSync(file, image);
  console.log(`STM32 UART bootloader, ${kib} KiB image, simulated ${CHIP} behind linesim ${BAUD} baud ${FRAME_BITS}-bit frames (8E1)`);
  // Timing depends on the host keeping up with the line; say how busy the machine was.
  console.log(`  machine: ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(1)} at start`);
  const wire = (image.length * FRAME_BITS) / BAUD;
  console.log(`  pure wire time of the image bytes once: ${wire.toFixed(1)} s`);

  // Warm-up (module loading, JIT) so the first measured run is not penalised.
  await unbrickRun(image.subarray(0, 16 * 1024), false);
  const ref = await stm32flashRun(file);
  console.log(`  stm32flash -w -v:                        ${ref.total.toFixed(1)} s${ref.ok ? '' : `  (FAILED: ${ref.why}; its reply timeouts are 0.5-1 s, a loaded machine can exceed them)`}`);
  // stm32flash erases the covered sectors whatever they hold, so one reference run serves both chip states.
  const cases: Array<[boolean, number, string]> = [
    [false, 0, 'read-back, blank chip       '],
    [true, 0, 'Get Checksum, blank chip    '],
    [true, kib, 'Get Checksum, old firmware  '],
  ];
  for (const [getChecksum, old, label] of cases) {
    const u = await unbrickRun(image, getChecksum, old);
    const ratio = u.total / ref.total;
    const goal = getChecksum ? 0.55 : 1.0;
    console.log(
      `  unbrick write+verify (${label}): ${u.total.toFixed(1)} s  (erase ${u.erase.toFixed(1)} s, write ${u.write.toFixed(1)} s, verify ${u.verifyS.toFixed(1)} s)${u.ok ? '' : '  (FAILED)'}`,
    );
    console.log(`    ratio unbrick/stm32flash = ${ratio.toFixed(3)} (goal <= ${goal}) ${ratio <= goal ? 'MET' : 'NOT MET'}`);
    console.log(`    load average now ${loadavg()[0]!.toFixed(1)}; line utilisation during the write: host->device ${(100 * u.utilHostToDevice).toFixed(1)} %, device->host ${(100 * u.utilDeviceToHost).toFixed(1)} %`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
