/**
 * The same framing matrix (lines per frame x frames in flight x idle between
 * lines) against the real Zephyr peer (../shared/peers/zephyr-smp-svr) and
 * our Zephyr simulator, both through linesim at 115200 8N1: each cell must be
 * answered on both or lost on both.
 *
 * Both read the UART on a 20 ms grid, and one read may touch at most two
 * lines (src/sim/smp/device.ts ReceiveModel).
 *
 * Only cells that are clear on the real peer are in the table (answered
 * >= 80 %, lost <= 20 % of frames). Left out as ambiguous, with the real
 * peer's own scatter: 3 and 4 lines in a row (7/8 and 1/8 on a quiet machine,
 * but the boundary moves with host load), 1-2 ms gaps (5/10, 8/10), and any
 * pipelined cell with gaps (7/16 to 13/16). The real peer loses frames
 * under host load too, so a cell is judged on several frames, not one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSerial } from '../../../src/transport/serial.ts';
import { SmpClient } from '../../../src/smp/client.ts';
import type { UploadResult } from '../../../src/smp/upload.ts';
import { forgetReadGrids } from '../../../src/smp/link-learner.ts';
import { createZephyrSim, hostOnPty } from '../../../src/sim/zephyr/index.ts';
import { MCUBOOT_DIR } from './vectors.ts';
import { startLinesim } from './linesim.ts';
import { startZephyrPeer } from './peers.ts';
import { runCell, type Cell, type CellResult } from './matrix.ts';
import { uploadThrough } from './upload-through.ts';

const CELLS: Array<Cell & { expect: 'answered' | 'lost' }> = [
  { lines: 2, window: 1, gapMs: 0, expect: 'answered' },
  { lines: 5, window: 1, gapMs: 0, expect: 'lost' },
  { lines: 5, window: 2, gapMs: 0, expect: 'lost' },
  { lines: 5, window: 1, gapMs: 11, expect: 'answered' },
  // 5 ms of idle between 127-byte lines: no 20 ms read interval can hold one whole line and parts of
  // both its neighbours (11 + 2 x 5 > 20), so no read touches three lines.
  { lines: 5, window: 1, gapMs: 5, expect: 'answered' },
  { lines: 1, window: 1, gapMs: 0, expect: 'answered' },
];
const ROUNDS = 6;

async function runMatrix(devicePty: string): Promise<CellResult[]> {
  const line = await startLinesim(devicePty);
  const c = new SmpClient(await openSerial({ path: line.host, baudRate: 115200 }), { baud: 115200 });
  try {
    const out: CellResult[] = [];
    for (const cell of CELLS) out.push(await runCell(c, cell, ROUNDS, 380));
    return out;
  } finally {
    await c.close();
    await line.stop();
  }
}

test('framing matrix: the Zephyr simulator answers and stays silent on the same cells as the real peer', { timeout: 90_000 }, async (t) => {
  const peer = await startZephyrPeer();
  let real: CellResult[];
  try {
    real = await runMatrix(peer.path);
  } finally {
    await peer.stop();
  }
  const dev = createZephyrSim({ flash: 'none' });
  const pty = hostOnPty(dev, { baud: 0 });
  let sim: CellResult[];
  try {
    sim = await runMatrix(pty.path);
  } finally {
    pty.close();
    dev.dispose();
  }
  for (let i = 0; i < CELLS.length; i++) {
    const { expect, ...cell } = CELLS[i]!;
    t.diagnostic(`${JSON.stringify(cell)}: real ${real[i]!.answered}/${real[i]!.sent}, sim ${sim[i]!.answered}/${sim[i]!.sent}`);
    assert.equal(real[i]!.verdict, expect, `real peer, ${JSON.stringify(cell)}`);
    assert.equal(sim[i]!.verdict, real[i]!.verdict, `simulator vs real peer, ${JSON.stringify(cell)}`);
  }
});

const APP = new Uint8Array(readFileSync(join(MCUBOOT_DIR, 'images', 'app-signed.bin')));

/** Each device's grid is learned from its own answers, not from the upload before. */
async function uploadFresh(devicePty: string): Promise<{ r: UploadResult; fillers: number }> {
  forgetReadGrids();
  const { result, stats } = await uploadThrough(devicePty, APP, true);
  return { r: result, fillers: stats.fillerLines };
}

test('zero-configuration upload: the real peer and the simulator both make the engine pace lines to a 20 ms read grid, idle filled with lines they drop', { timeout: 120_000 }, async (t) => {
  const peer = await startZephyrPeer();
  let real: Awaited<ReturnType<typeof uploadFresh>>;
  try {
    real = await uploadFresh(peer.path);
  } finally {
    await peer.stop();
  }
  const dev = createZephyrSim({ flash: 'none' });
  const pty = hostOnPty(dev, { baud: 0 });
  let sim: Awaited<ReturnType<typeof uploadFresh>>;
  try {
    sim = await uploadFresh(pty.path);
  } finally {
    pty.close();
    dev.dispose();
  }
  for (const [name, { r, fillers }] of [['real', real], ['sim', sim]] as const) {
    t.diagnostic(`${name}: ${(r.bytes / r.seconds).toFixed(0)} B/s, link ${JSON.stringify(r.link)}, ${fillers} filler lines`);
    assert.ok(Math.abs((r.link.gridMs ?? 0) - 20) < 0.5, `${name}: read grid learned (${r.link.gridMs})`);
    assert.equal(r.link.gridPaced, true, `${name}: ended grid-paced`);
    assert.ok(fillers > 20, `${name}: idle filled (${fillers} filler lines)`);
  }
  // The simulator drops every filler line without a buffer, as uart_mcumgr does when both are held.
  assert.ok(dev.stats.linesDropped >= sim.fillers, `simulator dropped ${dev.stats.linesDropped} lines for ${sim.fillers} fillers`);
});
