/**
 * Runs INSIDE the test VM, with the simulated DfuSe device on the bus (guest-gadget.sh). Drives it with
 * Debian's dfu-util and with Unbrick's own client through the `usb` package, cross-checks what each
 * wrote against what the other reads, and writes results.json into the shared folder for the host test.
 *
 *   node --import tsx test/vm/guest-suite.ts --out DIR [--mode test|bench]
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { UnbrickError } from '../../src/core/errors.ts';
import { openDfuSession, type DfuSession } from '../../src/dfu/session.ts';
import { findChip } from '../../src/stm32/chips/index.ts';
import { decodeOptionBytes, encodeOptionBytes, factoryOptionImage } from '../../src/stm32/option-bytes/index.ts';
import { describeUsb, listUsbDevices, type UsbDeviceLike } from '../../src/transport/usb.ts';
import { TEST_CHECKS } from './checks.ts';
import { vmDevice } from './device-config.ts';

const { values } = parseArgs({ options: { out: { type: 'string' }, mode: { type: 'string', default: 'test' } } });
// vm.ts loads this file once on the host: the imports above land in tsx's cache, which the guest reuses.
if (values.mode === 'warm-up') process.exit(0);
const out = values.out ?? '/run/vm';
const work = '/tmp/unbrick-vm';
spawnSync('mkdir', ['-p', work]);

export interface CheckResult {
  name: string;
  ok: boolean;
  ms: number;
  detail: string;
}
const checks: CheckResult[] = [];
const figures: Record<string, number | string> = {};

function save(done: boolean): void {
  writeFileSync(join(out, 'results.json'), JSON.stringify({ mode: values.mode, done, checks, figures }, null, 2));
}

/** Runs one check; a check that hangs fails after `limitMs` instead of holding up the VM until it is killed. */
async function check(name: string, fn: () => Promise<string>, limitMs = 150_000): Promise<boolean> {
  const t0 = performance.now();
  let result: CheckResult;
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result after ${limitMs / 1000} s: the tool or the device hung`)), limitMs);
  });
  try {
    result = { name, ok: true, ms: 0, detail: await Promise.race([fn(), hung]) };
  } catch (err) {
    const e = err as Error;
    const code = err instanceof UnbrickError ? ` [${err.code}]` : '';
    result = { name, ok: false, ms: 0, detail: `${e.message}${code}` };
  } finally {
    clearTimeout(timer);
  }
  result.ms = Math.round(performance.now() - t0);
  checks.push(result);
  console.log(`${result.ok ? 'PASS' : 'FAIL'} ${name} (${result.ms} ms): ${result.detail}`);
  save(false);
  return result.ok;
}

function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

const FLASH = 0x08000000;
const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
const ID = '0483:df11';
const expected = vmDevice();
const expectAlts = expected.altNames;

function dfuUtil(args: string[]): string {
  const r = spawnSync('dfu-util', ['-d', ID, ...args], { encoding: 'utf8', timeout: 180_000 });
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) throw new Error(`dfu-util ${args.join(' ')} exited ${r.status ?? r.signal}: ${text.trim().split('\n').slice(-4).join(' | ')}`);
  return text;
}

/** The Unbrick CLI as a user runs it; returns stdout, throws with stderr on a non-zero exit. */
function unbrickCli(args: string[]): string {
  const r = spawnSync(process.execPath, ['bin/unbrick.js', ...args], { encoding: 'utf8', timeout: 180_000 });
  if (r.status !== 0) throw new Error(`unbrick ${args.join(' ')} exited ${r.status ?? r.signal}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`);
  return r.stdout;
}

function dfuUpload(alt: number, address: number, length: number): Uint8Array {
  const file = join(work, `upload-${alt}-${address.toString(16)}-${length}.bin`);
  rmSync(file, { force: true }); // dfu-util refuses to overwrite
  dfuUtil(['-a', String(alt), '-s', `${hex(address)}:${length}`, '-U', file]);
  return new Uint8Array(readFileSync(file));
}

function dfuDownload(alt: number, address: number, data: Uint8Array): string {
  const file = join(work, `download-${alt}-${address.toString(16)}.bin`);
  writeFileSync(file, data);
  return dfuUtil(['-a', String(alt), '-s', hex(address), '-D', file]);
}

function sameBytes(a: Uint8Array, b: Uint8Array, what: string): void {
  assert(a.length === b.length, `${what}: length ${a.length} != ${b.length}`);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) throw new Error(`${what}: first difference at offset ${i} (0x${a[i]!.toString(16)} vs 0x${b[i]!.toString(16)})`);
}

async function findDfuDevice(): Promise<UsbDeviceLike & { address?: number }> {
  const { devices, problem } = await listUsbDevices();
  const d = devices.find((x) => x.vendorId === 0x0483 && x.productId === 0xdf11);
  if (!d) throw new Error(`no ${ID} device on the bus${problem ? ` (${problem})` : ''}`);
  return d;
}

/** After a chip reset the device leaves the bus and comes back at a new address. */
async function waitForReturn(oldAddress: number | undefined, timeoutMs = 15_000): Promise<UsbDeviceLike> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const { devices } = await listUsbDevices();
    const d = devices.find((x) => x.vendorId === 0x0483 && x.productId === 0xdf11) as (UsbDeviceLike & { address?: number }) | undefined;
    if (d && d.address !== oldAddress) return d;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the device did not come back on the bus within ${timeoutMs / 1000} s after its reset`);
}

async function withSession<T>(fn: (s: DfuSession) => Promise<T>): Promise<T> {
  const s = await openDfuSession(await findDfuDevice());
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

function timed<T>(fn: () => T): { value: T; ms: number } {
  const t0 = performance.now();
  const value = fn();
  return { value, ms: performance.now() - t0 };
}
async function timedAsync<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - t0 };
}

async function testSuite(): Promise<void> {

  await check(TEST_CHECKS.dfuUtilList, async () => {
    const text = dfuUtil(['-l']);
    for (const [alt, name] of expectAlts.entries()) {
      assert(text.includes(`alt=${alt}, name="${name}"`), `no alt=${alt} "${name}" in: ${text}`);
    }
    assert(text.includes(`serial="${expected.serialNumber}"`), `serial ${expected.serialNumber} not listed`);
    return `${expectAlts.length} alternate settings, serial ${expected.serialNumber}`;
  });

  const first = new Uint8Array(randomBytes(64 * 1024));
  await check(TEST_CHECKS.dfuUtilDownload, async () => {
    const text = dfuDownload(0, FLASH, first);
    const version = /DFU version ([0-9a-f]+)/i.exec(text)?.[1];
    const size = /transfer size (\d+)/i.exec(text)?.[1];
    assert(version === '011a', `dfu-util saw DFU version ${version ?? '(none)'}, expected 011a (the functional descriptor did not reach the host)`);
    assert(Number(size) === expected.transferSize, `dfu-util saw transfer size ${size ?? '(none)'}, expected ${expected.transferSize}`);
    return `DFU version ${version}, transfer size ${size}`;
  });

  await check(TEST_CHECKS.dfuUtilReadBack, async () => {
    sameBytes(dfuUpload(0, FLASH, first.length), first, 'dfu-util read-back');
    return `${first.length} bytes equal`;
  });

  await check(TEST_CHECKS.unbrickIdentify, async () => {
    const dev = await findDfuDevice();
    const info = describeUsb(dev);
    assert(info.role === 'stm32-dfu' || /dfu/i.test(info.role), `role ${info.role}`);
    return withSession(async (s) => {
      assert(s.functional.transferSize === expected.transferSize, `transfer size ${s.functional.transferSize}`);
      assert(s.functional.dfuVersion === 0x011a, `DFU version 0x${s.functional.dfuVersion.toString(16)}`);
      assert(s.alts.length === expectAlts.length, `${s.alts.length} alternate settings`);
      for (const [i, a] of s.alts.entries()) assert(a.name === expectAlts[i], `alt ${i} named "${a.name}"`);
      const flash = s.alts[0]?.layout;
      assert(flash && flash.segments[0]?.start === FLASH, 'alt 0 has no flash layout at 0x08000000');
      return `${info.name} (${info.role}), serial ${dev.serialNumber}, transfer size ${s.functional.transferSize}, ${s.alts.length} alts`;
    });
  });

  await check(TEST_CHECKS.unbrickReadsDfuUtil, async () =>
    withSession(async (s) => {
      const client = await s.use(0);
      sameBytes(await client.read(FLASH, first.length), first, 'Unbrick read');
      return `${first.length} bytes equal`;
    }),
  );

  // 80 KiB at 0x08008000 covers sectors 2..4 only: sectors 0..1 (dfu-util's data) must survive.
  const second = new Uint8Array(randomBytes(80 * 1024));
  const at = FLASH + 0x8000;
  await check(TEST_CHECKS.unbrickWriteVerify, async () =>
    withSession(async (s) => {
      const client = await s.use(0);
      await client.write(at, second, s.alts[0]!.layout!);
      sameBytes(await client.read(at, second.length), second, 'Unbrick verify');
      sameBytes(await client.read(FLASH, 0x8000), first.subarray(0, 0x8000), 'sectors 0-1 after the write');
      return `${second.length} bytes at ${hex(at)} verified; sectors 0-1 untouched`;
    }),
  );

  await check(TEST_CHECKS.dfuUtilReadsUnbrick, async () => {
    sameBytes(dfuUpload(0, at, second.length), second, 'dfu-util read of Unbrick data');
    return `${second.length} bytes equal`;
  });

  await check(TEST_CHECKS.unbrickTypedError, async () =>
    withSession(async (s) => {
      const client = await s.use(0);
      let code = '';
      try {
        await client.read(0x08100000 - 16, 64);
      } catch (err) {
        assert(err instanceof UnbrickError, `untyped error: ${String(err)}`);
        code = err.code;
      }
      assert(code, 'a read past the end of flash succeeded');
      sameBytes(await client.read(FLASH, 256), first.subarray(0, 256), 'read after the error');
      return `refused with ${code}; the next read works`;
    }),
  );

  const chip = findChip(expected.chip);
  await check(TEST_CHECKS.unbrickOptionBytes, async () => {
    const obAlt = expectAlts.findIndex((n) => n.startsWith('@Option Bytes'));
    const obStart = chip.optionBytes.start!;
    const length = factoryOptionImage(chip).length;
    const readOb = () => withSession(async (s) => (await s.use(obAlt)).read(obStart, length));
    const writeOb = async (image: Uint8Array) => {
      const dev = (await findDfuDevice()) as UsbDeviceLike & { address?: number };
      const s = await openDfuSession(dev);
      try {
        await (await s.use(obAlt)).writeOptionBytes(obStart, image);
      } finally {
        await s.close();
      }
      await waitForReturn(dev.address);
    };
    const before = await readOb();
    const ob = decodeOptionBytes(chip, before);
    assert(ob.rdp.level === 0 && ob.badComplements.length === 0, `unexpected starting option bytes: ${JSON.stringify(ob.rdp)} ${ob.badComplements}`);
    const lastSector = chip.flash.layout === 'sectors' ? chip.flash.sectorSizes.length - 1 : 0;
    const wanted = encodeOptionBytes(chip, { ...ob, wrpPages: [lastSector] });
    await writeOb(wanted);
    const after = await readOb();
    sameBytes(after, wanted, 'option bytes after the write');
    const decoded = decodeOptionBytes(chip, after);
    assert(decoded.wrpPages.length === 1 && decoded.wrpPages[0] === lastSector, `write protection reads back as ${JSON.stringify(decoded.wrpPages)}`);
    await writeOb(before);
    sameBytes(await readOb(), before, 'option bytes after restoring');
    return `WRP on sector ${lastSector} set and read back across a device reset; restored`;
  });

  await check(TEST_CHECKS.unbrickDisconnect, async () => {
    const udc = process.env.UNBRICK_VM_UDC_FILE;
    assert(udc, 'UNBRICK_VM_UDC_FILE is not set');
    const image = new Uint8Array(randomBytes(256 * 1024));
    const dev = (await findDfuDevice()) as UsbDeviceLike & { address?: number };
    const s = await openDfuSession(dev);
    let outcome: unknown = 'completed';
    try {
      const client = await s.use(0);
      const writing = client.write(FLASH + 0x40000, image, s.alts[0]!.layout!);
      // Pull the plug once programming is under way (the erase of the 128 KiB sectors comes first).
      await new Promise((r) => setTimeout(r, 3000));
      writeFileSync(udc, '\n');
      await writing;
    } catch (err) {
      outcome = err;
    } finally {
      await s.close().catch(() => {});
      writeFileSync(udc, 'dummy_udc.0\n');
    }
    assert(outcome !== 'completed', 'the write reported success although the device was unplugged during it');
    assert(outcome instanceof UnbrickError, `untyped error: ${String(outcome)}`);
    const back = await waitForReturn(dev.address);
    // Just re-enumerated, the gadget may still stall its first descriptor request: allow it a moment, as a host would.
    let again: DfuSession | undefined;
    for (const t0 = Date.now(); !again; ) {
      try {
        again = await openDfuSession(back);
      } catch (e) {
        if (!(e instanceof UnbrickError && e.code === 'usb.stall') || Date.now() - t0 > 5000) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    try {
      const head = await (await again.use(0)).read(FLASH, 256);
      sameBytes(head, first.subarray(0, 256), 'read after reconnecting');
    } finally {
      await again.close();
    }
    return `failed with ${outcome.code} (${outcome.kind}: ${outcome.message.slice(0, 90)}); after re-plugging the device reads fine`;
  });

  // One CLI run only: the CLI imports every command group at start, which takes the emulated CPU a minute.
  const third = new Uint8Array(randomBytes(20 * 1024));
  const cliAt = FLASH + 0x20000;
  await check(TEST_CHECKS.cliWrite, async () => {
    const file = join(work, 'cli.bin');
    writeFileSync(file, third);
    const r = JSON.parse(unbrickCli(['dfu', 'write', file, '--address', hex(cliAt), '--json'])) as { bytes: number; verified: boolean };
    assert(r.bytes === third.length && r.verified === true, `write reported ${JSON.stringify(r)}`);
    sameBytes(dfuUpload(0, cliAt, third.length), third, 'dfu-util read of the CLI write');
    return `${r.bytes} bytes at ${hex(cliAt)}, verified by the CLI and read back by dfu-util`;
  });
}

/**
 * Write + verify 448 KiB with each tool in the same VM, alternating, best of `rounds` each (the machine is
 * shared, so the best run is the least disturbed one). Each round also records its write and verify halves.
 */
async function benchSuite(rounds = 3): Promise<void> {
  const size = 448 * 1024;
  const image = new Uint8Array(randomBytes(size));
  const runs = { unbrick: [] as number[][], dfuUtil: [] as number[][] };
  const s2 = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  for (let round = 0; round < rounds; round++) {
    await check(`bench round ${round + 1}: dfu-util write + verify 448 KiB`, async () => {
      const w = timed(() => dfuDownload(0, FLASH, image));
      const v = timed(() => sameBytes(dfuUpload(0, FLASH, size), image, 'dfu-util verify'));
      runs.dfuUtil.push([w.ms + v.ms, w.ms, v.ms]);
      return `${s2(w.ms + v.ms)} (write ${s2(w.ms)}, read-back ${s2(v.ms)})`;
    });
    await check(`bench round ${round + 1}: Unbrick write + verify 448 KiB`, async () => {
      let w = 0;
      let v = 0;
      const total = await timedAsync(() =>
        withSession(async (s) => {
          const client = await s.use(0);
          w = (await timedAsync(() => client.write(FLASH, image, s.alts[0]!.layout!))).ms;
          v = (await timedAsync(async () => sameBytes(await client.read(FLASH, size), image, 'Unbrick verify'))).ms;
        }),
      );
      runs.unbrick.push([total.ms, w, v]);
      return `${s2(total.ms)} (write ${s2(w)}, read-back ${s2(v)}, session ${s2(total.ms - w - v)})`;
    });
  }
  const best = (xs: number[][]) => xs.reduce((a, b) => (b[0]! < a[0]! ? b : a));
  if (runs.unbrick.length && runs.dfuUtil.length) {
    const u = best(runs.unbrick);
    const d = best(runs.dfuUtil);
    figures.unbrickMs = Math.round(u[0]!);
    figures.unbrickWriteMs = Math.round(u[1]!);
    figures.unbrickVerifyMs = Math.round(u[2]!);
    figures.dfuUtilMs = Math.round(d[0]!);
    figures.dfuUtilWriteMs = Math.round(d[1]!);
    figures.dfuUtilVerifyMs = Math.round(d[2]!);
    figures.ratio = Number((u[0]! / d[0]!).toFixed(3));
    // Each round's own ratio (the two tools ran back to back, so under similar load); their median.
    const paired = runs.unbrick.map((x, i) => x[0]! / runs.dfuUtil[i]![0]!).sort((a, b) => a - b);
    figures.roundRatios = paired.map((r) => r.toFixed(2)).join(', ');
    figures.medianRoundRatio = Number(paired[Math.floor(paired.length / 2)]!.toFixed(3));
    figures.bytes = size;
  }
}

const started = performance.now();
if (!existsSync('/dev/bus/usb')) console.log('note: /dev/bus/usb is missing');
if (values.mode === 'bench') await benchSuite();
else await testSuite();
figures.suiteMs = Math.round(performance.now() - started);
save(true);
const failed = checks.filter((c) => !c.ok).length;
console.log(`${checks.length - failed}/${checks.length} checks passed`);
process.exit(failed ? 1 : 0);
