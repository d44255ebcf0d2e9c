/** `unbrick dfu …`: an STM32 in its ROM USB DFU bootloader (0483:df11). */
import { writeFileSync } from 'node:fs';
import { deviceError, usageError } from '../../core/errors.ts';
import { formatBytes } from '../../core/bytes.ts';
import { formatAddress } from '../../api/format.ts';
import { loadFirmware } from '../../formats/firmware-file.ts';
import { identifyDfu, leaveDfu, readFlash, readOptionBytes, readUnprotect, writeFlash, writeOptionBytes } from '../../dfu/operations.ts';
import { openDfuSession, type DfuSession } from '../../dfu/session.ts';
import { describeUsb, listUsbDevices } from '../../transport/usb.ts';
import { describeOptionBytes } from '../../stm32/option-bytes/index.ts';
import { applyOptionChanges } from '../../stm32/option-bytes/changes.ts';
import { type Command, type CommandContext, type CommandGroup, intOpt, requirePositional, stringOpt, TRACE_OPTIONS } from '../framework.ts';
import { confirm, confirmFlag, MASS_ERASE_FLAG, OB_SET_OPTIONS, obSetRequest, progressPrinter } from '../interaction.ts';

const DEVICE_OPTIONS = {
  serial: { type: 'string', value: 'SN', description: 'the DFU device with this USB serial number (default: the only one attached)' },
  ...TRACE_OPTIONS,
} as const;

async function withSession<T>(ctx: CommandContext, fn: (s: DfuSession) => Promise<T>): Promise<T> {
  const { devices, problem } = await listUsbDevices();
  const dfu = devices.filter((d) => describeUsb(d).role === 'stm32-dfu');
  const serial = stringOpt(ctx, 'serial');
  const chosen = serial ? dfu.filter((d) => d.serialNumber === serial) : dfu;
  if (chosen.length === 0)
    throw deviceError(
      'dfu.no-device',
      problem ??
        (serial
          ? `No STM32 DFU device with serial ${serial} is attached.`
          : 'No STM32 in DFU mode is attached. Hold BOOT0 high, reset or plug the board in, and check `unbrick usb list`.'),
    );
  if (chosen.length > 1) throw usageError('dfu.several-devices', `${chosen.length} DFU devices are attached: pick one with --serial (${chosen.map((d) => d.serialNumber).join(', ')}).`);
  const session = await openDfuSession(chosen[0]!);
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}

const commands: Command[] = [
  {
    name: 'info',
    summary: 'identify the DFU device: chip, memories, read protection',
    options: DEVICE_OPTIONS,
    async run(ctx) {
      const id = await withSession(ctx, identifyDfu);
      const human = [
        `Chip: ${id.candidates.length ? id.candidates.map((c) => `${c.name} (PID ${c.pid})`).join(' or ') : 'not recognised from its memory layout'}`,
        `Serial: ${id.serialNumber ?? '-'}   DFU ${id.dfuVersion}, transfer size ${id.transferSize}`,
        ...id.alts.map((a) => `  alt ${a.alt}: ${a.name}`),
        id.readProtected ? 'Read protection is ON (RDP level 1): only `dfu unprotect` (which erases the flash) works.' : 'Read protection: off',
      ];
      return { data: id, human };
    },
  },
  {
    name: 'read',
    summary: 'read flash to a file',
    args: 'FILE',
    options: {
      ...DEVICE_OPTIONS,
      address: { type: 'string', value: 'ADDR', description: 'start address', default: '0x08000000' },
      length: { type: 'string', value: 'N', description: 'bytes to read (default: the whole flash)' },
    },
    async run(ctx) {
      const file = requirePositional(ctx, 0, 'FILE');
      const address = intOpt(ctx, 'address', 0x08000000)!;
      const data = await withSession(ctx, async (s) => {
        const flash = s.alts.find((a) => a.layout && /flash/i.test(a.layout.name))?.layout;
        const end = flash ? Math.max(...flash.segments.map((g) => g.start + g.pageCount * g.pageSize)) : address;
        return readFlash(s, address, intOpt(ctx, 'length') ?? end - address, progressPrinter(ctx), ctx.signal);
      });
      writeFileSync(file, data);
      return { data: { file, address, bytes: data.length }, human: [`Read ${formatBytes(data.length)} from ${formatAddress(address)} into ${file}.`] };
    },
  },
  {
    name: 'write',
    summary: 'write a .bin, .hex or .dfu file to flash, erasing only the pages it covers, then verify',
    args: 'FILE',
    options: {
      ...DEVICE_OPTIONS,
      address: { type: 'string', value: 'ADDR', description: 'load address for a .bin file' },
      'no-verify': { type: 'boolean', description: 'skip the read-back verify' },
    },
    async run(ctx) {
      const fw = loadFirmware(requirePositional(ctx, 0, 'FILE'), intOpt(ctx, 'address'));
      const r = await withSession(ctx, (s) => writeFlash(s, fw.segments, { verify: !ctx.values['no-verify'], onProgress: progressPrinter(ctx), signal: ctx.signal }));
      return { data: r, human: [`Wrote ${formatBytes(r.bytes)} in ${r.segments} segment(s)${r.verified ? ', verified by read-back' : ' (not verified)'}.`] };
    },
  },
  {
    name: 'erase',
    summary: 'mass-erase the flash',
    options: { ...DEVICE_OPTIONS, ...confirmFlag(MASS_ERASE_FLAG, 'erasing the whole flash') },
    async run(ctx) {
      await confirm(ctx, MASS_ERASE_FLAG, 'This erases the WHOLE flash.', 'ERASE');
      await withSession(ctx, async (s) => {
        const flash = s.alts.find((a) => a.layout && /flash/i.test(a.layout.name));
        if (!flash) throw deviceError('dfu.no-flash-alt', 'The device describes no internal flash.');
        const client = await s.use(flash.alt, { signal: ctx.signal });
        await client.ensureIdle();
        await client.massErase();
      });
      return { data: { erased: true }, human: ['Flash erased.'] };
    },
  },
  {
    name: 'unprotect',
    summary: 'remove read protection (RDP 1 -> 0): ERASES ALL FLASH, then the chip resets',
    options: { ...DEVICE_OPTIONS, ...confirmFlag(MASS_ERASE_FLAG, 'that all flash is erased') },
    async run(ctx) {
      await confirm(ctx, MASS_ERASE_FLAG, 'Removing read protection ERASES ALL FLASH (the chip does it, it cannot be stopped).', 'ERASE');
      await withSession(ctx, (s) => readUnprotect(s, { confirmMassErase: true }));
      return { data: { unprotected: true }, human: ['Read protection removed; the flash is erased and the chip has reset. Run `unbrick dfu info` to check.'] };
    },
  },
  {
    name: 'leave',
    summary: 'leave DFU mode and start the application',
    options: { ...DEVICE_OPTIONS, address: { type: 'string', value: 'ADDR', description: 'jump address (default: reset)' } },
    async run(ctx) {
      await withSession(ctx, (s) => leaveDfu(s, intOpt(ctx, 'address')));
      return { data: { left: true }, human: ['The device left DFU mode.'] };
    },
  },
];

const obCommand: Command = {
  name: 'ob',
  summary: 'option bytes: "ob show" explains them; "ob set --rdp/--wrp/--user" changes them (the chip resets)',
  args: 'show|set',
  options: { ...DEVICE_OPTIONS, ...OB_SET_OPTIONS },
  async run(ctx) {
    const sub = requirePositional(ctx, 0, 'show|set');
    if (sub === 'show') {
      const r = await withSession(ctx, readOptionBytes);
      return { data: { chip: r.chip.name, raw: r.image, optionBytes: r.optionBytes }, human: describeOptionBytes(r.chip, r.optionBytes) };
    }
    if (sub !== 'set') throw usageError('usage.bad-arguments', 'Use "dfu ob show" or "dfu ob set".');
    const { changes, writeOptions } = await obSetRequest(ctx);
    const { chip, next } = await withSession(ctx, async (s) => {
      const { chip, optionBytes } = await readOptionBytes(s);
      const next = applyOptionChanges(chip, optionBytes, changes);
      await writeOptionBytes(s, next, writeOptions);
      return { chip, next };
    });
    return { data: { chip: chip.name, optionBytes: next }, human: ['Option bytes written; the chip resets to load them. Run `unbrick dfu ob show` to check.', ...describeOptionBytes(chip, next)] };
  },
};

export const dfuGroup: CommandGroup = {
  name: 'dfu',
  summary: 'STM32 ROM bootloader over USB DFU (DfuSe): info, read, write, erase, option bytes, unprotect, leave',
  commands: [...commands, obCommand],
};
