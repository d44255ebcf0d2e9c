/**
 * `unbrick sim dfuse --functionfs DIR`: the simulated STM32 ROM bootloader in USB DFU mode as a real USB
 * device, behind a Linux USB gadget (configfs + FunctionFS). The caller creates the gadget, mounts
 * FunctionFS at DIR and binds the UDC after the "ready" line (test/vm/guest-gadget.sh does all of it).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '../../framework.ts';
import { stringOpt } from '../../framework.ts';
import { usageError } from '../../../core/errors.ts';
import { FunctionFsDevice } from '../../../sim/dfuse/functionfs.ts';
import { createDfuseSimulator } from '../../../sim/dfuse/index.ts';

export const simDfuseCommand: Command = {
  name: 'dfuse',
  summary: 'a simulated STM32 in USB DFU mode as a real USB gadget via FunctionFS (Linux; first output line: ready)',
  description:
    'Writes the DFU interface descriptors (one alternate setting per memory, the DFU functional descriptor) and strings to DIR/ep0, prints "ready", then answers the host\'s DFU requests with the same chip model as `sim stm32` (flash and option-byte semantics, datasheet timings). When the chip resets (option bytes, read-unprotect, leave) it leaves the bus and comes back by unbinding and rebinding --udc. Needs root, a kernel with usb_f_fs and a UDC (dummy_hcd in a VM will do). Runs until Ctrl-C.',
  options: {
    functionfs: { type: 'string', value: 'DIR', description: 'where the FunctionFS instance is mounted (holds ep0)' },
    chip: { type: 'string', value: 'NAME', description: 'chip name or product ID from the chip table', default: 'f405' },
    serial: { type: 'string', value: 'SN', description: 'USB serial number (set the same in the gadget strings)', default: '205F38743034' },
    'time-scale': { type: 'string', value: 'X', description: 'multiply the flash timings (1 = datasheet)', default: '1' },
    udc: { type: 'string', value: 'FILE', description: "the gadget's UDC file in configfs, rebound on a chip reset" },
    'udc-name': { type: 'string', value: 'NAME', description: 'the UDC to rebind to', default: 'dummy_udc.0' },
    trace: { type: 'boolean', description: 'log every control request to stderr' },
  },
  async run(ctx) {
    const dir = stringOpt(ctx, 'functionfs');
    if (!dir) throw usageError('usage.missing-functionfs', 'Give --functionfs DIR: where FunctionFS is mounted for this gadget function.');
    if (!existsSync(join(dir, 'ep0'))) throw usageError('usage.no-ep0', `${dir} holds no ep0: mount FunctionFS there first (mount -t functionfs NAME ${dir}).`);
    const scale = Number(stringOpt(ctx, 'time-scale') ?? '1');
    if (!Number.isFinite(scale) || scale < 0) throw usageError('usage.bad-time-scale', '--time-scale must be a number >= 0.');
    const { sim, chip } = createDfuseSimulator({ chip: stringOpt(ctx, 'chip') ?? 'f405', timeScale: scale, serialNumber: stringOpt(ctx, 'serial') ?? '205F38743034' });
    const udc = stringOpt(ctx, 'udc');
    const dev = new FunctionFsDevice({
      dir,
      sim,
      ...(udc ? { udcFile: udc, udcName: stringOpt(ctx, 'udc-name') ?? 'dummy_udc.0' } : {}),
      log: (line) => ctx.warn(`sim dfuse: ${line}`),
      trace: !!ctx.values.trace,
    });
    await dev.start();
    process.stdout.write('ready\n');
    ctx.warn(`${chip.info.name} DfuSe bootloader on FunctionFS ${dir}: bind the gadget's UDC now. Ctrl-C stops.`);
    // An ep0 read waiting for the next USB event cannot be cancelled: on Ctrl-C, report and exit.
    ctx.signal.addEventListener(
      'abort',
      () => {
        ctx.warn(`sim dfuse: stopped (${JSON.stringify(dev.stats)})`);
        process.exit(0);
      },
      { once: true },
    );
    await dev.run();
    return { data: { stats: dev.stats }, human: [`ep0 closed (${JSON.stringify(dev.stats)})`] };
  },
};
