/**
 * Simulated STM32 units for station tests and the bench: each is the STM32
 * bootloader simulator (in-process, or on a paced pty at a real baud rate)
 * with its factory UID at the family's UID address, and a test recipe that
 * provisions it through Unbrick's AN3155 client: identify, write the
 * application, verify, per-unit data to a flash address, read the option
 * bytes. The concrete provisioning recipe (bundles, workflows) replaces this
 * recipe; the station does not care which one it runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setPriority } from 'node:os';
import { toHex } from '../../../src/core/bytes.ts';
import { sha256Hex } from '../../../src/crypto/hash.ts';
import { createStm32Simulator, inProcessTransport, startStm32PtySim, type Stm32BootloaderSim, type Stm32Faults } from '../../../src/sim/stm32/index.ts';
import { connectStm32 } from '../../../src/stm32/session.ts';
import { uidAddress } from '../../../src/stm32/chips/index.ts';
import { readMemory, readOptionBytes, verifyImage, writeImage } from '../../../src/stm32/operations.ts';
import { openSerial } from '../../../src/transport/serial.ts';
import type { ByteTransport } from '../../../src/transport/types.ts';
import type { Recipe, StationPort } from '../../../src/station/station.ts';
import { seededRandom } from '../../../src/core/random.ts';

export const UID_BYTES = 12;
/** Where the test recipe writes per-unit data: a unit of its own on every modelled chip. */
export const DATA_OFFSET = 0x8000;

export interface SimUnitHandle {
  sim: Stm32BootloaderSim;
  uid: string;
  open(): Promise<ByteTransport & { cut?(): void }>;
  /** The last transport opened (to cut it: an unplug). */
  link?: ByteTransport & { cut?(): void };
  close(): void;
}

/** Deterministic test bytes, so every run writes the same images. */
export function testImage(n: number, seed = 11): Uint8Array {
  const next = seededRandom(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(next() * 256));
}

/** The unit's factory UID: its simulator answers with it at the family's UID address (the chip table's). */
const unitUid = (seed: number) => testImage(UID_BYTES, seed);

/** One simulated unit reached in-process (fast, unpaced). */
export function inProcessUnit(chip: string, seed: number, faults?: Stm32Faults): SimUnitHandle {
  const uid = unitUid(seed);
  const sim = createStm32Simulator({ chip, timeScale: 0.01, uid, ...(faults ? { faults } : {}) });
  const h: SimUnitHandle = {
    sim,
    uid: toHex(uid),
    async open() {
      h.link = inProcessTransport(sim);
      return h.link;
    },
    close: () => sim.close(),
  };
  return h;
}

/** One simulated unit on a pty paced at `baud` (8E1 timing), opened through serialport like a real adapter. */
export function ptyUnit(chip: string, seed: number, baud: number, timeScale = 1): SimUnitHandle & { path: string } {
  const uid = unitUid(seed);
  const p = startStm32PtySim({ chip, baud, timeScale, uid });
  const h: SimUnitHandle & { path: string } = {
    sim: p.sim,
    path: p.path,
    uid: toHex(uid),
    async open() {
      h.link = await openSerial({ path: p.path, baudRate: baud, parity: 'none' });
      return h.link;
    },
    close: () => p.close(),
  };
  return h;
}

/** A port where nothing answers (a dead adapter, a unit without power). */
export function deadPort(): SimUnitHandle {
  return {
    sim: undefined as unknown as Stm32BootloaderSim,
    uid: '',
    async open() {
      return { description: 'dead', async write() {}, onData() {}, onClose() {}, async close() {} };
    },
    close() {},
  };
}

export const simPort = (id: string, h: SimUnitHandle): StationPort => ({ id, label: `sim ${id}`, handle: h });

/** Per-unit data as the test recipe writes it: the entry's JSON, padded with 0xFF to 8 bytes. */
export function dataBlock(fields: Record<string, string>): Uint8Array {
  const text = new TextEncoder().encode(JSON.stringify(fields));
  const out = new Uint8Array(Math.ceil((text.length + 1) / 8) * 8).fill(0xff);
  out.set(text);
  out[text.length] = 0;
  return out;
}

export function readDataBlock(sim: Stm32BootloaderSim): Record<string, string> | undefined {
  const raw = sim.chip.flash.read(DATA_OFFSET, 4096);
  const end = raw.indexOf(0);
  if (end <= 0 || raw[0] === 0xff) return undefined;
  return JSON.parse(new TextDecoder().decode(raw.subarray(0, end))) as Record<string, string>;
}

// Generous answer times: the simulators share two cores with every other test running at once.
export function stm32TestRecipe(app: Uint8Array, client: { replyMs?: number; writeAckMs?: number } = { replyMs: 1000, writeAckMs: 2000 }): Recipe {
  const appHash = sha256Hex(app);
  return async (ctx) => {
    const h = ctx.port.handle as SimUnitHandle;
    const link = await ctx.step('open', () => h.open());
    try {
      const s = await ctx.step('identify', () => connectStm32(link, client));
      const start = s.chip.flash.start;
      const uid = await ctx.step('read uid', () => readMemory(s, uidAddress(s.chip), UID_BYTES, { signal: ctx.signal }));
      ctx.identify({ chipUid: toHex(uid), chip: s.chip.name, target: 'stm32', versions: { bootloader: `${s.info.version >> 4}.${s.info.version & 15}` } });
      const segments = [{ address: start, data: app }];
      await ctx.step('write', () => writeImage(s, segments, { signal: ctx.signal, verify: false }));
      await ctx.step('verify', () => verifyImage(s, segments, { signal: ctx.signal }));
      ctx.note({ hashes: { 'app.bin': appHash }, versions: { application: '1.0.0' } });
      const data = await ctx.takeData();
      const block = [{ address: start + DATA_OFFSET, data: dataBlock(data.entry.fields) }];
      await ctx.step('per-unit data', () => writeImage(s, block, { signal: ctx.signal, verify: true }));
      const ob = await ctx.step('final check', () => readOptionBytes(s, { signal: ctx.signal }));
      ctx.note({ serial: data.entry.fields.serial ?? data.entry.id, optionBytes: { rdp: `level ${ob.rdp.level}`, wrp: ob.wrpPages.length ? ob.wrpPages.join(',') : 'none' } });
      return `Provisioned as ${data.entry.id}.`;
    } finally {
      await link.close().catch(() => {});
    }
  };
}

/** Simulated STM32 units on paced ptys in a child process (so their pacing does not compete with the station's event loop). */
export async function hostSims(count: number, baud: number, chip = 'f103'): Promise<{ child: ChildProcess; units: { path: string; uid: string }[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'sim-host-child.ts'), String(count), String(baud), chip], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // On a real line the units' work runs on the units: the bench's simulators yield the cores to the
  // station and the browser whenever both want them (they still pace every byte in real time).
  try {
    setPriority(child.pid!, 10);
  } catch {
    /* not allowed here: run at normal priority */
  }
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += String(d);
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.on('exit', (c) => reject(new Error(`simulator host exited (${c})`)));
  });
  return { child, units: (JSON.parse(line) as { units: { path: string; uid: string }[] }).units };
}
