/**
 * A line of mixed units: each unit is provisioned by what it offers on its
 * port. The probes of the detect workflow ask in an order that harms neither
 * (the STM32 ROM bootloader must see 0x7F first; SMP devices skip a stray
 * 0x7F): an STM32 ROM bootloader takes the ROM recipe; MCUboot serial
 * recovery or a Zephyr application with SMP takes the SMP recipe.
 */
import { deviceError } from '../../core/errors.ts';
import type { DeviceHandle } from '../../devices/registry.ts';
import { smpProbe, stm32Probe } from '../../devices/probes.ts';
import type { Recipe } from '../station.ts';

export type UnitKind = 'stm32' | 'smp';

const OFFERS: Record<UnitKind, string> = { stm32: 'the STM32 ROM bootloader', smp: 'SMP (MCUboot serial recovery or a Zephyr application)' };

/** What answers on the unit's port. */
export async function probeUnitKind(handle: unknown, signal: AbortSignal): Promise<UnitKind | undefined> {
  const device = handle as DeviceHandle;
  if (await stm32Probe.identify(device, signal)) return 'stm32';
  if (await smpProbe.identify(device, signal)) return 'smp';
  return undefined;
}

/** Runs whichever recipe fits the unit: `probe` says what answers on the port. */
export function byUnitKind(recipes: Partial<Record<UnitKind, Recipe>>, probe: (handle: unknown, signal: AbortSignal) => Promise<UnitKind | undefined> = probeUnitKind): Recipe {
  return async (ctx) => {
    const kind = await ctx.step('detect', () => probe(ctx.port.handle, ctx.signal));
    const recipe = kind ? recipes[kind] : undefined;
    if (!recipe)
      throw deviceError(
        'station.unit-unknown-kind',
        kind ? `This unit offers ${OFFERS[kind]}, which this batch's bundle does not provision.` : 'Nothing on this port answers as an STM32 ROM bootloader, MCUboot serial recovery or a Zephyr SMP application. Check the cable and that the unit is in its bootloader.',
      );
    return recipe(ctx);
  };
}
