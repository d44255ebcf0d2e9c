/** `unbrick sim mcuboot`: a device in MCUboot serial recovery on a pty. */
import type { Command } from '../../framework.ts';
import { readUserFile, stringOpt } from '../../framework.ts';
import { usageError } from '../../../core/errors.ts';
import { COMMON_OPTIONS, commonDeviceOptions, num, runOnPty } from './smp-options.ts';
import { flashProfile } from '../../../sim/smp/flash-timing.ts';
import { createMcubootSim } from '../../../sim/mcuboot-serial/index.ts';

export const simMcubootCommand: Command = {
  name: 'mcuboot',
  summary: 'a device in MCUboot serial recovery on a pty (first output line: the pty path)',
  description:
    'Behaves like MCUboot boot_serial.c as recorded in the shared transcripts: silent drops, the receive limit, indefinite-length CBOR, progressive erase, image validation with the device key before listing. After a reset it re-enters recovery (--recovery always, like a held button) or runs the swap and boots a valid app (--recovery no-valid-app). Runs until Ctrl-C.',
  options: {
    ...COMMON_OPTIONS,
    images: { type: 'string', value: 'N', description: 'MCUBOOT_IMAGE_NUMBER (1 or 2)', default: '1' },
    'slot-size': { type: 'string', value: 'BYTES', description: 'size of each slot', default: '0x70000' },
    'max-receive': { type: 'string', value: 'BYTES', description: 'MCUBOOT_SERIAL_MAX_RECEIVE_SIZE', default: '1024' },
    'line-buffers': { type: 'string', value: 'N', description: "serial adapter line buffers, filled while a request's flash work runs (MCUboot's Zephyr port: 8)", default: '8' },
    'direct-upload': { type: 'boolean', description: 'MCUBOOT_SERIAL_DIRECT_IMAGE_UPLOAD' },
    canonical: { type: 'boolean', description: 'ZCBOR_CANONICAL (definite-length answers)' },
    recovery: { type: 'string', value: 'WHEN', description: "after a reset: 'always' or 'no-valid-app'", default: 'always' },
    slot0: { type: 'string', value: 'FILE', description: 'image to place in the primary slot at start' },
  },
  async run(ctx) {
    const images = num(ctx, 'images') ?? 1;
    if (images !== 1 && images !== 2) throw usageError('usage.bad-images', '--images must be 1 or 2.');
    const recovery = stringOpt(ctx, 'recovery') ?? 'always';
    if (recovery !== 'always' && recovery !== 'no-valid-app') throw usageError('usage.bad-recovery', "--recovery must be 'always' or 'no-valid-app'.");
    const common = commonDeviceOptions(ctx);
    const dev = createMcubootSim({
      ...common,
      images,
      slotSize: num(ctx, 'slot-size') ?? 0x70000,
      maxReceive: num(ctx, 'max-receive') ?? 1024,
      lineBuffers: num(ctx, 'line-buffers') ?? 8,
      directUpload: !!ctx.values['direct-upload'],
      canonical: !!ctx.values.canonical,
      recovery,
      ...(num(ctx, 'reset-at') !== undefined ? { resetAtUploadOffset: num(ctx, 'reset-at')! } : {}),
      ...(num(ctx, 'power-loss-after') !== undefined ? { powerLossAfterSectors: num(ctx, 'power-loss-after')! } : {}),
    });
    const slot0 = stringOpt(ctx, 'slot0');
    if (slot0) dev.program(0, 0, readUserFile(slot0, 'Image'));
    const out = await runOnPty(ctx, dev, `MCUboot serial recovery (${images} image${images > 1 ? 's' : ''}, slots ${dev.opts.slotSize} bytes, receive ${dev.opts.maxReceive}; ${flashProfile(common.flash).text})`);
    return { data: out, human: [] };
  },
};
