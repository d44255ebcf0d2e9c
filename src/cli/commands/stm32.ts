/**
 * `unbrick stm32 ...`: the STM32 system bootloader over a UART (AN3155).
 * (`unbrick sim stm32` lives in sim/stm32.ts.)
 */
import { writeFileSync } from 'node:fs';
import { formatBytes } from '../../core/bytes.ts';
import { formatAddress, formatProductId } from '../../api/format.ts';
import { usageError } from '../../core/errors.ts';
import { loadFirmware } from '../../formats/firmware-file.ts';
import { formatPid } from '../../stm32/chips/index.ts';
import { COMMAND_NAMES, formatVersion } from '../../stm32/an3155/codec.ts';
import { ENTRY_WIRINGS, MANUAL_ENTRY_STEPS } from '../../stm32/entry.ts';
import * as ops from '../../stm32/operations.ts';
import { applyOptionChanges, parsePageList } from '../../stm32/option-bytes/changes.ts';
import { ProtectPolicySchema } from '../../stm32/option-bytes/protect-policy.ts';
import { readJsonOption } from '../json-input.ts';
import { describeOptionBytes, describeRdp, formatRuns } from '../../stm32/option-bytes/index.ts';
import { connectStm32, type Stm32Session } from '../../stm32/session.ts';
import { openSerial } from '../../transport/serial.ts';
import { confirm, confirmFlag, MASS_ERASE_FLAG, OB_SET_OPTIONS, obSetRequest, progressPrinter, READOUT_FLAG } from '../interaction.ts';
import { type Command, type CommandContext, type CommandGroup, type OptionSpec, choiceOpt, intOpt, requirePositional, requireString, stringOpt, TRACE_OPTIONS } from '../framework.ts';
import { traceLink } from '../../transport/trace.ts';

const PORT_OPTIONS: Record<string, OptionSpec> = {
  port: { type: 'string', value: 'PATH', description: 'serial port (e.g. /dev/ttyUSB0, COM3)' },
  baud: { type: 'string', value: 'N', description: 'baud rate', default: '115200' },
  parity: { type: 'string', value: 'even|none', description: 'UART parity: even (8E1, the bootloader) or none for a pseudo-terminal (default: none on /dev/pts/*, else even)' },
  entry: { type: 'string', value: 'WIRING', description: `enter the bootloader with the adapter's lines: ${ENTRY_WIRINGS.join(', ')}`, default: 'none' },
  'invert-lines': { type: 'boolean', description: 'the entry lines are inverted (asserted = pin low)' },
  ...TRACE_OPTIONS,
};

/** `write` and `verify` take a firmware FILE; a .bin has no address of its own. */
const BIN_ADDRESS_OPTION: Record<string, OptionSpec> = {
  address: { type: 'string', value: 'ADDR', description: 'load address of a .bin file (default: flash start)' },
};

/** The firmware FILE: a .bin loads at --address or the chip's flash start; .hex/.dfu carry their addresses (--address overrides). */
function firmwareFor(ctx: CommandContext, path: string, s: Stm32Session) {
  const isBin = !/\.(hex|ihex|dfu)$/i.test(path);
  return loadFirmware(path, isBin ? intOpt(ctx, 'address', s.chip.flash.start) : intOpt(ctx, 'address'));
}

function parity(ctx: CommandContext, path: string): 'even' | 'none' {
  const p = stringOpt(ctx, 'parity');
  if (p === undefined) return path.startsWith('/dev/pts/') ? 'none' : 'even';
  if (p !== 'even' && p !== 'none') throw usageError('usage.bad-parity', '--parity is even or none.');
  return p;
}

async function withSession<T>(ctx: CommandContext, fn: (s: Stm32Session) => Promise<T>): Promise<T> {
  const path = requireString(ctx, 'port');
  const wiring = choiceOpt(ctx, 'entry', ENTRY_WIRINGS, 'none');
  const baud = intOpt(ctx, 'baud', 115200)!;
  const transport = traceLink(await openSerial({ path, baudRate: baud, parity: parity(ctx, path) }), 'an3155');
  try {
    let session: Stm32Session;
    try {
      session = await connectStm32(transport, { baud, wiring, invertLines: !!ctx.values['invert-lines'], signal: ctx.signal });
    } catch (e) {
      if (e instanceof Error && 'code' in e && e.code === 'stm32.no-bootloader' && wiring === 'none') ctx.warn(MANUAL_ENTRY_STEPS.join('\n'));
      throw e;
    }
    return await fn(session);
  } finally {
    await transport.close();
  }
}

const unitWord = (s: Stm32Session) => (s.chip.flash.layout === 'sectors' ? 'sectors' : 'pages');

const commands: Command[] = [
  {
    name: 'info',
    summary: 'identify the chip and bootloader, and show its protection',
    options: PORT_OPTIONS,
    async run(ctx) {
      return withSession(ctx, async (s) => {
        const rdp = await ops.probeReadout(s);
        const ob = rdp === 0 ? await ops.readOptionBytes(s).catch(() => undefined) : undefined;
        const data = {
          chip: { pid: formatPid(s.chip.pid), name: s.chip.name, family: s.chip.family, flashBytes: s.chip.flash.size, flashStart: s.chip.flash.start },
          bootloader: { version: formatVersion(s.info.version), commands: s.info.commands.map((c) => COMMAND_NAMES[c] ?? `0x${c.toString(16)}`), getChecksum: s.hasChecksum },
          readoutProtection: rdp,
          optionBytes: ob,
        };
        const human = [
          `Chip: ${s.chip.name} (PID ${formatProductId(s.chip.pid)}), ${formatBytes(s.chip.flash.size)} flash at ${formatAddress(s.chip.flash.start)}`,
          `Bootloader: V${formatVersion(s.info.version)}, commands ${data.bootloader.commands.join(' ')}`,
          rdp === 1 ? `Readout protection: ${describeRdp(1)}` : 'Readout protection: off',
          ...(ob ? describeOptionBytes(s.chip, ob) : []),
        ];
        return { data, human };
      });
    },
  },
  {
    name: 'read',
    summary: 'read flash (or any readable area) to a file',
    args: 'FILE',
    options: { ...PORT_OPTIONS, address: { type: 'string', value: 'ADDR', description: 'start address (default: flash start)' }, length: { type: 'string', value: 'N', description: 'bytes (default: all flash)' } },
    async run(ctx) {
      const file = requirePositional(ctx, 0, 'FILE');
      return withSession(ctx, async (s) => {
        const address = intOpt(ctx, 'address', s.chip.flash.start)!;
        const length = intOpt(ctx, 'length', s.chip.flash.end - address)!;
        const data = await ops.readMemory(s, address, length, { onProgress: progressPrinter(ctx), signal: ctx.signal });
        writeFileSync(file, data);
        return { data: { file, address, bytes: data.length }, human: [`Read ${formatBytes(data.length)} from ${formatAddress(address)} into ${file}.`] };
      });
    },
  },
  {
    name: 'write',
    summary: 'write a .bin (at --address) or .hex file: erases only the pages it covers, then verifies',
    args: 'FILE',
    options: {
      ...PORT_OPTIONS,
      ...BIN_ADDRESS_OPTION,
      'no-verify': { type: 'boolean', description: 'skip the verify (not recommended)' },
      'keep-rest': { type: 'boolean', description: 'keep what partly covered pages hold outside the image (read first, written back)' },
    },
    async run(ctx) {
      const path = requirePositional(ctx, 0, 'FILE');
      return withSession(ctx, async (s) => {
        const fw = firmwareFor(ctx, path, s);
        const r = await ops.writeImage(s, fw.segments, { verify: !ctx.values['no-verify'], keepRest: !!ctx.values['keep-rest'], onProgress: progressPrinter(ctx), signal: ctx.signal });
        const human = [
          `Wrote ${formatBytes(r.bytes)}: erased ${unitWord(s)} ${formatRuns(r.erasedUnits) || 'none'}, ${r.blocksWritten} blocks written, ${r.blocksSkipped} erased-content blocks skipped${r.unchangedUnits.length ? `, ${unitWord(s)} ${formatRuns(r.unchangedUnits)} already up to date` : ''}.`,
          r.verify === 'none' ? 'Not verified.' : `Verified by ${r.verify === 'checksum' ? 'Get Checksum (CRC-32)' : 'reading back'}.`,
          ...(r.partialUnits.length ? [`Note: the image only partly covers ${unitWord(s)} ${formatRuns(r.partialUnits)}; the rest of them is now erased (--keep-rest keeps it).`] : []),
        ];
        return { data: r, human };
      });
    },
  },
  {
    name: 'verify',
    summary: 'compare flash with a .bin or .hex file (Get Checksum where available, else read-back)',
    args: 'FILE',
    options: { ...PORT_OPTIONS, ...BIN_ADDRESS_OPTION },
    async run(ctx) {
      const path = requirePositional(ctx, 0, 'FILE');
      return withSession(ctx, async (s) => {
        const fw = firmwareFor(ctx, path, s);
        const how = await ops.verifyImage(s, fw.segments, { onProgress: progressPrinter(ctx), signal: ctx.signal });
        return { data: { match: true, method: how }, human: [`Flash matches ${path} (${how}).`] };
      });
    },
  },
  {
    name: 'erase',
    summary: 'erase pages/sectors (--pages LIST) or the whole flash (--all)',
    options: {
      ...PORT_OPTIONS,
      pages: { type: 'string', value: 'LIST', description: 'pages (sectors on F2/F4/F7), e.g. 0-7,12' },
      all: { type: 'boolean', description: 'erase the whole flash' },
      bank: { type: 'string', value: '1|2', description: 'erase one bank of a dual-bank part' },
      ...confirmFlag(MASS_ERASE_FLAG, '--all'),
    },
    async run(ctx) {
      const pages = stringOpt(ctx, 'pages');
      const bank = stringOpt(ctx, 'bank');
      if (bank !== undefined && bank !== '1' && bank !== '2') throw usageError('usage.bad-arguments', '--bank is 1 or 2.');
      if (!pages && !ctx.values.all && !bank) throw usageError('usage.missing-option', 'Give --pages LIST, --bank N or --all.');
      if (ctx.values.all || bank) await confirm(ctx, MASS_ERASE_FLAG, `This erases the WHOLE ${bank ? `bank ${bank}` : 'flash'}.`, 'ERASE');
      return withSession(ctx, async (s) => {
        if (bank) {
          await ops.eraseBank(s, bank === '1' ? 1 : 2);
          return { data: { erased: `bank ${bank}` }, human: [`Bank ${bank} erased.`] };
        }
        if (ctx.values.all) {
          const how = await ops.massErase(s, { onProgress: progressPrinter(ctx), signal: ctx.signal });
          return { data: { erased: 'all', method: how }, human: [`Whole flash erased (${how}).`] };
        }
        const list = parsePageList(pages!);
        await ops.erasePages(s, list, { onProgress: progressPrinter(ctx), signal: ctx.signal });
        return { data: { erased: list }, human: [`Erased ${unitWord(s)} ${formatRuns(list)}.`] };
      });
    },
  },
  {
    name: 'protect',
    summary: 'write-protect pages/sectors (replaces the current set), and/or turn on readout protection',
    options: {
      ...PORT_OPTIONS,
      pages: { type: 'string', value: 'LIST', description: 'pages/sectors to write-protect, e.g. 0-3' },
      readout: { type: 'boolean', description: 'also set readout protection level 1 (lifting it later erases all flash)' },
      policy: { type: 'string', value: 'JSON|FILE', description: 'a protection policy: {"wrpPages":"0-3","rdp":1}' },
      ...confirmFlag(READOUT_FLAG, '--readout'),
    },
    async run(ctx) {
      const policyText = stringOpt(ctx, 'policy');
      let pages = stringOpt(ctx, 'pages');
      let readout = !!ctx.values.readout;
      if (policyText) {
        const p = readJsonOption(policyText, ProtectPolicySchema, { option: 'policy', code: 'stm32.bad-policy', example: '{"wrpPages":"0-3","rdp":1}' });
        pages = Array.isArray(p.wrpPages) ? p.wrpPages.join(',') : (p.wrpPages ?? 'none');
        readout = p.rdp === 1;
      }
      if (!pages && !readout) throw usageError('usage.missing-option', 'Give --pages LIST, --readout or --policy.');
      if (readout) await confirm(ctx, READOUT_FLAG, 'Readout protection stops all reads and writes; removing it later ERASES ALL FLASH.', 'PROTECT');
      return withSession(ctx, async (s) => {
        const out: string[] = [];
        let wrp: number[] | undefined;
        if (pages !== undefined) {
          const list = parsePageList(pages);
          if (list.length) wrp = (await ops.protectPages(s, list)).wrpPages;
          else await ops.writeUnprotect(s);
          out.push(list.length ? `Write-protected ${unitWord(s)}: ${formatRuns(wrp!)}.` : 'Write protection cleared.');
        }
        if (readout) {
          await ops.readoutProtect(s);
          out.push('Readout protection is on (level 1).');
        }
        return { data: { wrpPages: wrp ?? null, readoutProtection: readout }, human: out };
      });
    },
  },
  {
    name: 'unprotect',
    summary: 'remove write protection (default), or readout protection with --readout (ERASES ALL FLASH)',
    options: { ...PORT_OPTIONS, readout: { type: 'boolean', description: 'remove readout protection: mass-erases the whole flash' }, ...confirmFlag(MASS_ERASE_FLAG, '--readout') },
    async run(ctx) {
      if (ctx.values.readout) await confirm(ctx, MASS_ERASE_FLAG, 'Removing readout protection ERASES ALL FLASH (the chip does it, it cannot be stopped).', 'ERASE');
      return withSession(ctx, async (s) => {
        if (ctx.values.readout) {
          await ops.readoutUnprotect(s, { onProgress: progressPrinter(ctx) });
          return { data: { readoutProtection: 0, flashErased: true }, human: ['Readout protection removed; the flash is erased and the chip has reset.'] };
        }
        await ops.writeUnprotect(s);
        return { data: { writeProtection: 'cleared' }, human: ['Write protection cleared; the chip has reset.'] };
      });
    },
  },
  {
    name: 'ob',
    summary: 'option bytes: "ob show" explains them; "ob set --rdp/--wrp/--user" changes them (the chip resets)',
    args: 'show|set',
    options: {
      ...PORT_OPTIONS,
      ...OB_SET_OPTIONS,
    },
    async run(ctx) {
      const sub = requirePositional(ctx, 0, 'show|set');
      if (sub === 'show')
        return withSession(ctx, async (s) => {
          const ob = await ops.readOptionBytes(s);
          return { data: { chip: s.chip.name, optionBytes: ob }, human: describeOptionBytes(s.chip, ob) };
        });
      if (sub !== 'set') throw usageError('usage.bad-arguments', 'Use "stm32 ob show" or "stm32 ob set".');
      const { changes, writeOptions } = await obSetRequest(ctx);
      return withSession(ctx, async (s) => {
        const ob = await ops.readOptionBytes(s);
        const next = applyOptionChanges(s.chip, ob, changes);
        const back = await ops.writeOptionBytes(s, next, writeOptions);
        const shown = back ?? next;
        return { data: { chip: s.chip.name, optionBytes: shown, readBack: !!back }, human: ['Option bytes written; the chip reset to load them.', ...describeOptionBytes(s.chip, shown)] };
      });
    },
  },
];

export const stm32Group: CommandGroup = {
  name: 'stm32',
  summary: 'STM32 ROM bootloader over a UART (AN3155): info, read, write, verify, erase, protect, unprotect, option bytes',
  commands,
};
