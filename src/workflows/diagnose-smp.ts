/**
 * Diagnose over SMP: what MCUboot serial recovery or a Zephyr application
 * lists about its image slots (versions, hashes, flags), matched against the
 * images of the golden and update libraries, as findings. Reads only.
 *
 * MCUboot's serial recovery lists only images that pass their check, so an
 * empty slot and a corrupt image look the same from here; the finding says so.
 */
import type { Diagnosis, Finding, Slot } from '../api/contract.ts';
import * as imageGroup from '../smp/groups/image.ts';
import type { SmpClient } from '../smp/client.ts';

export async function diagnoseSmp(c: SmpClient, kind: 'mcuboot-serial' | 'zephyr-smp', signal: AbortSignal, library: { name: string; imageHash: string }[] = []): Promise<Diagnosis> {
  const listed = await imageGroup.list(c);
  if (signal.aborted) throw new Error('cancelled');
  const findings: Finding[] = [];
  const slots: Slot[] = listed.map((s) => {
    const flags = (['active', 'confirmed', 'pending', 'permanent', 'bootable'] as const).filter((f) => s[f]);
    const match = library.find((g) => g.imageHash === s.hash);
    return { slot: s.slot, image: s.image, version: s.version, hash: s.hash, state: 'valid', flags: [...flags], ...(match ? { golden: match.name } : {}) };
  });
  if (kind === 'mcuboot-serial')
    findings.push({
      severity: 'warning',
      code: 'mcuboot.in-recovery',
      text: 'The unit is in MCUboot serial recovery: it is not running its application.',
      action: 'Recover writes the golden application through serial recovery and restarts the unit.',
    });
  for (const image of new Set([0, ...listed.map((s) => s.image)])) {
    const s0 = slots.find((s) => s.image === image && s.slot === 0);
    const s1 = slots.find((s) => s.image === image && s.slot === 1);
    if (!s0) {
      slots.push({ slot: 0, image, state: kind === 'mcuboot-serial' ? 'empty' : 'unknown', flags: [] });
      findings.push({
        severity: 'critical',
        code: 'slot.no-valid-image',
        text: `Slot 0 holds no valid image${kind === 'mcuboot-serial' ? ' (it is empty, or its image fails its check: serial recovery lists only valid images)' : ''}.`,
        action: 'Run Recover to write the golden application.',
      });
    } else {
      const g = s0.golden ? ` and matches ${s0.golden}` : ' (in neither the golden nor the update library)';
      findings.push({
        severity: s0.golden ? 'ok' : 'info',
        code: 'slot.valid',
        text: `Slot 0 holds image ${s0.version}${s0.flags.includes('confirmed') ? ', confirmed' : ''}${g}.`,
      });
    }
    if (s1?.flags.includes('pending'))
      findings.push({
        severity: 'info',
        code: 'slot.pending-test',
        text: `Slot 1 holds a pending ${s1.flags.includes('permanent') ? 'permanent' : 'test'} image ${s1.version}: MCUboot swaps it in at the next reset${s1.flags.includes('permanent') ? '' : ' and reverts it unless it is confirmed'}.`,
        action: 'Restart the unit to try it, then confirm it if it works (Offline update does both).',
      });
    else if (s1) findings.push({ severity: 'info', code: 'slot.secondary', text: `Slot 1 holds image ${s1.version} (not pending).` });
  }
  slots.sort((a, b) => a.image - b.image || a.slot - b.slot);
  return { at: new Date().toISOString(), findings, slots };
}
