/**
 * Verifying a bundle against this laptop: trust store, anti-rollback state and
 * clock together. `checkBundle` only reads; with `record: true` an accepted
 * update or provisioning bundle raises the anti-rollback floor (call it once
 * the unit was actually flashed). Nothing is written when verification fails.
 */
import { dataDir } from '../core/paths.ts';
import { verifyMcubootPayload } from '../formats/bundle/image-check.ts';
import { verifyBundle, type DeviceIdentity, type ImageVerifier, type VerifyReport } from '../formats/bundle/verify.ts';
import { decideTime, type ClockDecision } from './clock.ts';
import { floorFor, loadRollbackState, raiseFloor, saveRollbackState } from './rollback-state.ts';
import { TrustStore } from './store.ts';

export interface CheckOptions {
  dir?: string;
  device?: DeviceIdentity;
  /** See VerifyOptions.skipHardwareCheck; the caller records the choice in the service log. */
  skipHardwareCheck?: boolean;
  /** The laptop clock (ms); defaults to Date.now(). */
  clock?: number;
  record?: boolean;
  /** Receives plain-words notes such as the clock decision. */
  log?: (line: string) => void;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  verifyImage?: ImageVerifier;
}

export interface CheckResult {
  report: VerifyReport;
  clock: ClockDecision;
  recorded: boolean;
}

export async function checkBundle(path: string, opts: CheckOptions = {}): Promise<CheckResult> {
  const dir = opts.dir ?? dataDir();
  const store = TrustStore.load(dir);
  const state = loadRollbackState(dir);
  const clockNow = opts.clock ?? Date.now();
  const lastSeen = state.lastSeenTime ? Date.parse(state.lastSeenTime) : undefined;
  let clock: ClockDecision | undefined;
  const report = await verifyBundle(path, {
    trust: store.view(),
    time: (created) => {
      clock = decideTime(clockNow, created, lastSeen);
      if (!clock.reliable) opts.log?.(clock.message);
      return clock.effective;
    },
    device: opts.device,
    skipHardwareCheck: opts.skipHardwareCheck,
    verifyImage: opts.verifyImage ?? verifyMcubootPayload,
    signal: opts.signal,
    onProgress: opts.onProgress,
    floorFor: (md) => floorFor(state, md),
  });
  let recorded = false;
  if (opts.record) {
    // Re-read right before writing so a record made meanwhile by another process is kept.
    saveRollbackState(raiseFloor(loadRollbackState(dir), report.metadata, clock!.effective), dir);
    recorded = true;
  }
  return { report, clock: clock!, recorded };
}
