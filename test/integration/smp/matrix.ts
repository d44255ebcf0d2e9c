/**
 * The framing matrix: frames of a given number of console lines, sent
 * stop-and-wait or pipelined, with or without a pause between lines, and how
 * many get an answer. The probe frame is an upload chunk at a wrong offset,
 * which every SMP server answers with the offset it expects, without flash
 * work, so the only way to lose it is on the receive side.
 */
import type { SmpClient } from '../../../src/smp/client.ts';
import { MAX_LINE_CHARS } from '../../../src/smp/frame.ts';
import { IMAGE_GROUP } from '../../../src/smp/groups/image.ts';
import { encodeCbor } from '../../../src/smp/cbor.ts';

export interface Cell {
  lines: number;
  window: number;
  /** Idle line time between the lines of a frame (ms). */
  gapMs: number;
  /** Idle line time before a pipelined frame (ms). */
  frameGapMs?: number;
}

export interface CellResult extends Cell {
  sent: number;
  answered: number;
  verdict: 'answered' | 'lost' | 'ambiguous';
}

/** The largest SMP packet that fits `lines` console lines (capped at the device's packet limit). */
export function packetForLines(lines: number, maxPacket: number): number {
  return Math.min(maxPacket, (lines * MAX_LINE_CHARS * 3) / 4 - 4);
}

function probeBody(packet: number): { off: number; data: Uint8Array } {
  let n = packet - 8 - encodeCbor({ off: 4, data: new Uint8Array(0) }).length;
  while (n > 0 && 8 + encodeCbor({ off: 4, data: new Uint8Array(n) }).length > packet) n--;
  return { off: 4, data: new Uint8Array(n).fill(0x5a) };
}

/** Sends `rounds` groups of `window` frames; clearly answered >= 80 %, clearly lost <= 20 %. */
export async function runCell(c: SmpClient, cell: Cell, rounds: number, maxPacket: number): Promise<CellResult> {
  const body = probeBody(packetForLines(cell.lines, maxPacket));
  let answered = 0;
  for (let r = 0; r < rounds; r++) {
    const calls = Array.from({ length: cell.window }, () =>
      c
        .call({ op: 'write', group: IMAGE_GROUP, id: 1, body, what: 'probe', retries: 0, timeoutMs: 400 + c.wireMs(600) * cell.window + cell.gapMs * cell.lines * cell.window, lineGapMs: cell.gapMs, frameGapMs: cell.frameGapMs ?? 0 })
        .then(() => 1)
        .catch(() => 0),
    );
    answered += (await Promise.all(calls)).reduce((a: number, b) => a + b, 0);
    // Let the device finish whatever it still holds before the next round.
    await new Promise((res) => setTimeout(res, 60));
  }
  const sent = rounds * cell.window;
  const ratio = answered / sent;
  return { ...cell, sent, answered, verdict: ratio >= 0.8 ? 'answered' : ratio <= 0.2 ? 'lost' : 'ambiguous' };
}
