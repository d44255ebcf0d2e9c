/**
 * Demo-lab units that answer with the STM32 ROM bootloader (BOOT0 held high):
 * the lab product's chip with its flash and option bytes set up for the
 * unit's story, on the STM32 bootloader simulator.
 *
 * After the bootloader's Go to MCUboot the board runs what its flash holds,
 * as the real one would: the lab's MCUboot (when its bytes are there) checks
 * slot 0 and starts the Zephyr application on the same UART, or stays in
 * serial recovery when slot 0 holds no valid image; nothing answers when
 * MCUboot is not there. A power cycle brings the ROM bootloader back (BOOT0
 * stays high on lab boards).
 */
import { createStm32Simulator, type Stm32BootloaderSim, type Stm32Faults } from '../stm32/index.ts';
import { createFactoryUnit } from '../zephyr/index.ts';
import { digest } from '../../crypto/hash.ts';
import type { SmpDevice } from '../smp/device.ts';
import type { ByteTransport } from '../../transport/types.ts';
import type { LabSimulator } from './simulators.ts';
import type { LabUnitSpec } from './units.ts';
import { SMP_UART } from './smp-board.ts';
import { LAB_PRODUCT, labApplicationImage, labBootloaderImage, labPublicKeyPem } from './product.ts';

export interface Stm32BoardOptions {
  /** Multiplies the chip's flash timings (the lab runs faster than a datasheet). */
  timeScale?: number;
  faults?: Stm32Faults;
  /** Payload size of the application the unit starts with (default: the lab product's). */
  payloadBytes?: number;
}

export function stm32Board(spec: LabUnitSpec, opts: Stm32BoardOptions = {}): LabSimulator & { sim: Stm32BootloaderSim; firmware(): SmpDevice | undefined } {
  // A stable chip UID per lab unit (from its serial), so its service records stay under one name across sessions.
  const uid = digest('sha256', new TextEncoder().encode(`lab chip uid ${spec.serial}`)).slice(0, 12);
  const sim = createStm32Simulator({ chip: LAB_PRODUCT.chip, timeScale: opts.timeScale ?? 0.1, uid, ...(opts.faults ? { faults: opts.faults } : {}) });
  const chip = sim.chip;
  const at = (address: number) => address - LAB_PRODUCT.flashStart;
  const p = LAB_PRODUCT.partitions;
  if (spec.scenario !== 'mcuboot-erased-wrp') chip.flash.program(at(p.mcuboot.address), labBootloaderImage());
  chip.flash.program(at(p.slot0.address), labApplicationImage('1.2.0', { confirm: true, ...(opts.payloadBytes ? { payloadBytes: opts.payloadBytes } : {}) }));
  // The shipped policy: bootloader pages write-protected (L4: one WRP area over a page range).
  chip.setWriteProtect(LAB_PRODUCT.policy.wrpPages);
  if (spec.scenario === 'rdp-level-1') chip.setReadoutProtect();
  sim.reset(); // option bytes take effect at reset

  let cable: ByteTransport | undefined;
  let app: SmpDevice | undefined;
  let appOff: (() => void) | undefined;
  const stopFirmware = () => {
    appOff?.();
    app?.dispose();
    app = appOff = undefined;
  };
  const wireFirmware = () => {
    appOff?.();
    const c = cable;
    appOff = c && app?.onOutput((b) => void c.write(b).catch(() => {}));
  };
  let boots = 0;
  sim.onGo((address) => {
    stopFirmware();
    // The bootloader's last ACK leaves before the jump: the firmware starts (and checks its image,
    // a lot of work for a 448 KiB slot) on a later turn, so it never holds that ACK back.
    const boot = ++boots;
    setTimeout(() => boot === boots && startFirmware(address), 0);
  });
  const startFirmware = (address: number) => {
    const boot = labBootloaderImage();
    const flashed = chip.flash.read(at(p.mcuboot.address), boot.length);
    if (address !== p.mcuboot.address || !flashed.every((b, i) => b === boot[i])) return; // no MCUboot there: nothing runs that answers
    // MCUboot checks slot 0 at its start: it boots a valid image, else stays in serial recovery.
    const unit = createFactoryUnit({ keys: [labPublicKeyPem()], slotSize: p.slot0.size, sectorSize: LAB_PRODUCT.pageSize, flash: 'stm32l4' });
    unit.recovery.program(0, 0, chip.flash.read(at(p.slot0.address), p.slot0.size));
    unit.reset();
    app = unit;
    wireFirmware();
  };
  return {
    sim,
    firmware: () => app,
    attach(device) {
      cable = device;
      // One UART: the ROM bootloader hears it until Go, then the firmware does.
      device.onData((d) => (app ? app.input(d) : sim.feed(d)));
      sim.onOutput((d) => void device.write(d).catch(() => {}));
      wireFirmware();
    },
    // The ROM bootloader speaks 8E1 at whatever rate the host's 0x7F had; the firmware after Go, its console's 8N1.
    uart: () => (app ? SMP_UART : { parity: 'even' }),
    // Lab boards keep BOOT0 high: after power-up the ROM bootloader waits for 0x7F again.
    powerCycle: () => {
      boots++;
      stopFirmware();
      sim.reset();
    },
    dispose: async () => {
      boots++;
      stopFirmware();
      sim.close();
    },
  };
}
