/**
 * Detect: identify what answers on a device's link (MCUboot serial recovery, a
 * Zephyr SMP application, an STM32 ROM bootloader, or nothing known) without
 * changing anything on it. Each probe only asks questions its protocol
 * answers harmlessly; see probes.ts.
 */
import type { DeviceRegistry } from '../devices/registry.ts';
import type { JobDefinition } from './job.ts';
import { UnbrickError } from '../core/errors.ts';
import { type Identification, type Probe, PROBES } from '../devices/probes.ts';

export interface DetectState {
  found?: Identification;
  tried: string[];
  /** Why the link could not be used at all (unplugged, no simulator, port busy). */
  unreachable?: string;
}

export function detectJob(registry: DeviceRegistry, deviceId: string, probes: Probe[] = PROBES): JobDefinition<DetectState> {
  const device = () => registry.get(deviceId).handle;
  return {
    workflow: 'detect',
    deviceId,
    state: { tried: [] },
    steps: [
      {
        id: 'probe',
        title: 'Ask the device what it is',
        async run(ctx) {
          if (probes.length === 0) {
            // No protocol client in this build yet: say so rather than guess.
            ctx.log('No identification probes are available in this build.', 'warn');
            return { skipped: 'No protocol probes in this build yet.' };
          }
          for (const probe of probes) {
            ctx.log(`Trying ${probe.name}…`);
            ctx.state.tried.push(probe.name);
            let found;
            try {
              found = await probe.identify(device(), ctx.signal);
            } catch (e) {
              // A link that cannot be opened answers no probe: say why, once.
              if (e instanceof UnbrickError && (e.code.startsWith('lab.') || e.code === 'io.open-failed')) ctx.state.unreachable = e.message;
              throw e;
            }
            if (found) {
              ctx.state.found = found;
              ctx.log(`Answered as ${found.summary}.`);
              return;
            }
          }
        },
      },
    ],
    result: (state) => ({ summary: state.found ? `Identified: ${state.found.summary}.` : notFound(state) }),
    learned: (state) =>
      state.found ? { kind: state.found.kind, summary: state.found.summary, learned: state.found.identity } : { kind: 'unknown', summary: notFound(state) },
  };
}

function notFound(state: DetectState): string {
  return state.unreachable
    ? `Cannot reach it: ${state.unreachable}`
    : state.tried.length === 0
      ? 'Not identified: this build has no protocol probes yet.'
      : `Nothing known answered (tried ${state.tried.join(', ')}).`;
}
