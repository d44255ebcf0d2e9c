/**
 * A unit as it comes off the assembly line: MCUboot with no application yet,
 * so it sits in serial recovery. Once an image is written through recovery
 * and the unit restarts, MCUboot boots it and the Zephyr application answers
 * SMP on the same UART (image, OS, settings and, when built with one, file
 * groups). This is the path a station takes for per-unit data on MCUboot
 * units: recovery has no settings or file group, the application does.
 *
 * Both halves are the existing simulators; this only routes the UART to the
 * one that runs, and hands the primary slot to the application when MCUboot
 * leaves recovery for it. The two share a slot size, so the slot (trailer
 * included) carries over as it is.
 */
import { SmpDevice, type Reply } from '../smp/device.ts';
import { McubootDevice, type McubootOptions } from '../mcuboot-serial/device.ts';
import { ZephyrDevice, type ZephyrOptions } from './device.ts';

export interface FactoryUnitOptions {
  recovery?: Omit<McubootOptions, 'checker' | 'timing' | 'slotSize' | 'recovery' | 'images'>;
  app: ZephyrOptions;
}

export class FactoryUnit extends SmpDevice {
  readonly recovery: McubootDevice;
  readonly app: ZephyrDevice;
  private running: 'recovery' | 'app' = 'recovery';
  private appStarts = 0;

  constructor(o: FactoryUnitOptions) {
    // The console model is unused: bytes go straight to the half that runs.
    super({ lineMax: 128, lineBufs: 1, mode: 'inline', packetBufs: 1, uartBaud: 0, maxDecoded: 64, style: 'zephyr' });
    this.app = new ZephyrDevice(o.app);
    this.recovery = new McubootDevice({
      ...o.recovery,
      checker: o.app.checker,
      ...(o.app.timing ? { timing: o.app.timing } : {}),
      slotSize: this.app.opts.slotSize,
      sectorSize: this.app.opts.sectorSize,
      recovery: 'no-valid-app',
    });
    // The unit's counters are its halves' (this wrapper handles no request itself); the application
    // starting from MCUboot's reset is the same restart, not a second one.
    const halves = [this.recovery, this.app];
    Object.defineProperty(this, 'stats', {
      get: () => {
        const sum = { linesDropped: 0, packetsDropped: 0, requests: 0, resets: -this.appStarts };
        for (const h of halves) for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += h.stats[k];
        return sum;
      },
    });
    this.recovery.onOutput((b) => {
      if (this.running === 'recovery') this.emit(b);
    });
    this.app.onOutput((b) => {
      if (this.running === 'app') this.emit(b);
    });
    // MCUboot decides at its reset whether an application can run (its boot path sets `state`).
    const resetRecovery = this.recovery.reset.bind(this.recovery);
    this.recovery.reset = (downMs = 0) => {
      resetRecovery(downMs);
      if (this.recovery.state === 'app') this.startApp(downMs);
    };
  }

  /** Which half answers the UART now. */
  get runs(): 'recovery' | 'app' {
    return this.running;
  }

  private startApp(downMs: number): void {
    const area = this.recovery.slots[0]!.primary;
    this.app.program(0, this.recovery.flash.read(area.offset, area.size));
    this.running = 'app';
    this.appStarts++;
    this.app.reset(downMs);
  }

  override input(data: Uint8Array): void {
    (this.running === 'app' ? this.app : this.recovery).input(data);
  }

  override get rebooting(): boolean {
    return (this.running === 'app' ? this.app : this.recovery).rebooting;
  }

  override reset(downMs = 0): void {
    if (this.running === 'app') this.app.reset(downMs);
    else this.recovery.reset(downMs);
  }

  protected handle(): Reply {
    return {};
  }

  protected boot(): number {
    return 0;
  }

  override dispose(): void {
    this.recovery.dispose();
    this.app.dispose();
    super.dispose();
  }
}
