/**
 * Image upload over SMP (group 1, id 1) sized to the device's real limits.
 *
 * - Chunk size comes from MCUmgr params when offered (packet <= buf_size - 4:
 *   MCUboot accepts buf_size + 1 decoded bytes, Zephyr's netbuf holds
 *   buf_size including length and CRC). Without params, a one-shot probe
 *   checks that a 1024-byte buffer really takes a full frame (a too-large
 *   frame is dropped silently), else 512 is assumed. Never guess high.
 * - Every chunk continues from the `off` the device returned, never from our
 *   own count (MCUboot ignores wrong offsets and answers the one it expects).
 * - Data is cut to the write alignment except the last chunk.
 * - How the frames go out (lines per frame, frames in flight, idle line time
 *   between lines) is learned as the upload runs (link-learner.ts): a frame
 *   that gets no answer is called lost after a short timeout sized from the
 *   answers seen so far, and the next frames go more cautiously; runs of
 *   answers bring the faster framing back. The window is drained and
 *   restarted on any surprise. No front end sets any of this.
 * - Silence (cable cut, reboot) is retried, at the most cautious framing,
 *   until `stallTimeoutMs` passes without progress; a device that lost its upload state answers `off` 0
 *   and the upload restarts, and a Zephyr device that kept it resumes from
 *   its offset when given the same length and sha.
 * - Afterwards the device's image list must show the image's hash TLV.
 */
import { digest } from '../crypto/hash.ts';
import { deviceError, throwIfAborted, UnbrickError } from '../core/errors.ts';
import { ProgressMeter, type ProgressListener } from '../core/progress.ts';
import { imageHash } from '../formats/mcuboot/index.ts';
import type { SmpAnswer, SmpClient } from './client.ts';
import { encodeCbor, type CborValue } from './cbor.ts';
import { answerError } from './errors.ts';
import { params } from './groups/os.ts';
import { list } from './groups/image.ts';
import { HEADER_SIZE } from './header.ts';
import { smpRequest, type RequestOf } from './messages.ts';
import { LinkLearner, type LinkReport } from './link-learner.ts';

export interface UploadPlan {
  /** Largest SMP packet (header + CBOR) the device takes. */
  maxPacket: number;
  window: number;
  source: 'params' | 'probe' | 'default' | 'given';
  /** How long the device took to answer the planning request (ms, wire time included). */
  answerMs?: number;
  /** When that answer's first byte came (host clock): a first sample of the device's timing. */
  arrivedAt?: number;
}

export interface UploadOptions {
  /** Image number (multi-image MCUboot, or a direct-upload slot id). */
  image?: number;
  plan?: Partial<UploadPlan>;
  alignment?: number;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  /** Keep retrying a silent device this long before giving up (ms). */
  stallTimeoutMs?: number;
  /** Skip checking the device's image list afterwards. */
  noVerify?: boolean;
  /**
   * Continue this same upload from here (the offset in a previous
   * `smp.upload-stalled` error): the device answers with the offset it
   * really has, or 0 if it lost its upload state.
   */
  resumeFrom?: number;
}

export interface UploadResult {
  bytes: number;
  /** Image bytes put on the wire, resends included. */
  bytesSent: number;
  seconds: number;
  /** The image's hash TLV (hex). */
  hash: string;
  /** The hash the device lists afterwards (hex), when found. */
  reportedHash?: string;
  /** Zephyr's SHA-256 check of the received data, when the device reports it. */
  match?: boolean;
  restarts: number;
  /** Where the device took the upload up again (a Zephyr device that kept an earlier one by length and sha). */
  resumedAt?: number;
  plan: UploadPlan;
  /** What the upload learned about the link: the framing it ended on and the frames lost on the way. */
  link: LinkReport;
}

/** Finds the device's limits (params, else a verified probe, else the safe default). */
export async function planUpload(c: SmpClient, given: Partial<UploadPlan> = {}): Promise<UploadPlan> {
  if (given.maxPacket && given.window) return { maxPacket: given.maxPacket, window: given.window, source: 'given' };
  let p;
  const t0 = performance.now();
  let arrivedAt: number | undefined;
  try {
    p = await params(c, 1);
    arrivedAt = c.lastArrivedAt;
  } catch (e) {
    if (!(e instanceof UnbrickError) || e.code !== 'smp.timeout') throw e;
  }
  if (p)
    return {
      maxPacket: given.maxPacket ?? p.bufSize - 4,
      window: given.window ?? (p.bufCount > 1 ? Math.min(p.bufCount - 1, 4) : 1),
      source: 'params',
      answerMs: performance.now() - t0,
      ...(arrivedAt !== undefined ? { arrivedAt } : {}),
    };
  // Probe: an echo frame as large as a 1024-byte receive buffer takes. Any answer
  // (even "too long to echo" or "not supported") proves the frame got through.
  const probe = 1020;
  const text = 'x'.repeat(probe - HEADER_SIZE - 6);
  try {
    await c.call({ ...smpRequest('echo', { d: text }), what: 'frame size probe', retries: 0, timeoutMs: 1000 });
    return { maxPacket: given.maxPacket ?? probe, window: given.window ?? 1, source: 'probe' };
  } catch {
    return { maxPacket: given.maxPacket ?? 508, window: given.window ?? 1, source: 'default' };
  }
}

function chunkBody(off: number, data: Uint8Array, first?: { len: number; sha: Uint8Array; image?: number }): RequestOf<'imageUpload'> {
  if (!first) return { off, data };
  return { ...(first.image ? { image: first.image } : {}), len: first.len, off, sha: first.sha, data };
}

/** Most data bytes that fit one packet for a chunk at `off`. */
export function chunkCapacity(maxPacket: number, off: number, first?: { len: number; sha: Uint8Array; image?: number }): number {
  const overhead = HEADER_SIZE + encodeCbor(chunkBody(off, new Uint8Array(0), first) as CborValue).length;
  let n = maxPacket - overhead;
  while (n > 0 && overhead + n + (n >= 65536 ? 4 : n >= 256 ? 2 : n >= 24 ? 1 : 0) > maxPacket) n--;
  return Math.max(0, n);
}

interface InFlight {
  at: number;
  end: number;
  answer: Promise<SmpAnswer | Error>;
}

export async function uploadImage(c: SmpClient, image: Uint8Array, opts: UploadOptions = {}): Promise<UploadResult> {
  const started = performance.now();
  const plan = await planUpload(c, opts.plan);
  const size = image.length;
  const sha = digest('sha256', image);
  const first = { len: size, sha, ...(opts.image ? { image: opts.image } : {}) };
  const align = opts.alignment ?? 4;
  const stallMs = opts.stallTimeoutMs ?? 30000;
  const meter = new ProgressMeter('Uploading image', size, opts.onProgress);
  // The longest wait for one answer; the first chunk may erase, so it always gets this much.
  const ceilingMs = (c.opts.timeoutMs ?? 1500) + 300;
  const learner = new LinkLearner({
    maxPacket: plan.maxPacket,
    maxWindow: plan.window,
    wireMs: (b) => c.wireMs(b),
    dataFor: (packet) => {
      const n = chunkCapacity(packet, Math.min(size, 0x10000));
      return n - (n % align);
    },
    ...(plan.answerMs !== undefined ? { latencies: [plan.answerMs] } : {}),
    ...(plan.arrivedAt !== undefined ? { arrivals: [plan.arrivedAt] } : {}),
  });
  // The first chunk goes in a two-line frame, which every receive side seen takes: its answer may wait
  // for an erase, so a loss there costs the long timeout.
  const firstPacket = Math.min(plan.maxPacket, 2 * 93 - 4);
  let confirmed = Math.min(Math.max(0, opts.resumeFrom ?? 0), size);
  let next = confirmed;
  let bytesSent = 0;
  let restarts = 0;
  let resumedAt: number | undefined;
  let match: boolean | undefined;
  let lastProgress = performance.now();
  let silentInARow = 0;
  const inflight: InFlight[] = [];

  const send = (at: number) => {
    const isFirst = at === 0;
    const f = isFirst ? { ...learner.framing, packet: firstPacket, gapMs: 0 } : learner.framing;
    let n = Math.min(chunkCapacity(f.packet, at, isFirst ? first : undefined), size - at);
    if (at + n < size) n -= n % align;
    if (n <= 0) throw deviceError('smp.frame-too-small', `The device's buffer (${plan.maxPacket} bytes) is too small to carry image data.`);
    const data = image.subarray(at, at + n);
    bytesSent += n;
    const body = chunkBody(at, data, isFirst ? first : undefined);
    const answer = c
      .call({
        ...smpRequest('imageUpload', body),
        // The engine resends itself, on the framing it learns; one try per frame.
        retries: 0,
        timeoutMs: isFirst ? ceilingMs : learner.lossTimeoutMs(ceilingMs),
        lineGapMs: f.gapMs,
        frameGapMs: f.gapMs,
        ...(f.grid ? { placeLine: (at: number, ms: number) => learner.placeLine(at, ms), fillGap: (at: number) => learner.fillGap(at) } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      })
      .catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
    inflight.push({ at, end: at + n, answer });
    next = at + n;
  };
  const drain = async (): Promise<number | undefined> => {
    let latest: number | undefined;
    for (const f of inflight.splice(0)) {
      const a = await f.answer;
      if (!(a instanceof Error) && typeof a.body.off === 'number' && !answerError(a.body, '')) latest = a.body.off;
    }
    return latest;
  };

  while (confirmed < size) {
    throwIfAborted(opts.signal);
    if (inflight.length === 0) {
      const dither = learner.ditherMs();
      if (dither) await new Promise((r) => setTimeout(r, dither));
      send(confirmed);
    }
    while (inflight.length < learner.window && next < size && next > 0 && !(learner.waitFirstAnswer && inflight[0]?.at === 0)) send(next);
    // (A chunk at a non-zero offset while the device has no upload simply gets `off` 0 back.)
    const head = inflight.shift()!;
    const a = await head.answer;
    if (a instanceof Error) {
      const silent = a instanceof UnbrickError && (a.code === 'smp.timeout' || a.code.startsWith('io.'));
      const portGone = a instanceof UnbrickError && a.code === 'io.port-closed';
      silentInARow++;
      if (silent && !portGone) learner.lostFrame();
      // Give up only when the device stayed silent for several tries and for stallMs (at once if the port is gone).
      if (!silent || portGone || (silentInARow >= 3 && performance.now() - lastProgress > stallMs)) {
        await drain();
        if (!silent) throw a;
        throw new UnbrickError('device', 'smp.upload-stalled', `The upload stalled at byte ${confirmed} of ${size}: ${portGone ? 'the port went away' : 'the device stopped answering'}. Check the cable and power, then run the upload again (it resumes where the device allows).`, { offset: confirmed, link: learner.report() }, { cause: a });
      }
      const latest = await drain();
      if (latest !== undefined) confirmed = latest;
      next = confirmed;
      if (a instanceof UnbrickError && a.code.startsWith('io.')) await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    const err = answerError(a.body, 'Image upload');
    if (err) {
      await drain();
      throw err;
    }
    const off = a.body.off;
    if (typeof off !== 'number' || off > size) {
      await drain();
      throw deviceError('smp.bad-answer', `The device answered the upload with an impossible offset (${String(off)}).`);
    }
    if (typeof a.body.match === 'boolean') match = a.body.match;
    lastProgress = performance.now();
    silentInARow = 0;
    if (off === head.end) {
      learner.answered(a.latencyMs, a.arrivedAt, head.at !== 0);
      confirmed = off;
      meter.update(confirmed);
      continue;
    }
    // The device expects another offset (a lost chunk, a reset, a resume): realign on its word.
    const latest = await drain();
    const target = latest ?? off;
    if (target < confirmed) restarts++;
    if (head.at === 0 && off > head.end && resumedAt === undefined) resumedAt = off;
    confirmed = target;
    next = confirmed;
    meter.update(confirmed);
  }
  await drain();
  const hash = Buffer.from(imageHash(image)).toString('hex');
  const result: UploadResult = { bytes: size, bytesSent, seconds: (performance.now() - started) / 1000, hash, restarts, plan, link: learner.report(), ...(match !== undefined ? { match } : {}), ...(resumedAt !== undefined ? { resumedAt } : {}) };
  if (match === false) throw deviceError('smp.upload-mismatch', 'The device reports that the received data does not match the image (SHA-256 mismatch). Upload it again.', { hash });
  if (!opts.noVerify) {
    const slots = await list(c);
    const hit = slots.find((s) => s.hash === hash);
    if (!hit)
      throw deviceError('smp.image-not-listed', 'The upload finished but the device does not list the image: it did not pass the device\'s validation (signed with a key the device does not trust, or damaged). Nothing was activated.', { hash });
    result.reportedHash = hit.hash;
  }
  return result;
}
