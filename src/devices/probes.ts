/**
 * Identification probes: each asks "are you a …?" in a way that harms none of
 * the others, and answers with what it learned or undefined. Detect runs them
 * in order on a freshly opened link. The STM32 ROM bootloader goes first: it
 * must see 0x7F as its very first byte after reset to measure the baud rate,
 * while SMP devices ignore a stray 0x7F.
 */
import type { DeviceKind } from '../api/contract.ts';
import { formatOsInfo } from '../api/format.ts';
import { LINE, type DeviceHandle } from './registry.ts';
import { IDENTITY, readChipUid } from './identity.ts';
import { An3155Client } from '../stm32/an3155/client.ts';
import { identify as identifyStm32 } from '../stm32/session.ts';
import { formatPid } from '../stm32/chips/index.ts';
import { UnbrickError } from '../core/errors.ts';
import { SmpClient } from '../smp/client.ts';
import { smpRequest } from '../smp/messages.ts';
import * as imageGroup from '../smp/groups/image.ts';
import * as osGroup from '../smp/groups/os.ts';
import { traceLink } from '../transport/trace.ts';

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
    const link = traceLink(await device.open(LINE.stm32), 'an3155');
    try {
      const client = new An3155Client(link, { replyMs: 400, signal, baud: LINE.stm32.baudRate });
      try {
        await client.sync(2);
      } catch (e) {
        if (e instanceof UnbrickError && e.kind === 'cancelled') throw e;
        return undefined; // no ACK to 0x7F: not an STM32 bootloader (or not in it)
      }
      const s = await identifyStm32(client);
      const v = s.info.version;
      const uid = await readChipUid(s, signal);
      return {
        kind: 'stm32-rom',
        summary: `STM32 ROM bootloader (${s.chip.name})`,
        identity: [
          { name: 'chip', value: s.chip.name },
          { name: 'product id', value: formatPid(s.info.pid) },
          { name: 'bootloader', value: `v${v >> 4}.${v & 0xf}` },
          ...(uid ? [{ name: IDENTITY.chipUid, value: uid }] : []),
        ],
      };
    } finally {
      await link.close();
    }
  },
};

/**
 * SMP over the serial console (8N1): an echo tells an SMP device from
 * anything else; OS information (group 0, id 7) exists in Zephyr's SMP server
 * but not in MCUboot's serial recovery, which answers it "not supported".
 */
export const smpProbe: Probe = {
  name: 'SMP (MCUboot serial recovery or Zephyr)',
  async identify(device, signal) {
    const link = traceLink(await device.open(LINE.smp), 'smp');
    try {
      const c = new SmpClient(link, { baud: LINE.smp.baudRate, timeoutMs: 600, retries: 1 });
      try {
        await c.request({ ...smpRequest('echo', { d: 'unbrick' }), signal });
      } catch (e) {
        if (e instanceof UnbrickError && e.kind === 'cancelled') throw e;
        return undefined;
      }
      return await identifySmp(c);
    } finally {
      await link.close();
    }
  },
};

/** What an SMP device that answers is: a Zephyr application, or MCUboot's serial recovery (no OS information). */
export async function identifySmp(c: SmpClient): Promise<Identification> {
  const slots = await imageGroup.list(c).catch(() => []);
  const active = slots.find((x) => x.active) ?? slots[0];
  const hashes = slots.filter((x) => x.hash).map((x) => ({ name: IDENTITY.imageHash, value: x.hash }));
  let os: string | undefined;
  try {
    os = await osGroup.info(c, 'a');
  } catch {
    os = undefined;
  }
  if (os !== undefined)
    return {
      kind: 'zephyr-smp',
      summary: `Zephyr application${active?.version ? ` ${active.version}` : ''} (SMP)`,
      identity: [{ name: 'os', value: formatOsInfo(os).slice(0, 200) }, ...(active?.version ? [{ name: 'running', value: active.version }] : []), ...hashes],
    };
  return { kind: 'mcuboot-serial', summary: 'MCUboot serial recovery', identity: [{ name: 'bootloader', value: 'MCUboot (serial recovery)' }, ...hashes] };
}

/** The STM32 probe first: see the file comment. */
export const PROBES: Probe[] = [stm32Probe, smpProbe];
