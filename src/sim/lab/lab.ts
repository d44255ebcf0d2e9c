/**
 * The demo lab: hosts simulated units in-process, each behind its own cable
 * (a Pipe). Units can be plugged and unplugged, so the device list and the
 * detect workflow behave as with real adapters. Each scenario's simulator is
 * registered in simulators.ts as its engineer lands it.
 */
import { deviceError } from '../../core/errors.ts';
import type { ByteTransport } from '../../transport/types.ts';
import { LAB_UNITS, type LabUnitSpec } from './units.ts';
import { simulatorFor, type LabFaults, type LabSimulator, type LabSmpBoards, type LabStm32Boards } from './simulators.ts';
import { createPipe, type Pipe } from './pipe.ts';
import { framingFaults, type HostFraming } from './uart.ts';
import { createLabLibraries, type LabLibraries, type LabVendor } from './vendor.ts';

export interface LabUnitState {
  spec: LabUnitSpec;
  plugged: boolean;
  /** False when this build has no simulator for the unit's protocol yet. */
  available: boolean;
}

export class DemoLab {
  private readonly units = new Map<string, { spec: LabUnitSpec; plugged: boolean; sim?: LabSimulator; cable?: Pipe; damaged?: number }>();
  private readonly listeners = new Set<() => void>();
  private libs: Promise<LabLibraries> | undefined;

  /**
   * @param line how the lab's cables behave: by default like a 115200-baud UART
   *   (8E1 for the STM32 units, 8N1 for SMP ones), so rates and ETAs are real.
   */
  constructor(
    specs: readonly LabUnitSpec[] = LAB_UNITS,
    private readonly line: {
      baud: number;
      /** STM32 bootloader faults per unit (see sim/stm32/faults.ts). */
      faults?: LabFaults;
      /** Bit flips (and lost bytes) on a unit's cable, any protocol. */
      noisyCables?: Record<string, { corrupt: number; drop?: number; seed: number }>;
      /** SMP unit setup and device faults per unit (see sim/lab/smp-board.ts). */
      smpBoards?: LabSmpBoards;
      /** STM32 unit setup per unit (see sim/lab/stm32-board.ts). */
      stm32Boards?: LabStm32Boards;
      /** Payload size of every lab image, on the units and in the bundles (benches vary it; default: the lab product's). */
      payloadBytes?: number;
    } = { baud: 115200 },
  ) {
    for (const spec of specs) this.units.set(spec.id, { spec, plugged: true });
  }

  list(): LabUnitState[] {
    return [...this.units.values()].map((u) => ({ spec: u.spec, plugged: u.plugged, available: simulatorFor(u.spec) !== undefined }));
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Pulls or plugs a unit's cable. The cable powers the unit, so plugging it
   * back restarts it, unless `ownPower`: a unit with its own supply keeps
   * running (and keeps what it had in RAM) while only its serial link is gone.
   */
  setPlugged(unitId: string, plugged: boolean, opts: { ownPower?: boolean } = {}): void {
    const u = this.units.get(unitId);
    if (!u) throw deviceError('lab.unknown-unit', `The demo lab has no unit "${unitId}".`);
    if (u.plugged === plugged) return;
    u.plugged = plugged;
    if (!plugged) u.cable?.cut(new Error('cable unplugged'));
    else if (!opts.ownPower) u.sim?.powerCycle?.();
    u.cable = undefined;
    for (const l of this.listeners) l();
  }

  /**
   * The unit stops answering for `ms` (hung or busy), then answers again: what
   * it receives meanwhile is lost. Needs a simulator that models it (SMP units).
   */
  stall(unitId: string, ms: number): void {
    const u = this.units.get(unitId);
    if (!u?.sim?.stall) throw deviceError('lab.no-stall', `The demo lab cannot stall "${unitId}" (not opened yet, or its simulator has no stall).`);
    u.sim.stall(ms);
  }

  /** Bytes a noisy cable damaged or lost so far, over every time the unit was opened. */
  damagedBytes(unitId: string): number {
    return this.units.get(unitId)?.damaged ?? 0;
  }

  /** The simulator playing a unit, once it was opened (tests inspect the device behind it). */
  simulator(unitId: string): LabSimulator | undefined {
    return this.units.get(unitId)?.sim;
  }

  /**
   * Opens the host end of a unit's cable, framed as the host asks (a real
   * UART's faults when the unit speaks otherwise). A unit keeps its simulated flash for
   * the lab's lifetime, so what one workflow wrote the next one reads.
   */
  async open(unitId: string, framing: HostFraming = {}): Promise<ByteTransport> {
    const u = this.units.get(unitId);
    if (!u) throw deviceError('lab.unknown-unit', `The demo lab has no unit "${unitId}".`);
    if (!u.plugged) throw deviceError('lab.unplugged', `${u.spec.label} is unplugged. Plug it in (demo lab panel) and try again.`);
    const factory = simulatorFor(u.spec, this.line.faults, this.line.smpBoards, this.line.payloadBytes, this.line.stm32Boards);
    if (!factory)
      throw deviceError('lab.simulator-missing', `The simulator for "${u.spec.label}" (${u.spec.answersWith}) is not part of this build yet, so it cannot answer.`);
    u.sim ??= await factory(u.spec);
    u.cable?.cut();
    const noise = this.line.noisyCables?.[unitId];
    const onDamage = () => void (u.damaged = (u.damaged ?? 0) + 1);
    // The cable carries what the host's framing sends; the unit's UART breaks bytes framed otherwise (uart.ts).
    const sim = u.sim;
    const uart = framingFaults(framing, () => sim.uart());
    const parity = framing.parity ?? sim.uart().parity;
    const cable = createPipe(`lab:${unitId}`, {
      baud: this.line.baud,
      frameBits: parity === 'even' ? 11 : 10,
      toDevice: uart.toDevice,
      toHost: uart.toHost,
      ...(noise ? { corrupt: noise.corrupt, ...(noise.drop ? { drop: noise.drop } : {}), seed: noise.seed, onDamage } : {}),
    });
    u.cable = cable;
    u.sim.attach(cable.device);
    return cable.host;
  }

  /**
   * The data directory holding the lab's trust store and its golden and update
   * libraries (made on first use): where lab units' images come from.
   */
  async libraryDir(): Promise<string> {
    this.libs ??= createLabLibraries(this.line.payloadBytes);
    return (await this.libs).dir;
  }

  /** The lab vendor whose root the lab's libraries trust (made with them, on first use). */
  async vendor(): Promise<LabVendor> {
    await this.libraryDir();
    return (await this.libs!).vendor;
  }

  async close(): Promise<void> {
    const libs = this.libs;
    this.libs = undefined;
    (await libs?.catch(() => undefined))?.close();
    for (const u of this.units.values()) {
      u.cable?.cut();
      await u.sim?.dispose?.();
    }
  }
}
