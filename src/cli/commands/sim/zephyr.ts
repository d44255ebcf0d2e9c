/** `unbrick sim zephyr`: a Zephyr application with the SMP server (and MCUboot below it) on a pty. */
import type { Command } from '../../framework.ts';
import { readUserFile, stringOpt } from '../../framework.ts';
import { usageError } from '../../../core/errors.ts';
import { COMMON_OPTIONS, commonDeviceOptions, num, runOnPty } from './smp-options.ts';
import { flashProfile } from '../../../sim/smp/flash-timing.ts';
import { createFactoryUnit, createZephyrSim } from '../../../sim/zephyr/index.ts';

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
    'line-buffers': { type: 'string', value: 'N', description: 'UART_MCUMGR_RX_BUF_COUNT: 128-byte line buffers', default: '2' },
    'rx-period': { type: 'string', value: 'MS', description: 'the receive thread reads the UART every MS, and one read may touch at most two lines (the real peer: 20)', default: '20' },
    'fast-uart': { type: 'boolean', description: 'a UART driver that hands over every line as it completes: no line is lost (the windowed case)' },
    bootloader: { type: 'string', value: 'KIND', description: "'mcuboot' or 'none'", default: 'mcuboot' },
    running: { type: 'string', value: 'FILE', description: 'image in slot 0 (the running application)' },
    'settings-roots': { type: 'string', value: 'LIST', description: 'settings roots the application handles (group 3), e.g. app; default: none, as in the recorded sample' },
    fs: { type: 'string', value: 'MOUNT', description: 'give the application a file system at this mount point (group 8), e.g. /lfs1' },
    'fs-size': { type: 'string', value: 'BYTES', description: 'size of its file-system partition', default: '0x10000' },
    'factory-unit': { type: 'boolean', description: 'start in MCUboot serial recovery with no application; the application runs once an image is written and the unit restarts' },
  },
  async run(ctx) {
    const bootloader = stringOpt(ctx, 'bootloader') ?? 'mcuboot';
    if (bootloader !== 'mcuboot' && bootloader !== 'none') throw usageError('usage.bad-bootloader', "--bootloader must be 'mcuboot' or 'none'.");
    const common = commonDeviceOptions(ctx);
    const running = stringOpt(ctx, 'running');
    const roots = (stringOpt(ctx, 'settings-roots') ?? '')
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean);
    const mount = stringOpt(ctx, 'fs');
    if (mount !== undefined && !/^\/[A-Za-z0-9_]+$/.test(mount)) throw usageError('usage.bad-mount', '--fs must be a mount point such as /lfs1.');
    const app = {
      ...(roots.length ? { settings: { roots } } : {}),
      ...(mount ? { fs: { mount, size: num(ctx, 'fs-size') ?? 0x10000 } } : {}),
    };
    if (ctx.values['factory-unit']) {
      if (stringOpt(ctx, 'running')) throw usageError('usage.conflict', '--factory-unit starts without an application; drop --running.');
      const unit = createFactoryUnit({ ...common, ...app, slotSize: num(ctx, 'slot-size') ?? 0x69000, bufSize: num(ctx, 'buf-size') ?? 384, bufCount: num(ctx, 'buf-count') ?? 4 });
      const out = await runOnPty(ctx, unit, `Factory unit: MCUboot serial recovery, then the Zephyr application (${flashProfile(common.flash).text})`);
      return { data: out, human: [] };
    }
    const dev = createZephyrSim({
      ...app,
      ...common,
      slotSize: num(ctx, 'slot-size') ?? 0x69000,
      bufSize: num(ctx, 'buf-size') ?? 384,
      bufCount: num(ctx, 'buf-count') ?? 4,
      lineBufs: num(ctx, 'line-buffers') ?? 2,
      rxPeriodMs: ctx.values['fast-uart'] ? 0 : (num(ctx, 'rx-period') ?? 20),
      bootloader,
      ...(running ? { running: readUserFile(running, 'Image') } : {}),
      ...(num(ctx, 'reset-at') !== undefined ? { resetAtUploadOffset: num(ctx, 'reset-at')! } : {}),
      ...(num(ctx, 'power-loss-after') !== undefined ? { powerLossAfterSectors: num(ctx, 'power-loss-after')! } : {}),
    });
    const out = await runOnPty(ctx, dev, `Zephyr smp_svr (slots ${dev.opts.slotSize} bytes, ${dev.opts.bufCount} x ${dev.opts.bufSize}-byte buffers; ${flashProfile(common.flash).text})`);
    return { data: out, human: [] };
  },
};
