/**
 * The flash map: a unit's flash drawn to scale (nRF Connect Programmer's
 * memory map is the model) — bootloader, slot 0, slot 1, scratch, storage and
 * free space, what each holds (version; valid / erased / corrupt / unknown),
 * write protection as a lock plus hatching, unreadable flash as grey with "?",
 * and, before a write, the bundle's payloads drawn against the unit's layout.
 *
 * Pure (strings in, strings out, no DOM, no Node): it lives in api/ because
 * the renderer may import only api/, and records/ (the per-unit HTML report)
 * may import api/ too, so both draw the same picture from one module.
 * The SVG uses presentation attributes only (no style attributes): the app's
 * Content-Security-Policy allows no inline styles.
 */
import type { Diagnosis, DeviceKind, LibraryEntryView } from './contract.ts';
import { escapeHtml as esc } from '../core/html.ts';

/** 'none': over SMP a slot the unit does not list holds no valid image (empty, or an image that fails its check). */
export type RegionHolds = 'valid' | 'pending' | 'erased' | 'none' | 'corrupt' | 'unknown' | 'free';
export type LockState = 'locked' | 'partly' | 'open' | 'unknown';

export interface MapRegion {
  name: string;
  kind: 'bootloader' | 'slot' | 'scratch' | 'storage' | 'free';
  address: number;
  size: number;
  holds: RegionHolds;
  version?: string;
  lock: LockState;
}

export interface MapSector {
  index: number;
  address: number;
  size: number;
  locked: boolean;
}

/** A bundle payload placed where it goes on the unit, with the version it replaces ("1.2.0 → 1.3.0"). */
export interface MapPayload {
  name: string;
  address: number;
  size: number;
  version?: string;
  from?: string;
}

export interface FlashMapModel {
  title: string;
  base: number;
  size: number;
  /** false: sizes are not known (no layout): regions are drawn equal, and the map says so. */
  toScale: boolean;
  regions: MapRegion[];
  sectors: MapSector[];
  /** false: the sectors' write protection could not be read (drawn grey, not as unprotected). */
  locksKnown?: boolean;
  /** Why the contents are not known (readout protection), when they are not. */
  unreadable?: string;
  bundle?: { title: string; payloads: MapPayload[] };
}

const hex = (n: number) => `0x${n.toString(16).toUpperCase().padStart(8, '0')}`;
const kib = (n: number) => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(n % (1024 * 1024) ? 2 : 0)} MiB` : `${(n / 1024).toFixed(n % 1024 ? 1 : 0)} KiB`);
const cleanVersion = (v: string | undefined) => v?.replace(/\+0$/, '');

const SLOT_HOLDS: Record<NonNullable<Diagnosis['slots']>[number]['state'], RegionHolds> = { valid: 'valid', empty: 'erased', invalid: 'corrupt', unknown: 'unknown' };

/**
 * The map of one unit from its diagnosis. STM32 units: the chip's sectors (to
 * scale, each with its protection) under the product layout; SMP units: the
 * layout from the golden bundle, or the slots the unit lists, drawn equal.
 */
export function flashMapFromDiagnosis(d: Diagnosis, kind: DeviceKind, title = 'Flash'): FlashMapModel | undefined {
  const chip = d.chip;
  const sectors: MapSector[] = (chip?.sectors ?? [])
    .filter((s) => s.address !== undefined && s.size !== undefined)
    .map((s) => ({ index: s.index, address: s.address!, size: s.size!, locked: s.writeProtected }));
  const unreadable = chip && chip.rdp !== '0' ? `Readout protection ${chip.rdp === 'unknown' ? 'state unknown' : `level ${chip.rdp}`}: contents cannot be read` : undefined;
  const slotOf = (n: number) => d.slots?.find((s) => s.image === 0 && s.slot === n);
  const holdsOfSlot = (n: number): { holds: RegionHolds; version?: string } => {
    if (unreadable) return { holds: 'unknown' };
    const s = slotOf(n);
    if (!s) return { holds: kind === 'stm32-rom' ? 'unknown' : 'none' };
    const v = cleanVersion(s.version);
    // Over SMP "empty" means no image listed: empty, or one that fails its check (only an STM32 read sees erased flash).
    const holds = s.state === 'valid' && s.flags.includes('pending') ? 'pending' : s.state === 'empty' && kind !== 'stm32-rom' ? 'none' : SLOT_HOLDS[s.state];
    return { holds, ...(v ? { version: v } : {}) };
  };
  const bootloaderHolds = (): RegionHolds => {
    if (unreadable) return 'unknown';
    if (kind === 'mcuboot-serial' || kind === 'zephyr-smp') return 'valid'; // MCUboot answered, or booted the application
    if (d.findings.some((f) => f.code === 'mcuboot.missing')) return 'erased';
    if (d.findings.some((f) => f.code === 'mcuboot.present')) return 'valid';
    return 'unknown';
  };
  // Without option bytes (not readable) a sector's protection is not known: not drawn as open.
  const locksKnown = !!chip?.optionBytes.length;
  const lockOf = (address: number, size: number): LockState => {
    if (!sectors.length || !locksKnown) return 'unknown';
    const hit = sectors.filter((s) => s.address < address + size && s.address + s.size > address);
    if (!hit.length) return 'unknown';
    const n = hit.filter((s) => s.locked).length;
    return n === 0 ? 'open' : n === hit.length ? 'locked' : 'partly';
  };

  const layout = d.regions ?? [];
  const regions: MapRegion[] = [];
  if (layout.length) {
    for (const r of layout) {
      const slot = /^slot (\d+)$/.exec(r.name);
      const base = { name: r.name, address: r.address, size: r.size, lock: lockOf(r.address, r.size) };
      if (slot) regions.push({ ...base, kind: 'slot', ...holdsOfSlot(Number(slot[1])) });
      else if (r.name === 'bootloader') regions.push({ ...base, name: 'bootloader (MCUboot)', kind: 'bootloader', holds: bootloaderHolds() });
      else regions.push({ ...base, kind: /scratch/.test(r.name) ? 'scratch' : 'storage', holds: 'unknown' });
    }
  }
  // The whole chip when its sectors are known; else the layout's extent.
  const flashStart = sectors.length ? sectors[0]!.address : layout.length ? Math.min(...layout.map((r) => r.address)) : 0;
  const flashEnd = sectors.length ? sectors.at(-1)!.address + sectors.at(-1)!.size : layout.length ? Math.max(...layout.map((r) => r.address + r.size)) : 0;

  if (!layout.length) {
    if (kind === 'stm32-rom' && sectors.length) {
      // No product layout: the chip as one region whose contents are not named.
      regions.push({ name: 'flash (layout unknown)', kind: 'storage', address: flashStart, size: flashEnd - flashStart, holds: 'unknown', lock: lockOf(flashStart, flashEnd - flashStart) });
    } else if (d.slots?.length) {
      // Over SMP without a layout: the slots the unit lists, drawn equal (sizes unknown).
      const unitSize = 1;
      regions.push({ name: 'bootloader (MCUboot)', kind: 'bootloader', address: 0, size: unitSize, holds: bootloaderHolds(), lock: 'unknown' });
      const slots = [...d.slots].filter((s) => s.image === 0).sort((a, b) => a.slot - b.slot);
      slots.forEach((s, i) => regions.push({ name: `slot ${s.slot}`, kind: 'slot', address: (i + 1) * unitSize, size: unitSize, lock: 'unknown', ...holdsOfSlot(s.slot) }));
      return { title, base: 0, size: (slots.length + 1) * unitSize, toScale: false, regions, sectors: [], ...(unreadable ? { unreadable } : {}) };
    } else return undefined;
  }
  // Space no region covers is free (or storage the layout does not name).
  regions.sort((a, b) => a.address - b.address);
  const filled: MapRegion[] = [];
  let at = flashStart;
  for (const r of regions) {
    if (r.address > at) filled.push({ name: 'free', kind: 'free', address: at, size: r.address - at, holds: unreadable ? 'unknown' : 'free', lock: lockOf(at, r.address - at) });
    filled.push(r);
    at = Math.max(at, r.address + r.size);
  }
  if (flashEnd > at) filled.push({ name: 'free', kind: 'free', address: at, size: flashEnd - at, holds: unreadable ? 'unknown' : 'free', lock: lockOf(at, flashEnd - at) });
  return { title, base: flashStart, size: flashEnd - flashStart, toScale: true, regions: filled, sectors, locksKnown, ...(unreadable ? { unreadable } : {}) };
}

/**
 * The bundle's payloads placed against the unit's map: an address target at
 * its address (up to the region it falls in), an SMP image target on that
 * image's slot (slot 1 for an update, slot 0 for a golden image).
 */
export function withBundle(m: FlashMapModel, entry: LibraryEntryView, only?: 'address' | 'smp'): FlashMapModel {
  const payloads: MapPayload[] = [];
  const slot0 = m.regions.find((r) => r.name === 'slot 0');
  const was = (r: MapRegion | undefined) => (r ? (r.version ?? (r.holds === 'valid' ? undefined : HOLDS_WORDS[r.holds])) : undefined);
  for (const p of entry.payloads) {
    const addr = /^address:(0x[0-9a-f]+)$/i.exec(p.target);
    const smp = /^smp:image(\d+)$/.exec(p.target);
    if ((only === 'address' && !addr) || (only === 'smp' && !smp)) continue;
    let region: MapRegion | undefined;
    let address: number | undefined;
    if (addr) {
      address = Number(addr[1]);
      region = m.regions.find((r) => r.address <= address! && address! < r.address + r.size);
    } else if (smp) {
      const slotName = entry.kind === 'update' ? 'slot 1' : 'slot 0';
      region = m.regions.find((r) => r.name === slotName) ?? slot0;
      address = region?.address;
    }
    if (address === undefined || !region) continue;
    const v = cleanVersion(p.version);
    // An update replaces what runs (slot 0's version); anything else replaces what the region holds now.
    const from = smp && entry.kind === 'update' ? slot0?.version : was(region);
    payloads.push({ name: p.name, address, size: region.address + region.size - address, ...(v ? { version: v } : {}), ...(from ? { from } : {}) });
  }
  return { ...m, bundle: { title: `${entry.kind === 'golden' ? 'Golden' : 'Update'} bundle ${entry.product} ${cleanVersion(entry.version)}`, payloads } };
}

// ---- drawing ----------------------------------------------------------------------

/** Fills with dark text on them (contrast over 7:1 for #1d2430); the state is also written, never colour alone. */
const FILL: Record<RegionHolds, string> = {
  valid: '#d3ecdb',
  pending: '#dbe7fb',
  erased: '#ffffff',
  none: '#ffffff',
  corrupt: '#f9d3cf',
  unknown: '#c9ced6',
  free: '#f3f4f6',
};
const STROKE: Record<RegionHolds, string> = {
  valid: '#1a7f37',
  pending: '#1f6feb',
  erased: '#57606a',
  none: '#57606a',
  corrupt: '#b42318',
  unknown: '#57606a',
  free: '#8c959f',
};
export const HOLDS_WORDS: Record<RegionHolds, string> = {
  valid: 'valid image',
  pending: 'image pending test',
  erased: 'erased',
  none: 'no valid image',
  corrupt: 'corrupt',
  unknown: 'unknown',
  free: 'free',
};
const LOCK_WORDS: Record<LockState, string> = { locked: 'write-protected', partly: 'partly write-protected', open: 'not protected', unknown: 'protection not known' };


function lockIcon(x: number, y: number): string {
  // A padlock: shackle (arc) over a body (rect), 10 x 12.
  return `<g class="fm-lock" aria-hidden="true"><path d="M${x + 2.5} ${y + 6} v-2.5 a2.5 2.5 0 0 1 5 0 v2.5" fill="none" stroke="#1d2430" stroke-width="1.5"/><rect x="${x + 1}" y="${y + 6}" width="8" height="6" rx="1" fill="#1d2430"/></g>`;
}

export interface RenderOptions {
  /** Unique per page: the hatch pattern's id. */
  idPrefix?: string;
  width?: number;
}

/** The map as an HTML string: an SVG drawn to scale and a table saying the same in words. */
export function renderFlashMap(m: FlashMapModel, opts: RenderOptions = {}): string {
  const W = opts.width ?? 760;
  const id = (opts.idPrefix ?? 'fm').replace(/[^A-Za-z0-9_-]/g, '');
  const pad = 4;
  const inner = W - 2 * pad;
  const xOf = (a: number) => pad + ((a - m.base) / m.size) * inner;
  const wOf = (s: number) => Math.max(1, (s / m.size) * inner);
  const barY = 18;
  const barH = 56;
  const secY = barY + barH + 4;
  const secH = m.sectors.length ? 12 : 0;
  const axisY = secY + secH + 14;
  const bundleY = axisY + 10;
  const bundleH = m.bundle ? 40 : 0;
  const H = bundleY + (m.bundle ? bundleH + 18 : 0) + 2;
  const parts: string[] = [];
  parts.push(
    `<defs><pattern id="${id}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#1d2430" stroke-width="1.5" stroke-opacity="0.55"/></pattern></defs>`,
  );
  parts.push(`<text x="${pad}" y="12" font-size="11" fill="#1d2430">Unit: ${esc(m.title)}${m.toScale ? '' : ' (sizes not known: drawn equal)'}</text>`);
  m.regions.forEach((r, i) => {
    const x = xOf(r.address);
    const w = wOf(r.size);
    const label = `${r.name}: ${HOLDS_WORDS[r.holds]}${r.version ? ` ${r.version}` : ''}`;
    parts.push(
      `<g class="fm-region" data-region="${esc(r.name)}" data-holds="${r.holds}" data-lock="${r.lock}"><title>${esc(`${label}; ${LOCK_WORDS[r.lock]}${m.toScale ? `; ${hex(r.address)}, ${kib(r.size)}` : ''}`)}</title>` +
        `<rect x="${x.toFixed(1)}" y="${barY}" width="${w.toFixed(1)}" height="${barH}" fill="${FILL[r.holds]}" stroke="${STROKE[r.holds]}" stroke-width="1"${r.holds === 'erased' || r.holds === 'none' || r.holds === 'free' ? ' stroke-dasharray="3 2"' : ''}/>` +
        (r.lock === 'locked' || r.lock === 'partly' ? `<rect x="${x.toFixed(1)}" y="${barY}" width="${w.toFixed(1)}" height="${barH}" fill="url(#${id}-hatch)"/>` : '') +
        (r.lock === 'locked' || r.lock === 'partly' ? lockIcon(x + w - 13, barY + 3) : ''),
    );
    // Words inside when they fit; else the region's number, explained in the table below.
    const fits = w > 78;
    if (fits) {
      parts.push(`<text x="${(x + 5).toFixed(1)}" y="${barY + 16}" font-size="11" font-weight="600" fill="#1d2430">${esc(r.name)}</text>`);
      parts.push(`<text x="${(x + 5).toFixed(1)}" y="${barY + 31}" font-size="11" fill="#1d2430">${esc(r.holds === 'unknown' ? '? unknown' : HOLDS_WORDS[r.holds])}${r.version ? ` ${esc(r.version)}` : ''}</text>`);
      if (m.toScale) parts.push(`<text x="${(x + 5).toFixed(1)}" y="${barY + 46}" font-size="10" fill="#3b4554">${kib(r.size)}</text>`);
    } else {
      parts.push(`<text x="${(x + w / 2).toFixed(1)}" y="${barY + 34}" font-size="11" text-anchor="middle" fill="#1d2430">${r.holds === 'unknown' ? '?' : i + 1}</text>`);
    }
    parts.push('</g>');
  });
  // Erase units, to scale, protected ones hatched: F4-class sectors of 16, 64 and 128 KiB look different.
  for (const s of m.sectors) {
    const x = xOf(s.address);
    const w = wOf(s.size);
    parts.push(
      `<rect class="fm-sector" data-index="${s.index}" data-locked="${s.locked}" x="${x.toFixed(2)}" y="${secY}" width="${w.toFixed(2)}" height="${secH}" fill="${m.locksKnown === false ? FILL.unknown : s.locked ? `url(#${id}-hatch)` : '#ffffff'}" stroke="#8c959f" stroke-width="0.5"><title>sector ${s.index}: ${hex(s.address)}, ${kib(s.size)}${m.locksKnown === false ? ', protection not known' : s.locked ? ', write-protected' : ''}</title></rect>`,
    );
  }
  if (m.toScale) {
    parts.push(`<text x="${pad}" y="${axisY}" font-size="10" fill="#3b4554">${hex(m.base)}</text>`);
    parts.push(`<text x="${W - pad}" y="${axisY}" font-size="10" text-anchor="end" fill="#3b4554">${hex(m.base + m.size)}</text>`);
  }
  if (m.bundle) {
    parts.push(`<text x="${pad}" y="${bundleY + 2}" font-size="11" fill="#1d2430">Writes: ${esc(m.bundle.title)}</text>`);
    for (const p of m.bundle.payloads) {
      const x = xOf(p.address);
      const w = wOf(p.size);
      const words = `${p.name}${p.version ? ` ${p.from && p.from !== p.version ? `${p.from} → ${p.version}` : p.version}` : ''}`;
      parts.push(
        `<g class="fm-payload"><title>${esc(words)}</title><rect x="${x.toFixed(1)}" y="${bundleY + 8}" width="${w.toFixed(1)}" height="${bundleH - 8}" fill="#eef2ff" stroke="#4338ca" stroke-width="1.5"/>` +
          `<text x="${(x + 4).toFixed(1)}" y="${bundleY + 28}" font-size="11" fill="#1d2430">${esc(w > 90 ? words : '↓')}</text></g>`,
      );
    }
  }
  const svg = `<svg class="flash-map-svg" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${esc(`Flash map of ${m.title}`)}" xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`;
  const rows = m.regions
    .map(
      (r, i) =>
        `<tr data-region="${esc(r.name)}"><td>${i + 1}</td><td>${esc(r.name)}</td><td>${m.toScale ? `${hex(r.address)}` : '—'}</td><td>${m.toScale ? kib(r.size) : '—'}</td>` +
        `<td class="holds-${r.holds}">${r.holds === 'unknown' ? '? ' : ''}${HOLDS_WORDS[r.holds]}${r.version ? ` ${esc(r.version)}` : ''}</td><td>${r.lock === 'locked' || r.lock === 'partly' ? '<strong>Locked:</strong> ' : ''}${LOCK_WORDS[r.lock]}</td></tr>`,
    )
    .join('');
  const payloadRows = m.bundle
    ? `<p class="fm-writes"><strong>${esc(m.bundle.title)} writes:</strong> ${m.bundle.payloads
        .map((p) => `${esc(p.name)} at ${hex(p.address)}${p.version ? ` (${p.from && p.from !== p.version ? `${esc(p.from)} → ${esc(p.version)}` : esc(p.version)})` : ''}`)
        .join('; ')}</p>`
    : '';
  return (
    `<figure class="flash-map" data-testid="flash-map">${svg}` +
    (m.unreadable ? `<p class="fm-unreadable">? ${esc(m.unreadable)}: drawn grey.</p>` : '') +
    `<table class="fm-table"><thead><tr><th>#</th><th>Region</th><th>Start</th><th>Size</th><th>Holds</th><th>Write protection</th></tr></thead><tbody>${rows}</tbody></table>${payloadRows}</figure>`
  );
}
