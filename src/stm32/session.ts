/**
 * A connected STM32 bootloader: the client, what the bootloader said about
 * itself, and the chip-table entry for its product ID.
 */
import { deviceError } from '../core/errors.ts';
import type { ByteTransport } from '../transport/types.ts';
import { An3155Client, type BootloaderInfo, type ClientOptions } from './an3155/client.ts';
import { CMD } from './an3155/codec.ts';
import { type ChipInfo, chipByPid, formatPid } from './chips/index.ts';
import { enterBootloader, type EntryWiring } from './entry.ts';

export interface Stm32Session {
  client: An3155Client;
  chip: ChipInfo;
  info: BootloaderInfo;
  /** The bootloader lists Get Checksum (0xA1): verify without reading back. */
  hasChecksum: boolean;
  /** Which erase command this bootloader offers (0x43 or 0x44), from Get. */
  eraseCommand: 0x43 | 0x44;
}

export interface ConnectOptions extends ClientOptions {
  wiring?: EntryWiring;
  invertLines?: boolean;
}

export async function connectStm32(transport: ByteTransport, opts: ConnectOptions = {}): Promise<Stm32Session> {
  if (opts.wiring && opts.wiring !== 'none') await enterBootloader(transport, opts.wiring, opts.invertLines);
  const client = new An3155Client(transport, opts);
  await client.sync();
  return identify(client);
}

/** (Re)reads Get Version / Get / Get ID and looks the chip up. */
export async function identify(client: An3155Client): Promise<Stm32Session> {
  const info = await client.identify();
  const chip = chipByPid(info.pid);
  if (!chip)
    throw deviceError('stm32.unknown-pid', `The bootloader reports product ID ${formatPid(info.pid)}, which is not in Unbrick's chip table; refusing to guess its flash layout.`, { pid: info.pid });
  const eraseCommand = info.commands.includes(CMD.extendedErase) ? 0x44 : info.commands.includes(CMD.erase) ? 0x43 : chip.bootloader.eraseCommand;
  return { client, chip, info, hasChecksum: info.commands.includes(CMD.getChecksum), eraseCommand };
}
