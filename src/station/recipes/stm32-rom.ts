/**
 * Provisioning recipe for units that offer the STM32 ROM bootloader (AN3155):
 * identify -> lift protection (only if the batch allows it) -> write every
 * address payload of the bundle -> verify -> write protection over the
 * protected ranges -> per-unit data -> readout protection -> final check.
 *
 * Readout protection comes after the per-unit data, not before as a plain
 * reading of "option bytes, then data" would have it: at RDP level 1 the
 * bootloader refuses every write, so the data could not go in afterwards.
 *
 * Bundles with SMP targets (MCUboot images written over SMP) go to the SMP
 * recipe instead; this one refuses them before the line starts, unless the
 * bundle is mixed (units of both kinds on one line): then it writes the
 * address payloads and leaves the SMP images to the SMP units.
 */
import { checkError, deviceError, usageError } from '../../core/errors.ts';
import type { BundleMetadata, OptionBytePolicy } from '../../formats/bundle/metadata.ts';
import { eraseUnits, uidAddress, type ChipInfo } from '../../stm32/chips/index.ts';
import { probeReadout, protectPages, readMemory, readOptionBytes, readoutProtect, readoutUnprotect, verifyImage, writeImage, writeUnprotect, type Segment } from '../../stm32/operations.ts';
import type { Stm32Session } from '../../stm32/session.ts';
import type { DeviceHandle } from '../../devices/registry.ts';
import { openStm32 } from '../../devices/stm32-link.ts';
import type { ByteTransport } from '../../transport/types.ts';
import type { Recipe } from '../station.ts';

export interface Stm32RomRecipeOptions {
  metadata: BundleMetadata;
  /** Payload bytes by name, already checked against the signed metadata. */
  payloads: Map<string, Uint8Array>;
  /** Lift readout protection (a MASS ERASE) on units that arrive protected. Explicit opt-in. */
  allowUnprotect?: boolean;
  /** Where per-unit data goes (flash address); required when the batch has a data list. */
  dataAddress?: number;
  /** Entry field written as raw bytes (hex); default: the entry as JSON, NUL-terminated. */
  dataField?: string;
  /** How to reach the unit behind a port (default: a DeviceHandle's ROM bootloader session). */
  connect?: (handle: unknown, signal: AbortSignal) => Promise<{ session: Stm32Session; link: ByteTransport; close(): Promise<void> }>;
  /** Where the unit's UID is read (default: the family's UID address). */
  uidAddress?: (chip: ChipInfo) => number;
  /** The bundle also carries SMP images for SMP units on the same line: skip them here. */
  mixed?: boolean;
}

/** Refuses, before the line starts, a bundle or policy this recipe cannot carry out. */
export function checkStm32Bundle(md: BundleMetadata, o: { mixed?: boolean } = {}): void {
  if (md.kind !== 'provisioning') throw usageError('station.not-provisioning', `A station runs provisioning bundles; this one is a "${md.kind}" bundle.`);
  const smp = md.payloads.filter((p) => p.target.kind !== 'address');
  if (!md.payloads.some((p) => p.target.kind === 'address')) throw usageError('station.recipe-unavailable', 'The bundle has nothing to write at a flash address.');
  if (smp.length && !o.mixed)
    throw usageError(
      'station.recipe-unavailable',
      `Payloads ${smp.map((p) => p.name).join(', ')} go through SMP (MCUboot), which the STM32 ROM bootloader does not speak.`,
    );
  const ob = md.provisioning?.optionBytes;
  if (ob && ob.rdpLevel === 2) throw usageError('station.policy-unsupported', 'The station does not set RDP level 2 (irreversible); set it with `unbrick stm32 ob` on a reviewed unit.');
  if (ob && (ob.borLevel !== undefined || (ob.userBits && Object.keys(ob.userBits).length)))
    throw usageError('station.policy-unsupported', 'The option-byte policy sets BOR or user bits; the station applies RDP and WRP only in this version.');
}

/** Erase units overlapping the policy's WRP ranges. */
export function wrpPagesFor(chip: ChipInfo, policy: OptionBytePolicy): number[] {
  const pages = new Set<number>();
  for (const r of policy.wrp) for (const u of eraseUnits(chip)) if (u.address < r.end && u.address + u.size > r.start) pages.add(u.index);
  return [...pages].sort((a, b) => a - b);
}

export function dataBytes(fields: Record<string, string>, field?: string): Uint8Array {
  if (field !== undefined) {
    const hex = fields[field];
    if (hex === undefined || !/^([0-9a-fA-F]{2})+$/.test(hex)) throw usageError('station.data-field', `The per-unit data field "${field}" must hold hex bytes.`);
    const raw = Buffer.from(hex, 'hex');
    const out = new Uint8Array(Math.ceil(raw.length / 8) * 8).fill(0xff);
    out.set(raw);
    return out;
  }
  const text = new TextEncoder().encode(JSON.stringify(fields));
  // NUL-terminated, padded with erased bytes to a double word (L4/G0 program 8 bytes at a time).
  const out = new Uint8Array(Math.ceil((text.length + 1) / 8) * 8).fill(0xff);
  out.set(text);
  out[text.length] = 0;
  return out;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export function stm32RomRecipe(o: Stm32RomRecipeOptions): Recipe {
  checkStm32Bundle(o.metadata, o);
  const policy = o.metadata.provisioning?.optionBytes ?? { rdpLevel: 0, wrp: [] };
  const segments: (Segment & { name: string; sha256: string })[] = o.metadata.payloads.filter((p) => p.target.kind === 'address').map((p) => {
    const data = o.payloads.get(p.name);
    if (!data || p.target.kind !== 'address') throw usageError('station.payload-missing', `Payload ${p.name} is missing from the bundle.`);
    return { name: p.name, sha256: p.sha256, address: p.target.address, data };
  });
  const connect = o.connect ?? ((handle: unknown, signal: AbortSignal) => openStm32(handle as DeviceHandle, signal));
  return async (ctx) => {
    const link = await ctx.step('connect', () => connect(ctx.port.handle, ctx.signal));
    try {
      let s = link.session;
      // The unit answered its bootloader: whatever fails from here is the unit's, not the port's.
      ctx.note({ chip: s.chip.name, target: 'stm32' });
      const pid = o.metadata.product.mcuProductId;
      if (pid !== undefined && pid !== s.chip.pid)
        throw checkError('station.wrong-chip', `This unit is a ${s.chip.name} (0x${s.chip.pid.toString(16)}); the bundle is for product ID 0x${pid.toString(16)}. Pull it.`);
      const rdp = await ctx.step('identify', () => probeReadout(s));
      if (rdp === 1) {
        if (!o.allowUnprotect)
          throw deviceError('station.unit-protected', 'The unit is readout-protected; lifting it erases the whole flash. Re-run the batch with --allow-unprotect if that is intended.');
        await ctx.step('lift protection', () => readoutUnprotect(s, { signal: ctx.signal }));
        s = link.session;
      }
      const uidAt = (o.uidAddress ?? uidAddress)(s.chip);
      const uid = await ctx.step('read uid', () => readMemory(s, uidAt, 12, { signal: ctx.signal }));
      if (uid.every((b) => b === 0) || uid.every((b) => b === 0xff))
        throw deviceError('station.no-uid', `The unit's unique ID reads as ${hex(uid)}; without it the unit cannot be told apart from others. Check the chip.`);
      ctx.identify({ chipUid: hex(uid), chip: s.chip.name, target: 'stm32', versions: { bootloader: `${s.info.version >> 4}.${s.info.version & 15}`, bundle: o.metadata.version } });
      const before = await readOptionBytes(s, { signal: ctx.signal }).catch(() => undefined);
      if (before?.wrpPages.length) await ctx.step('lift protection', () => writeUnprotect(s));
      await ctx.step('write', () => writeImage(s, segments, { signal: ctx.signal, verify: false }));
      await ctx.step('verify', () => verifyImage(s, segments, { signal: ctx.signal }));
      ctx.note({ hashes: Object.fromEntries(segments.map((x) => [x.name, x.sha256])) });
      const pages = wrpPagesFor(s.chip, policy);
      if (pages.length) await ctx.step('option bytes', () => protectPages(s, pages));
      if (ctx.hasData) {
        if (o.dataAddress === undefined) throw usageError('station.data-address', 'The batch has per-unit data but no --data-address to write it to.');
        const d = await ctx.takeData();
        const block = [{ address: o.dataAddress, data: dataBytes(d.entry.fields, o.dataField) }];
        await ctx.step('per-unit data', () => writeImage(s, block, { signal: ctx.signal, verify: true }));
        ctx.note({ serial: d.entry.fields.serial ?? d.entry.id });
      }
      if (policy.rdpLevel === 1) await ctx.step('readout protection', () => readoutProtect(s));
      const ob = await ctx.step('final check', async () => {
        if (policy.rdpLevel === 1) {
          // At level 1 the option bytes are still readable only on some families; the protection itself is the check.
          if ((await probeReadout(s)) !== 1) throw checkError('station.rdp-not-set', 'Readout protection did not take effect.');
          return undefined;
        }
        const back = await readOptionBytes(s, { signal: ctx.signal });
        if (back.wrpPages.join() !== pages.join()) throw checkError('station.wrp-mismatch', `Write protection reads back as pages ${back.wrpPages.join(',') || 'none'}, expected ${pages.join(',') || 'none'}.`);
        return back;
      });
      ctx.note({ optionBytes: { rdp: `level ${policy.rdpLevel}`, wrp: pages.length ? pages.join(',') : 'none', ...(ob ? Object.fromEntries(Object.entries(ob.words).map(([k, v]) => [k, `0x${v.toString(16)}`])) : {}) } });
      return `Provisioned ${s.chip.name}${ctx.hasData ? '' : ' (no per-unit data)'}.`;
    } finally {
      await link.close().catch(() => {});
    }
  };
}
