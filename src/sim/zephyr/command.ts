/** `unbrick sim zephyr`: a Zephyr application with the SMP server (and MCUboot below it) on a pty. */
import type { Command } from '../../cli/framework.ts';
import { stringOpt } from '../../cli/framework.ts';
import { usageError } from '../../core/errors.ts';
import { COMMON_OPTIONS, commonDeviceOptions, num, readFileOpt, runOnPty } from '../smp/command-common.ts';
import { flashProfile } from '../smp/flash-timing.ts';
import { createZephyrSim } from './index.ts';

export const simZephyrCommand: Command = {
  name: 'zephyr',
  summary: 'a Zephyr app with the SMP server on a pty (first output line: the pty path)',
  description:
    "Behaves like Zephyr 3.4's smp_svr sample as recorded: two line buffers, 4 packet buffers of 384 bytes, v1 rc / v2 err answers, log lines on the same UART. Below it, MCUboot swaps a tested image at reset and reverts it unless confirmed (--bootloader none: nothing runs between resets, as in the recording). Runs until Ctrl-C.",
  options: {
    ...COMMON_OPTIONS,
    'slot-size': { type: 'string', value: 'BYTES', description: 'size of each slot', default: '0x69000' },
    'buf-size': { type: 'string', value: 'BYTES', description: 'MCUMGR_TRANSPORT_NETBUF_SIZE', default: '384' },
    'buf-count': { type: 'string', value: 'N', description: 'MCUMGR_TRANSPORT_NETBUF_COUNT', default: '4' },
    bootloader: { type: 'string', value: 'KIND', description: "'mcuboot' or 'none'", default: 'mcuboot' },
    running: { type: 'string', value: 'FILE', description: 'image in slot 0 (the running application)' },
  },
  async run(ctx) {
    const bootloader = stringOpt(ctx, 'bootloader') ?? 'mcuboot';
    if (bootloader !== 'mcuboot' && bootloader !== 'none') throw usageError('usage.bad-bootloader', "--bootloader must be 'mcuboot' or 'none'.");
    const common = commonDeviceOptions(ctx);
    const running = stringOpt(ctx, 'running');
    const dev = createZephyrSim({
      ...common,
      slotSize: num(ctx, 'slot-size') ?? 0x69000,
      bufSize: num(ctx, 'buf-size') ?? 384,
      bufCount: num(ctx, 'buf-count') ?? 4,
      bootloader,
      ...(running ? { running: readFileOpt(running, 'image') } : {}),
      ...(num(ctx, 'reset-at') !== undefined ? { resetAtUploadOffset: num(ctx, 'reset-at')! } : {}),
      ...(num(ctx, 'power-loss-after') !== undefined ? { powerLossAfterSectors: num(ctx, 'power-loss-after')! } : {}),
    });
    const out = await runOnPty(ctx, dev, `Zephyr smp_svr (slots ${dev.opts.slotSize} bytes, ${dev.opts.bufCount} x ${dev.opts.bufSize}-byte buffers; ${flashProfile(common.flash).text})`);
    return { data: out, human: [] };
  },
};
