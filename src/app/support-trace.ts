/**
 * The app's "record a wire trace" setting: while on, every link the app opens
 * is recorded (src/transport/trace.ts) to a new file under <dataDir>/traces;
 * a support report can attach the latest one, raw and decoded.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { activeTrace, startTrace, stopTrace } from '../transport/trace.ts';
import { traceAttachment } from '../devices/wire-trace.ts';
import type { TraceAttachment } from '../records/report.ts';

let latest: string | undefined;
/** Largest trace attached to a report: the report travels in one contract message (4 MiB). */
const MAX_ATTACHED = 1 << 20;

export function traceStatus(): { recording: boolean; path?: string } {
  const a = activeTrace();
  return a ? { recording: true, path: a.path } : { recording: false, ...(latest ? { path: latest } : {}) };
}

export function setTraceRecording(dataDir: string, enabled: boolean): { recording: boolean; path?: string } {
  if (enabled && !activeTrace()) {
    const dir = join(dataDir, 'traces');
    mkdirSync(dir, { recursive: true });
    latest = startTrace(join(dir, `trace-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`), 'unbrick app').path;
  } else if (!enabled && activeTrace()) stopTrace();
  return traceStatus();
}

/** The latest trace of this session, for a support report (undefined when none was recorded). */
export function latestTraceAttachment(): TraceAttachment | undefined {
  return latest && existsSync(latest) ? traceAttachment(latest, MAX_ATTACHED) : undefined;
}
