/**
 * Diagnose through the STM32 ROM bootloader: chip and bootloader identity,
 * readout protection, write protection and the other option bytes, and (with
 * RDP level 0) the MCUboot region and image slots read straight from flash
 * using the product's partition layout. Reads only: nothing is written.
 */
import type { Chip, Diagnosis, Finding, Slot } from '../api/contract.ts';
import { decodeImage, verifyImage, versionString } from '../formats/mcuboot/index.ts';
import { codecFor, formatRuns, type OptionBytes } from '../stm32/option-bytes/index.ts';
import { eraseUnits, unitsCovering } from '../stm32/chips/index.ts';
import { probeReadout, readMemory, readOptionBytes } from '../stm32/operations.ts';
import type { Stm32Session } from '../stm32/session.ts';
import { readChipUid } from '../devices/identity.ts';
import type { FlashLayout, FlashRegion } from '../formats/bundle/metadata.ts';
import type { KnownLayout } from './firmware.ts';
import type { StepContext } from './job.ts';


export interface Stm32Findings {
  diagnosis: Diagnosis;
  rdp: 0 | 1 | 2 | 'unknown';
  wrpPages: number[];
  bootloaderPresent: boolean | undefined;
}

const hex = (n: number, w = 2) => `0x${n.toString(16).padStart(w, '0')}`;

const sectorsOf = (s: Stm32Session, r: FlashRegion | undefined) => (r ? unitsCovering(s.chip, r.address, r.size).map((u) => u.index) : []);

function chipView(s: Stm32Session, rdp: Chip['rdp'], ob: OptionBytes | undefined, layout: FlashLayout | undefined): Chip {
  const named = layout ? ([['MCUboot', layout.mcuboot], ['slot 0', layout.slot0], ['slot 1', layout.slot1]] as const).map(([n, r]) => [n, sectorsOf(s, r)] as const) : [];
  const label = (i: number) => named.find(([, sectors]) => sectors.includes(i))?.[0];
  const sectors = eraseUnits(s.chip).map((u) => {
    const l = label(u.index);
    return { index: u.index, writeProtected: ob ? ob.wrpPages.includes(u.index) : false, ...(l ? { label: l } : {}), address: u.address, size: u.size };
  });
  const optionBytes = ob
    ? [
        { name: 'RDP', value: hex(ob.rdp.raw), meaning: ob.rdp.level === 0 ? 'level 0: no readout protection' : `level ${ob.rdp.level}` },
        { name: 'WRP', value: ob.wrpPages.length ? formatRuns(ob.wrpPages) : 'none', meaning: 'write-protected sectors' },
        ...codecFor(s.chip)
          .userFields(s.chip)
          .map((f) => ({ name: f.name, value: String(ob.user[f.name] ?? '?'), meaning: f.meaning.slice(0, 400) })),
      ]
    : [];
  const v = s.info.version;
  return {
    name: s.chip.name,
    productId: hex(s.info.pid, 3),
    bootloaderVersion: `${v >> 4}.${v & 0xf}`,
    flashKiB: Math.round(s.chip.flash.size / 1024),
    rdp,
    sectors,
    optionBytes,
  };
}

async function readSlot(s: Stm32Session, slot: number, p: FlashRegion, signal: AbortSignal): Promise<{ view: Slot; finding: Finding }> {
  const head = await readMemory(s, p.address, 32, { signal });
  const decodedHead = decodeImage(head);
  if (head.every((b) => b === 0xff)) {
    return {
      view: { slot, image: 0, state: 'empty', flags: [] },
      finding:
        slot === 0
          ? { severity: 'critical', code: 'slot.empty', text: 'Slot 0 holds no image.', action: 'Run Full unbrick (or Recover once MCUboot runs) to write the golden application.' }
          : { severity: 'info', code: 'slot.empty', text: 'Slot 1 is empty (no update waiting).' },
    };
  }
  const h = decodedHead.header;
  if (!h || h.magic !== 0x96f3b83d) {
    return {
      view: { slot, image: 0, state: 'invalid', flags: [] },
      finding: { severity: slot === 0 ? 'critical' : 'warning', code: 'slot.no-image', text: `Slot ${slot} holds data that is not an MCUboot image.`, action: 'Rewrite it from the golden bundle.' },
    };
  }
  // Header, payload and TLV area: the TLV info tells the area's size.
  const tlvAt = h.hdrSize + h.imgSize;
  const len = Math.min(p.size, tlvAt + 4);
  const readAll = async () => {
    let bytes = await readMemory(s, p.address, len, { signal });
    if (bytes.length >= tlvAt + 4) {
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      let total = tlvAt;
      if (dv.getUint16(tlvAt, true) === 0x6908) total += dv.getUint16(tlvAt + 2, true);
      const extra = Math.min(p.size, total + 4 + 2048) - bytes.length;
      if (extra > 0) bytes = Buffer.concat([bytes, await readMemory(s, p.address + bytes.length, extra, { signal })]);
    }
    return bytes;
  };
  // Read Memory data carries no checksum: an image that fails its check is read again before
  // it is called invalid, so a flipped bit on a noisy line does not condemn a good image. A
  // large image rarely reads clean twice on such a line, so the second read only settles the
  // blocks where the two reads differ.
  let bytes = await readAll();
  let v = verifyImage(bytes);
  if (!v.valid) {
    bytes = await settleReads(bytes, await readMemory(s, p.address, bytes.length, { signal }), (at, n) => readMemory(s, p.address + at, n, { signal }));
    v = verifyImage(bytes);
  }
  const version = versionString(h.version).replace(/\+0$/, '');
  const view: Slot = { slot, image: 0, version, state: v.valid ? 'valid' : 'invalid', flags: [], ...(v.hash ? { hash: v.hash } : {}) };
  return {
    view,
    finding: v.valid
      ? { severity: 'ok', code: 'slot.valid', text: `Slot ${slot} holds a valid image ${version} (hash checked).` }
      : {
          severity: slot === 0 ? 'critical' : 'warning',
          code: 'slot.invalid',
          text: `Slot ${slot} holds image ${version}, but it fails its check: ${v.reason ?? 'unknown reason'}.`,
          action: 'Rewrite it from the golden bundle.',
        },
  };
}

const READ_BLOCK = 256;

/**
 * Two reads of the same flash, merged block by block: where they agree the
 * block stands; where they differ, it is read again until a read matches one
 * of the earlier ones (two reads agreeing), up to three more times.
 */
async function settleReads(a: Uint8Array, b: Uint8Array, reread: (at: number, n: number) => Promise<Uint8Array>): Promise<Uint8Array> {
  const out = Uint8Array.from(b);
  for (let at = 0; at < a.length; at += READ_BLOCK) {
    const n = Math.min(READ_BLOCK, a.length - at);
    const seen = [a.subarray(at, at + n), b.subarray(at, at + n)];
    if (Buffer.compare(seen[0]!, seen[1]!) === 0) continue;
    for (let i = 0; i < 3; i++) {
      const again = await reread(at, n);
      const agreed = seen.find((x) => Buffer.compare(x, again) === 0);
      if (agreed) {
        out.set(agreed, at);
        break;
      }
      seen.push(again);
    }
  }
  return out;
}

/**
 * Reads what the ROM bootloader lets through. Without the product's layout
 * (no golden bundle for this chip gives one) the chip and its protection are
 * still reported, but MCUboot and the slots are not looked for: reading
 * guessed addresses would give findings about the wrong bytes.
 */
export async function diagnoseStm32(
  s: Stm32Session,
  ctx: Pick<StepContext<unknown>, 'signal' | 'log'>,
  known: KnownLayout | undefined,
  library: { name: string; imageHash: string }[] = [],
): Promise<Stm32Findings> {
  const layout = known?.layout;
  const findings: Finding[] = [];
  const rdp = await probeReadout(s);
  let ob: OptionBytes | undefined;
  let bootloaderPresent: boolean | undefined;
  const slots: Slot[] = [];
  if (rdp !== 0) {
    findings.push({
      severity: 'critical',
      code: 'stm32.rdp-1',
      text: 'Readout protection is at level 1: flash and option bytes cannot be read, so the bootloader and images cannot be checked.',
      action: 'Full unbrick can remove readout protection, which erases the whole chip, then restore MCUboot and the application from the golden bundle.',
    });
  } else {
    ctx.log('Reading option bytes…');
    ob = await readOptionBytes(s, { signal: ctx.signal });
    findings.push({ severity: 'ok', code: 'stm32.rdp-0', text: 'Readout protection is off (level 0): flash can be read and checked.' });
  }
  if (rdp === 0 && !layout)
    findings.push({
      severity: 'info',
      code: 'layout.unknown',
      text: `No golden bundle in the library gives the flash layout of a product on this chip (${s.chip.name}), so MCUboot and the image slots were not looked for.`,
      action: "Import the product's golden bundle, then diagnose again.",
    });
  if (rdp === 0 && layout) {
    ctx.log(`Flash layout from the ${known!.source}.`);
    const blSectors = sectorsOf(s, layout.mcuboot);
    const protectedBl = blSectors.filter((i) => ob!.wrpPages.includes(i));
    const units = s.chip.flash.layout === 'sectors' ? 'sectors' : 'pages';
    ctx.log('Reading the bootloader region…');
    const bl = await readMemory(s, layout.mcuboot.address, Math.min(1024, layout.mcuboot.size), { signal: ctx.signal });
    bootloaderPresent = !bl.every((b) => b === 0xff);
    if (!bootloaderPresent)
      findings.push({
        severity: 'critical',
        code: 'mcuboot.missing',
        text: `MCUboot is missing: the bootloader ${units} are erased, so the unit cannot start.`,
        action: 'Run Full unbrick to write MCUboot and the application from the golden bundle.',
      });
    else findings.push({ severity: 'ok', code: 'mcuboot.present', text: `The bootloader ${units} hold a bootloader.` });
    if (protectedBl.length === blSectors.length)
      findings.push({
        severity: bootloaderPresent ? 'info' : 'warning',
        code: 'stm32.bootloader-wrp',
        text: `Bootloader ${units} are write-protected (${units} ${formatRuns(protectedBl)})${bootloaderPresent ? ', as the product ships.' : ': they must be unprotected before MCUboot can be written again.'}`,
        ...(bootloaderPresent ? {} : { action: 'Full unbrick lifts the protection, writes MCUboot, and restores the protection afterwards.' }),
      });
    else if (protectedBl.length === 0)
      findings.push({ severity: 'warning', code: 'stm32.bootloader-unprotected', text: `The bootloader ${units} are not write-protected (the product ships them protected).`, action: 'Full unbrick restores the protection policy.' });
    for (const [i, p] of [layout.slot0, layout.slot1].entries()) {
      if (!p) continue;
      ctx.log(`Reading slot ${i} header…`);
      const r = await readSlot(s, i, p, ctx.signal);
      const match = r.view.state === 'valid' ? library.find((g) => g.imageHash === r.view.hash) : undefined;
      if (match) {
        r.view.golden = match.name;
        r.finding.text = r.finding.text.replace(/\.$/, `, and matches ${match.name}.`);
      }
      slots.push(r.view);
      findings.push(r.finding);
    }
  }
  const rdpView: Chip['rdp'] = rdp === 0 ? '0' : rdp === 1 ? '1' : 'unknown';
  // The unit's name in the service log (devices/identity.ts); readout protection hides it.
  const uid = rdp === 0 ? await readChipUid(s, ctx.signal) : undefined;
  return {
    diagnosis: { at: new Date().toISOString(), findings, ...(slots.length ? { slots } : {}), chip: { ...chipView(s, rdpView, ob, layout), ...(uid ? { uid } : {}) } },
    rdp: rdp === 0.5 ? 1 : rdp,
    wrpPages: ob?.wrpPages ?? [],
    bootloaderPresent,
  };
}
