/** Feeds recorded request bytes to an in-process simulator and collects what it answers. */
import type { SmpDevice } from '../../../src/sim/smp/device.ts';
import { FrameReader } from '../../../src/smp/frame.ts';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Tap {
  private chunks: Buffer[] = [];
  private frames = 0;
  private reader = new FrameReader((e) => {
    if (e.kind === 'packet') this.frames++;
  });
  constructor(dev: SmpDevice) {
    dev.onOutput((b) => {
      this.chunks.push(Buffer.from(b));
      this.reader.push(b);
    });
  }
  take(): { bytes: Buffer; frames: number } {
    const out = { bytes: Buffer.concat(this.chunks), frames: this.frames };
    this.chunks = [];
    this.frames = 0;
    return out;
  }
  /** Waits until `n` frames arrived or `ms` passed. */
  async frame(n: number, ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (this.frames < n && Date.now() < end) await sleep(2);
  }
}

/** Only the frame lines (lines starting with a marker), dropping console text. */
export function frameLines(b: Uint8Array): Buffer {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < b.length; i++)
    if (b[i] === 0x0a) {
      const line = Buffer.from(b.subarray(start, i + 1));
      if ((line[0] === 6 && line[1] === 9) || (line[0] === 4 && line[1] === 0x14)) out.push(line);
      start = i + 1;
    }
  return Buffer.concat(out);
}
