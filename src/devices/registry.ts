/**
 * The device registry: every unit Unbrick can see right now (demo lab units,
 * later real serial ports), with what detection and diagnosis learned about
 * each. It is the single source of the UI's device list.
 */
import type { DeviceKind, DeviceSummary, Diagnosis, Severity } from '../api/contract.ts';
import { SEVERITIES } from '../api/contract.ts';
import { deviceError } from '../core/errors.ts';
import type { ByteTransport } from '../transport/types.ts';

export interface DeviceHandle {
  id: string;
  port: string;
  label: string;
  simulated: boolean;
  /** Identity known before any probing (serial number on the label, adapter serial). */
  identity: { name: string; value: string }[];
  /** Opens the link with the framing a protocol needs (see LINE); the demo lab honours it as a real UART would. */
  open(framing?: LinkFraming): Promise<ByteTransport>;
  /**
   * The data directory this unit's firmware comes from (trust store, golden and
   * update libraries); absent: the app's own. The demo lab brings its own, so
   * its keys never enter the user's trust store.
   */
  libraryDir?(): Promise<string>;
  /** The product the unit is known to be before any probing (vendor and class id). */
  product?: { vendorId: string; classId: string };
}

export interface LinkFraming {
  baudRate?: number;
  /** 'even' for the STM32 ROM bootloader (8E1), 'none' for SMP (8N1). */
  parity?: 'none' | 'even';
}

/**
 * The line each protocol speaks, in one place: the STM32 ROM bootloader 8E1
 * (AN2662 §2.1: even parity, checked), SMP consoles 8N1; 115200 baud, the
 * fastest rate the ROM bootloader is specified for. Links open with these and
 * clients time their waits by the same baud.
 */
export const LINE = {
  stm32: { baudRate: 115200, parity: 'even' },
  smp: { baudRate: 115200, parity: 'none' },
} as const satisfies Record<string, Required<LinkFraming>>;

export interface DeviceEntry {
  handle: DeviceHandle;
  kind: DeviceKind;
  summary: string;
  busyJobId?: string;
  diagnosis?: Diagnosis;
  /** Identity learned by probing (chip UID, bootloader version, image hashes). */
  learned: { name: string; value: string }[];
}

export function worstSeverity(d: Diagnosis | undefined): Severity | undefined {
  if (!d) return undefined;
  let worst = 0;
  for (const f of d.findings) worst = Math.max(worst, SEVERITIES.indexOf(f.severity));
  return SEVERITIES[worst];
}

export class DeviceRegistry {
  private readonly entries = new Map<string, DeviceEntry>();
  private readonly listeners = new Set<(devices: DeviceSummary[]) => void>();
  private readonly addedListeners = new Set<(id: string) => void>();

  /** Replaces the set of present devices; keeps what was learned about those still present. */
  sync(handles: DeviceHandle[]): void {
    const seen = new Set<string>();
    const added: string[] = [];
    for (const h of handles) {
      seen.add(h.id);
      const old = this.entries.get(h.id);
      if (old) old.handle = h;
      else {
        this.entries.set(h.id, { handle: h, kind: 'identifying', summary: 'Identifying…', learned: [] });
        added.push(h.id);
      }
    }
    for (const id of [...this.entries.keys()]) if (!seen.has(id)) this.entries.delete(id);
    this.changed();
    for (const id of added) for (const l of this.addedListeners) l(id);
  }

  get(id: string): DeviceEntry {
    const e = this.entries.get(id);
    if (!e) throw deviceError('device.not-found', `No device "${id}" is attached. Check the cable, then pick it again from the device list.`);
    return e;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  update(id: string, patch: Partial<Omit<DeviceEntry, 'handle'>>): void {
    const e = this.entries.get(id);
    if (!e) return; // unplugged meanwhile: nothing to update
    Object.assign(e, patch);
    if ('busyJobId' in patch && patch.busyJobId === undefined) delete e.busyJobId;
    this.changed();
  }

  list(): DeviceSummary[] {
    return [...this.entries.values()].map(summaryOf);
  }

  onChange(listener: (devices: DeviceSummary[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onAdded(listener: (id: string) => void): () => void {
    this.addedListeners.add(listener);
    return () => this.addedListeners.delete(listener);
  }

  private changed(): void {
    const list = this.list();
    for (const l of this.listeners) l(list);
  }
}

export function summaryOf(e: DeviceEntry): DeviceSummary {
  const s: DeviceSummary = {
    id: e.handle.id,
    port: e.handle.port,
    label: e.handle.label,
    kind: e.kind,
    summary: e.summary,
    simulated: e.handle.simulated,
  };
  if (e.busyJobId) s.busyJobId = e.busyJobId;
  const health = worstSeverity(e.diagnosis);
  if (health) s.health = health;
  return s;
}
