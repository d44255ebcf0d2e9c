/**
 * Demo-lab units that answer SMP: two in MCUboot serial recovery because slot 0
 * holds no valid image (one empty, one corrupt), which run their Zephyr
 * application once a valid image is written and they restart; and one running
 * its application with a test image 1.3.0 pending in slot 1; one running its
 * application on a low battery, and one whose 1.3.0 test boot loops. Their
 * applications report a `power` statistics group (battery_mv) and a `boot`
 * one (reset_count), and slot info. They trust the lab signing key.
 */
import { createFactoryUnit, createZephyrSim } from '../zephyr/index.ts';
import { setPending } from '../smp/boot.ts';
import { defined } from '../../core/defined.ts';
import type { SmpDevice } from '../smp/device.ts';
import type { LabSimulator } from './simulators.ts';
import type { LabUnitSpec } from './units.ts';
import type { UnitUart } from './uart.ts';
import type { FlashProfile } from '../smp/flash-timing.ts';
import { LAB_PRODUCT, labApplicationImage, labPublicKeyPem } from './product.ts';

/** The lab product's slots (STM32L4, 2 KiB pages). */
export const SMP_SLOT_SIZE = LAB_PRODUCT.partitions.slot0.size;

/** The lab's SMP consoles: 115200 8N1, as Zephyr's and MCUboot's defaults. */
export const SMP_UART: UnitUart = { parity: 'none', baud: 115200 };

/** Per-unit setup and device faults (tests and teaching: what each fault does to a workflow). */
export interface SmpBoardOptions {
  /** The device resets itself once an upload reaches this offset (once). */
  resetAtUploadOffset?: number;
  /** Power is lost after this many swapped sectors at the next swap; MCUboot resumes the swap when power is back (once). */
  powerLossAfterSectors?: number;
  /** Zephyr unit: an image swapped in for a test boot never starts, so MCUboot reverts it. */
  testImageFails?: boolean;
  /** Zephyr unit: it keeps running this long after it acknowledged a reset (CONFIG_MCUMGR_GRP_OS_RESET_MS). */
  resetDelayMs?: number;
  /** Zephyr unit: slot 1 starts empty (no pending 1.3.0), so an update has to upload. */
  emptySecondary?: boolean;
  /** Payload size of the images the unit starts with (default: the lab product's). */
  payloadBytes?: number;
  /** Flash timing (default the STM32L4 datasheet's; 'none' for tests that are not about time). */
  flash?: FlashProfile;
  /** Zephyr unit: what its `power` statistics group reports as `battery_mv` (default: a charged cell, or the scenario's). */
  batteryMv?: number;
  /** Zephyr unit: the new image confirms itself at its test boot, then restarts this many times (default: the scenario's). */
  bootLoops?: number;
  /** Zephyr unit: its UART receive thread's read period (default the real peer's 20 ms; 0: a fast UART that takes every line). */
  uartReadPeriodMs?: number;
}

/** A charged Li-ion cell, as the lab units report it. */
export const LAB_BATTERY_MV = 3950;
/** The low-battery unit's cell: below what the lab's update release asks for. */
export const LAB_LOW_BATTERY_MV = 3310;
/** How often the boot-loop unit restarts on the new image before it answers again. */
export const LAB_BOOT_LOOPS = 6;

export interface SmpBoard extends LabSimulator {
  dev: SmpDevice;
  /** The device stops answering for `ms` (hung, busy): what it receives meanwhile is lost, and so is what it was about to send. 0 ends a stall. */
  stall(ms: number): void;
  /** Bytes lost both ways while stalled (a test checks that the stall really bit). */
  readonly stalledBytes: number;
}

function wrap(dev: SmpDevice): SmpBoard {
  let off: (() => void) | undefined;
  let stalledUntil = 0;
  let lost = 0;
  const stalled = (b: Uint8Array) => {
    if (performance.now() >= stalledUntil) return false;
    lost += b.length;
    return true;
  };
  return {
    dev,
    get stalledBytes() {
      return lost;
    },
    attach(device) {
      off?.();
      device.onData((b) => {
        if (!stalled(b)) dev.input(b);
      });
      off = dev.onOutput((b) => {
        if (!stalled(b)) void device.write(b).catch(() => {});
      });
    },
    stall(ms) {
      stalledUntil = performance.now() + ms;
    },
    uart: () => SMP_UART,
    powerCycle: () => dev.reset(),
    dispose: async () => dev.dispose(),
  };
}

export function smpBoard(spec: LabUnitSpec, opts: SmpBoardOptions = {}): SmpBoard {
  const keys = [labPublicKeyPem()];
  const layout = { slotSize: SMP_SLOT_SIZE, sectorSize: LAB_PRODUCT.pageSize, flash: opts.flash ?? 'stm32l4' };
  const image = (version: string, o: { confirm?: boolean } = {}) =>
    labApplicationImage(version, { ...o, slotSize: SMP_SLOT_SIZE, ...(opts.payloadBytes ? { payloadBytes: opts.payloadBytes } : {}) });
  // The lab application registers two statistics groups: its cell voltage, and a restart counter kept
  // across resets (in retained RAM on the real product; Zephyr's own stats start from 0 at every boot).
  let resets = () => 0;
  const battery = opts.batteryMv ?? (spec.scenario === 'low-battery' ? LAB_LOW_BATTERY_MV : LAB_BATTERY_MV);
  const stats = { slotInfo: true, statGroups: { power: { battery_mv: battery }, boot: { reset_count: () => resets() } } };
  const loops = opts.bootLoops ?? (spec.scenario === 'boot-loop' ? LAB_BOOT_LOOPS : 0);
  const faults = defined({ resetAtUploadOffset: opts.resetAtUploadOffset, powerLossAfterSectors: opts.powerLossAfterSectors });
  if (spec.answersWith === 'zephyr-smp') {
    const dev = createZephyrSim({
      keys,
      ...layout,
      running: image('1.2.0', { confirm: true }),
      ...faults,
      ...(opts.testImageFails ? { testImageFails: true } : {}),
      ...defined({ resetDelayMs: opts.resetDelayMs, rxPeriodMs: opts.uartReadPeriodMs }),
      ...stats,
      ...(loops ? { newImageBootLoops: loops } : {}),
    });
    resets = () => dev.stats.resets;
    // The low-battery unit has never been sent the update: an update would have to upload it.
    if (!opts.emptySecondary && spec.scenario !== 'low-battery') {
      dev.program(1, image('1.3.0'));
      setPending(dev.flash, dev.slots, false); // "test": MCUboot swaps it in on the next reset, once
    }
    return wrap(dev);
  }
  // MCUboot stays in serial recovery while slot 0 holds no valid image; once Recover wrote one and the
  // unit restarts, MCUboot boots it and the application answers on the same UART.
  const dev = createFactoryUnit({ keys, ...layout, ...stats, recovery: faults });
  resets = () => dev.stats.resets;
  if (spec.scenario === 'corrupt-image') {
    const img = image('1.1.0');
    img[0x400] = img[0x400]! ^ 0x5a; // one flipped payload byte: the hash no longer matches
    dev.recovery.program(0, 0, img);
  }
  return wrap(dev);
}
