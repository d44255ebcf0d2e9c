/**
 * The demo factory line: a few simulated blank STM32 units on real
 * pseudo-terminals, paced like a 115200-baud UART (8E1 timing), and a
 * provisioning bundle signed by a lab trust root made for this run. So the
 * station screen can be tried without hardware.
 *
 * Everything lives in a temporary folder of its own (trust store, bundle,
 * per-unit data list, the station's service log and batch state): the demo
 * never touches the user's trust store or service log.
 *
 * Two kinds of faulty unit come down the line, deterministically: units 2, 9,
 * 16, … (every seventh) arrive readout-protected (RDP level 1), as a unit from
 * a wrong lot would; the station refuses them (no --allow-unprotect). Units 5,
 * 12, 19, … have a flash cell stuck at 0 inside the application: they are
 * identified and written, and fail verify. Both answered their bootloader, so
 * both count toward the line's failure-rate stop (a dead socket counts against
 * its port instead).
 *
 * Each unit has its own chip UID in the family's UID register (the chip
 * table's address), where the station reads it (uidAddress).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '../../core/random.ts';
import { findChip, uidAddress } from '../../stm32/chips/index.ts';
import { createLabVendor } from '../lab/vendor.ts';
import type { PortLister } from '../../transport/ports.ts';
import { PacedLine } from '../line.ts';
import { openPty, type PtyEnd } from '../pty.ts';
import { createStm32Simulator, type Stm32BootloaderSim } from '../stm32/index.ts';
import { FRAME_BITS_8E1 } from '../stm32/host.ts';

export const DEMO_CHIP = 'f103';
const VENDOR_ID = '3f0c9d2e-6a51-4c8e-9b7d-2d1e0f4a5b6c';
const CLASS_ID = '8e2b1c4d-5f60-4a7b-8c9d-0e1f2a3b4c5d';
const APP_OFFSET = 0x1000;
/** Where the per-unit data goes, from the start of flash (a page of its own). */
const DATA_OFFSET = 0x8000;

export interface DemoLineOptions {
  /** Ports on the line (default 6). */
  units?: number;
  /** Line rate (default 115200; 0 = unpaced). */
  baud?: number;
  /** Multiplies the simulated flash timings (default 1: datasheet typical). */
  timeScale?: number;
  /** One more port whose adapter is broken: listed, but it cannot be opened. */
  deadSocket?: boolean;
}

export interface DemoLine {
  /** Data directory of the demo station: trust store, service log, batches. */
  dataDir: string;
  bundle: string;
  data: string;
  dataAddress: number;
  uidAddress: number;
  /** Port paths, one per slot. */
  ports: string[];
  /** Lists the ports that hold a unit now (the station's port lister). */
  list: PortLister;
  /** Pulls the units on these ports and plugs fresh blank ones in (after a short gap the station sees). */
  nextUnits(ports: string[]): void;
  close(): void;
}

/**
 * A socket whose adapter is broken: the OS lists it, but it cannot be opened (a path that does not
 * exist, so no other process's terminal can ever be behind it). The station disables such a port.
 */
class BrokenSocket {
  readonly path = '/dev/unbrick-demo-broken-socket';
  plugged = false;
  plug(): void {
    this.plugged = true;
  }
  unplug(): void {
    this.plugged = false;
  }
  close(): void {}
}

/** One port of the line: a pty whose unit can be swapped for the next one. */
class Slot {
  readonly pty: PtyEnd;
  private sim: Stm32BootloaderSim | undefined;
  private readonly toHost: PacedLine;
  private readonly toChip: PacedLine;
  plugged = false;

  constructor(baud: number) {
    this.pty = openPty();
    this.toHost = new PacedLine(baud, FRAME_BITS_8E1, (d) => this.pty.write(d));
    this.toChip = new PacedLine(baud, FRAME_BITS_8E1, (d) => this.sim?.feed(d));
    this.pty.onData((d) => {
      if (this.plugged) this.toChip.push(d);
    });
  }

  get path(): string {
    return this.pty.path;
  }

  plug(sim: Stm32BootloaderSim): void {
    this.plugged = true;
    this.sim = sim;
    sim.onOutput((d) => {
      if (this.sim === sim) this.toHost.push(d);
    });
    sim.setDrain(async () => {
      while (this.toHost.pending > 0) await new Promise((r) => setTimeout(r, 1));
    });
    sim.onReset(() => this.toChip.flush());
  }

  unplug(): void {
    this.plugged = false;
    this.toChip.flush();
    this.toHost.flush();
    this.sim?.close();
    this.sim = undefined;
  }

  close(): void {
    this.unplug();
    this.toHost.close();
    this.toChip.close();
    this.pty.close();
  }
}

/** A flash cell stuck at 0: the bit the image sets at `offset` always reads back as 0. */
function stuckBit(sim: Stm32BootloaderSim, offset: number, imageByte: number): void {
  const mask = imageByte & -imageByte || 1; // the lowest bit the image sets there
  const flash = sim.chip.flash;
  const read = flash.read.bind(flash);
  flash.read = (at: number, length: number) => {
    const out = read(at, length);
    if (offset >= at && offset < at + length) out[offset - at]! &= ~mask;
    return out;
  };
}

function bytes(n: number, seed: number): Uint8Array {
  const next = seededRandom(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(next() * 256));
}

export async function startDemoLine(o: DemoLineOptions = {}): Promise<DemoLine> {
  const count = o.units ?? 6;
  const baud = o.baud ?? 115200;
  const chip = findChip(DEMO_CHIP);
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-demo-line-'));
  const dataDir = join(dir, 'station');
  try {
    // A vendor made for this run, trusted only by the demo's own trust store.
    const vendor = createLabVendor(dataDir, { vendorId: VENDOR_ID, vendorName: 'Unbrick demo factory', validDays: 30 });
    writeFileSync(join(dir, 'boot.bin'), bytes(4096, 5));
    const app = bytes(6000, 6);
    writeFileSync(join(dir, 'app.bin'), app);
    const bundle = join(dir, 'demo-sensor-provisioning.ubundle');
    await vendor.sign(
      {
        kind: 'provisioning',
        product: { vendorId: VENDOR_ID, classId: CLASS_ID, name: 'Demo sensor', hardwareRevisions: ['A'], mcuProductId: chip.pid },
        version: '1.0.0',
        sequence: 1,
        validDays: 30,
        payloads: [
          { file: 'boot.bin', name: 'boot.bin', role: 'bootloader', target: { kind: 'address', address: chip.flash.start }, version: '1.0.0' },
          { file: 'app.bin', name: 'app.bin', role: 'stm32-region', target: { kind: 'address', address: chip.flash.start + APP_OFFSET } },
        ],
        provisioning: { optionBytes: { rdpLevel: 0, wrp: [{ start: chip.flash.start, end: chip.flash.start + 0x1000 }] } },
      },
      dir,
      bundle,
    );
    const data = join(dir, 'serials.csv');
    writeFileSync(data, 'serial,mac\n' + Array.from({ length: 500 }, (_, i) => `DS-${String(i + 1).padStart(4, '0')},02:de:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}\n`).join(''));

    let made = 0;
    const blankUnit = (): Stm32BootloaderSim => {
      const n = made++;
      const sim = createStm32Simulator({ chip: DEMO_CHIP, timeScale: o.timeScale ?? 1, uid: bytes(12, 1000 + n) });
      if (n % 7 === 5) stuckBit(sim, APP_OFFSET + 100, app[100]!);
      if (n % 7 === 2) {
        sim.chip.setReadoutProtect(); // from a wrong lot: the station must refuse it
        sim.reset();
      }
      return sim;
    };
    const slots: (Slot | BrokenSocket)[] = Array.from({ length: count }, () => new Slot(baud));
    if (o.deadSocket) slots.push(new BrokenSocket());
    const plugNext = (s: Slot | BrokenSocket) => (s instanceof Slot ? s.plug(blankUnit()) : s.plug());
    for (const s of slots) plugNext(s);
    /** Slots whose unit was pulled: 'pulled' until one port listing has shown them empty, then 'shown-empty'. */
    const swapping = new Map<Slot | BrokenSocket, 'pulled' | 'shown-empty'>();
    return {
      dataDir,
      bundle,
      data,
      dataAddress: chip.flash.start + DATA_OFFSET,
      uidAddress: uidAddress(chip),
      ports: slots.map((s) => s.path),
      list: async () => {
        // A pulled unit's port is listed empty once, so the station sees the swap, whatever its polling rate.
        for (const [s, stage] of swapping) {
          if (stage === 'pulled') swapping.set(s, 'shown-empty');
          else {
            swapping.delete(s);
            plugNext(s);
          }
        }
        return slots
          .filter((s) => s.plugged)
          .map((s) => ({ path: s.path, vendorId: 'demo', productId: 'line', manufacturer: s instanceof Slot ? 'Unbrick demo line (simulated unit)' : 'Unbrick demo line (broken adapter)' }));
      },
      nextUnits(ports) {
        for (const s of slots) {
          if (!ports.includes(s.path) || !s.plugged) continue;
          s.unplug();
          swapping.set(s, 'pulled');
        }
      },
      close() {
        swapping.clear();
        for (const s of slots) s.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
