/**
 * Identification probes: each asks "are you a …?" in a way that harms none of
 * the others, and answers with what it learned or undefined. Detect runs them
 * in order on a freshly opened link. The STM32 ROM bootloader goes first: it
 * must see 0x7F as its very first byte after reset to measure the baud rate,
 * while SMP devices ignore a stray 0x7F.
 */
import type { DeviceKind } from '../api/contract.ts';
import type { DeviceHandle } from './devices.ts';
import { An3155Client } from '../stm32/an3155/client.ts';
import { identify as identifyStm32 } from '../stm32/session.ts';
import { formatPid } from '../stm32/chips/index.ts';
import { UnbrickError } from '../core/errors.ts';

export interface Identification {
  kind: Exclude<DeviceKind, 'identifying' | 'unknown'>;
  summary: string;
  identity: { name: string; value: string }[];
}

export interface Probe {
  name: string;
  identify(device: DeviceHandle, signal: AbortSignal): Promise<Identification | undefined>;
}

export const stm32Probe: Probe = {
  name: 'STM32 ROM bootloader',
  async identify(device, signal) {
    const link = await device.open({ parity: 'even', baudRate: 115200 });
    try {
      const client = new An3155Client(link, { replyMs: 400, signal });
      try {
        await client.sync(2);
      } catch (e) {
        if (e instanceof UnbrickError && e.kind === 'cancelled') throw e;
        return undefined; // no ACK to 0x7F: not an STM32 bootloader (or not in it)
      }
      const s = await identifyStm32(client);
      const v = s.info.version;
      return {
        kind: 'stm32-rom',
        summary: `STM32 ROM bootloader (${s.chip.name})`,
        identity: [
          { name: 'chip', value: s.chip.name },
          { name: 'product id', value: formatPid(s.info.pid) },
          { name: 'bootloader', value: `v${v >> 4}.${v & 0xf}` },
        ],
      };
    } finally {
      await link.close();
    }
  },
};

export const PROBES: Probe[] = [stm32Probe];
