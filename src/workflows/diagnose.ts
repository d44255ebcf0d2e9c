/**
 * Diagnose: read everything the device will tell and turn it into findings in
 * plain words with a severity. Changes nothing on the device. Which reader
 * runs depends on what detect found: the STM32 ROM bootloader (flash read
 * straight through it) or SMP (MCUboot serial recovery, a Zephyr application).
 */
import type { Diagnosis, DeviceKind } from '../api/contract.ts';
import { flashMapFromDiagnosis } from '../api/flash-map.ts';
import type { Json } from '../core/schema.ts';
import type { FlashLayout } from '../formats/bundle/metadata.ts';
import type { DeviceRegistry } from '../devices/registry.ts';
import { linkPerRun, type JobDefinition } from './job.ts';
import { openStm32 } from '../devices/stm32-link.ts';
import { diagnoseStm32 } from './diagnose-stm32.ts';
import { diagnoseSmp } from './diagnose-smp.ts';
import { openSmp } from '../devices/smp-link.ts';
import { firmwareSource, layoutForStm32, libraryImages } from './firmware.ts';

export interface DiagnoseState {
  diagnosis?: Diagnosis;
  /** What the unit answered as when it was diagnosed (the flash map is drawn for that kind). */
  kind?: DeviceKind;
}

/** The product's flash layout beside the findings, for the flash map (bootloader, slot 0, slot 1). */
function withLayout(d: Diagnosis, known: { layout: FlashLayout; source: string } | undefined): Diagnosis {
  if (!known) return d;
  const { mcuboot, slot0, slot1 } = known.layout;
  const regions = [{ name: 'bootloader', ...mcuboot }, { name: 'slot 0', ...slot0 }, ...(slot1 ? [{ name: 'slot 1', ...slot1 }] : [])];
  return { ...d, regions, layoutSource: known.source.slice(0, 300) };
}

export function diagnoseJob(registry: DeviceRegistry, deviceId: string, dataDir?: string): JobDefinition<DiagnoseState> {
  const entry = () => registry.get(deviceId);
  // The STM32 link of this run: opened by connect, closed by read (and on failure or cancel).
  const stm32 = linkPerRun((signal) => openStm32(entry().handle, signal));
  return {
    workflow: 'diagnose',
    deviceId,
    state: {},
    precheck() {
      const e = entry();
      if (e.kind === 'identifying') return 'The device is still being identified. Wait a moment, then diagnose it.';
      if (e.kind === 'unknown') return `Unbrick does not know what this device is (${e.summary}). Check the cable and power, run Detect again, then diagnose.`;
      return undefined;
    },
    steps: stm32.wrap([
      {
        id: 'connect',
        title: 'Connect to the device',
        async run(ctx) {
          const e = entry();
          ctx.state.kind = e.kind;
          if (e.kind === 'mcuboot-serial' || e.kind === 'zephyr-smp') {
            const smp = await openSmp(e.handle);
            try {
              const src = dataDir ? await firmwareSource(e.handle, dataDir) : undefined;
              const library = src ? libraryImages(src.dir) : [];
              const known = src ? await layoutForStm32(src, undefined) : undefined;
              ctx.state.diagnosis = withLayout(await diagnoseSmp(smp.client, e.kind, ctx.signal, library), known);
            } finally {
              await smp.close();
            }
            return;
          }
          const link = await stm32.get(ctx.signal);
          ctx.log(`Connected: ${link.session.chip.name}, bootloader v${link.session.info.version >> 4}.${link.session.info.version & 0xf}.`);
        },
      },
      {
        id: 'read',
        title: 'Read slots, protection and option bytes',
        async run(ctx) {
          if (ctx.state.diagnosis) return; // an SMP device told everything while connecting
          const link = await stm32.get(ctx.signal);
          try {
            const src = dataDir ? await firmwareSource(entry().handle, dataDir) : undefined;
            const known = src ? await layoutForStm32(src, link.session.info.pid) : undefined;
            const r = await diagnoseStm32(link.session, ctx, known, src ? libraryImages(src.dir) : []);
            ctx.state.diagnosis = withLayout(r.diagnosis, known);
          } finally {
            await stm32.drop();
          }
        },
      },
    ]),
    // The device list gets the diagnosis when the job ends (a partial one too), not from inside a step.
    learned: (state) => (state.diagnosis ? { diagnosis: state.diagnosis } : undefined),
    // The flash map goes on the record (regions, what each holds, their locks; not every sector), so the
    // per-unit report draws the same picture (renderFlashMap in api/flash-map.ts) without the unit.
    record(state) {
      const m = state.diagnosis && state.kind ? flashMapFromDiagnosis(state.diagnosis, state.kind) : undefined;
      return m ? { facts: { flashMap: JSON.parse(JSON.stringify({ ...m, sectors: [] })) as Json } } : {};
    },
    result(state) {
      const d = state.diagnosis;
      if (!d) return { summary: 'No diagnosis.' };
      const worst = d.findings.filter((f) => f.severity === 'critical').length;
      return {
        summary: worst ? `${worst} critical finding${worst > 1 ? 's' : ''}: ${d.findings.find((f) => f.severity === 'critical')!.text}` : 'No critical findings.',
        findings: d.findings,
      };
    },
  };
}
