/** The upload engine's framing ladder: down on losses, back up on answers, noise tolerated. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findGrid, gridFrameMs, gridPhase, LinePlacer, LinkLearner } from '../../../src/smp/link-learner.ts';
import { chunkCapacity } from '../../../src/smp/upload.ts';

/** A framing as lines per frame, window and idle between frames (ms, rounded). */
const step = (f: LinkLearner['framing']) => [f.lines, f.window, Math.round(f.gapMs)];
const zephyr = () => new LinkLearner({ maxPacket: 380, maxWindow: 3, wireMs: (b) => (b * 10000) / 115200, dataFor: (p) => chunkCapacity(p, 0x10000), growAfter: 8 });

test('a device that answers everything keeps the framing its params allow', () => {
  const l = zephyr();
  for (let i = 0; i < 100; i++) l.answered(5);
  assert.deepEqual(l.report(), { frameSize: 380, lines: 5, window: 3, lineGapMs: 0, framesLost: 0, changes: 0 });
});

test('silence walks the ladder to one-line stop-and-wait frames with a line of idle, then reports no way down', () => {
  const l = zephyr();
  const seen = [l.framing];
  while (l.lostFrame()) seen.push(l.framing);
  assert.equal(l.report().framesLost, seen.length);
  // Every framing on the ladder, as lines per frame, window and idle between frames (ms).
  const ladder = [
    [5, 3, 0],
    [5, 1, 0],
    [5, 1, 2],
    [5, 1, 3],
    [5, 1, 5],
    [2, 1, 0],
    [2, 1, 11],
    [1, 1, 11],
  ];
  assert.deepEqual(l.framings.map(step), ladder);
  // A pipelined framing's first frame goes alone, so losing it skips the stop-and-wait rung below; a
  // framing reached by a loss that loses its first frame too is left two steps down, within one frame size.
  assert.deepEqual(seen.map(step), [0, 2, 4, 5, 6, 7].map((i) => ladder[i]));
});

test('a framing that answers some frames before losing one is left one step down', () => {
  const l = zephyr();
  assert.equal(l.window, 1, 'a pipelined framing sends its first frame alone');
  l.lostFrame();
  l.answered(20);
  l.lostFrame();
  assert.deepEqual(step(l.framing), [5, 1, 3]);
});

test('a bolder framing that fails after a run of answers goes back to the framing that gave them', () => {
  const l = zephyr();
  while (l.framing.lines !== 2) l.lostFrame();
  const calm = l.framing;
  for (let i = 0; i < 31; i++) l.answered(5);
  assert.equal(l.framing, calm, 'the framings above lost their first frames: 4 x 8 answers before trying one again');
  l.answered(5);
  assert.notEqual(l.framing, calm, 'grown after 32 answers');
  l.answered(5);
  l.lostFrame();
  assert.equal(l.framing, calm);
});

test('answers bring the bolder framing back; failing there again doubles the wait before the next try', () => {
  const l = zephyr();
  l.answered(5);
  l.lostFrame();
  assert.equal(l.framing.window, 1);
  for (let i = 0; i < 7; i++) l.answered(5);
  assert.equal(l.framing.window, 1, 'not before 8 answers');
  l.answered(5);
  assert.equal(l.framing.window, 3, 'back up after 8 answers');
  l.lostFrame();
  assert.equal(l.framing.window, 1);
  for (let i = 0; i < 15; i++) l.answered(5);
  assert.equal(l.framing.window, 1, 'now it waits 16');
  l.answered(5);
  assert.equal(l.framing.window, 3);
});

test('a rare lost frame (line noise) keeps the framing; frequent ones cost more than the step down and leave it', () => {
  const l = zephyr();
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 39; i++) l.answered(20);
    l.lostFrame();
  }
  assert.equal(l.framing.window, 3, '1 in 40 at a 150 ms loss timeout is cheaper than stop-and-wait');
  for (let i = 0; i < 4; i++) l.lostFrame();
  assert.equal(l.framing.window, 3, '7 in 124 still is');
  l.lostFrame();
  assert.equal(l.framing.window, 1, '8 in 125 is not');
  assert.equal(l.report().framesLost, 8);
  assert.equal(l.lossTimeoutMs(1800), 150);
  l.answered(200);
  assert.equal(l.lossTimeoutMs(1800), 240, 'past the slowest recent answer');
});

// Read grids (synthetic answer arrival times; the real Zephyr peer reads every 20 ms).

/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed: number): () => number {
  let x = seed;
  return () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
}
const LINE_MS = (127 * 10000) / 115200;

test('answers at reads on a 20 ms grid give its period and phase, despite late outliers', () => {
  const r = rng(1);
  const times: number[] = [];
  let t = 1007;
  for (let i = 0; i < 24; i++) {
    t += 20 * (2 + Math.floor(r() * 4));
    // One answer in six comes a few ms late (host or device busy).
    times.push(t + (r() - 0.5) * 0.8 + (i % 6 === 5 ? 3 + r() * 5 : 0));
  }
  const g = findGrid(times);
  assert.ok(g, 'a grid');
  assert.ok(Math.abs(g.periodMs - 20) < 0.05, `period ${g.periodMs}`);
  const off = (((g.phaseMs - 7) % 20) + 20) % 20;
  assert.ok(off < 0.6 || off > 19.4, `phase ${g.phaseMs}`);
});

test('answers locked to every 4th read give a multiple of the period (safe to pace for); other phases bring it down', () => {
  const locked = Array.from({ length: 10 }, (_, i) => 500 + i * 80 + (i % 2 ? 0.2 : -0.2));
  assert.ok(Math.abs(findGrid(locked)!.periodMs - 80) < 0.1, 'locked: 80');
  const mixed = [...locked, 1320, 1360, 1480, 1540].map((x, i) => x + (i % 3) * 0.1);
  assert.ok(Math.abs(findGrid(mixed)!.periodMs - 20) < 0.05, 'mixed: 20');
});

test('answers at any time show no grid', () => {
  const r = rng(7);
  assert.equal(findGrid(Array.from({ length: 24 }, () => r() * 3000)), undefined);
  assert.equal(findGrid([1, 2, 3]), undefined, 'too few');
});

test('lines placed on a grid: no read interval touches more than two, three full lines per two intervals', () => {
  const grid = { periodMs: 20, phaseMs: 3 };
  const placer = new LinePlacer(grid);
  const r = rng(3);
  const lines: Array<[number, number]> = [];
  let free = 0;
  for (let i = 0; i < 60; i++) {
    // Sometimes the next line is not ready at once (an answer to wait for).
    const earliest = free + (r() < 0.2 ? r() * 30 : 0);
    const d = r() < 0.25 ? LINE_MS * r() : LINE_MS;
    const start = placer.place(earliest, d);
    assert.ok(start >= earliest, 'never before it could');
    lines.push([start, start + d]);
    free = start + d;
  }
  // With the margins: a line counts in an interval from 3.5 ms before its start to 2 ms after its end.
  for (let k = 0; k < 200; k++) {
    const [a, b] = [3 + (k - 1) * 20, 3 + k * 20];
    const touching = lines.filter(([s, e]) => s - 3.5 < b && e + 2 > a).length;
    assert.ok(touching <= 2, `interval ${k} touches ${touching} lines`);
  }
  assert.ok(Math.abs(gridFrameMs(grid, [LINE_MS, LINE_MS, LINE_MS]) - 40) < 0.01, '3 full lines per 40 ms');
  assert.ok(gridFrameMs(grid, [LINE_MS, LINE_MS, LINE_MS, LINE_MS]) < 54, '4-line frames: 4 lines per 53.3 ms');
});

test('the grid phase is a recent read instant: a period a little off moves predicted reads near the answers by microseconds', () => {
  // performance.now() after hours: ~10^6 periods since the clock's origin.
  const reads = Array.from({ length: 8 }, (_, i) => 36_000_007 + i * 60);
  const { phaseMs, fit } = gridPhase(reads.map((t) => t + 0.4), 20.01, 1.5);
  assert.equal(fit, 1);
  assert.ok(Math.abs(phaseMs - (reads[7]! + 0.4)) < 0.3, `anchor ${phaseMs} at the latest answer's read`);
  const placer = new LinePlacer({ periodMs: 20.01, phaseMs });
  // Three full lines from just after that read: the third ends before the read 40 ms on, and the
  // fourth starts just after it, not k x 0.01 ms off.
  let free = reads[7]! + 4;
  const starts: number[] = [];
  for (let i = 0; i < 4; i++) {
    starts.push(placer.place(free, LINE_MS));
    free = starts[i]! + LINE_MS;
  }
  const d = starts[3]! - reads[7]!;
  assert.ok(d > 43 && d < 45, `the fourth line at +${d.toFixed(2)} ms`);
});

test('idle after the second line of a read interval may be filled (the device has no buffer for it); idle elsewhere may not', () => {
  const placer = new LinePlacer({ periodMs: 20, phaseMs: 0 });
  const a = placer.place(3.5, LINE_MS);
  assert.equal(placer.fillable(a + LINE_MS), false, 'after one line: a filler would take the free buffer');
  const b = placer.place(a + LINE_MS, LINE_MS);
  const c = placer.place(b + LINE_MS, LINE_MS);
  // a whole, b straddles the read at 20, c whole in (20, 40]: b and c hold both buffers at that read.
  assert.deepEqual([a, b, c].map((x) => Math.round(x)), [4, 15, 26]);
  assert.equal(placer.fillable(c + LINE_MS), true, 'after the second line of the interval');
  assert.equal(placer.fillable(38.5), false, 'too near the read: a read a little early would free them first');
  assert.equal(placer.fillable(41), false, 'after the read the buffers are free again');
  assert.ok(placer.place(c + LINE_MS, LINE_MS) > 40, 'the next line starts after the read');
});

test('losses at line rate, then answers on a read grid: the upload paces 4-line frames to the grid, pipelined', () => {
  const l = zephyr();
  l.lostFrame();
  l.lostFrame();
  assert.ok(!l.framing.grid, 'no grid yet');
  const r = rng(5);
  let t = 10_000;
  for (let i = 0; i < 10 && !l.framing.grid; i++) {
    t += 20 * (3 + Math.floor(r() * 3));
    // (The wait for an answer varies over the period: frames end anywhere between reads.)
    l.answered(1 + r() * 18, t + 0.5 + r() * 0.5);
  }
  assert.deepEqual([l.framing.packet, l.framing.lines, l.framing.window, l.framing.grid], [368, 4, 2, true]);
  const rep = l.report();
  assert.equal(rep.gridPaced, true);
  assert.ok(Math.abs(rep.gridMs! - 20) < 0.05, `period ${rep.gridMs}`);
  // Lines now go where the grid allows: four back to back would make a read touch three, so one waits.
  let free = t + 100;
  let waited = 0;
  for (let i = 0; i < 4; i++) {
    const at = l.placeLine(free, LINE_MS);
    waited = Math.max(waited, at - free);
    free = at + LINE_MS;
  }
  assert.ok(waited > 1, 'a line waits for a read');
  // On the grid, a loss is called sooner (an answer comes at the first read after the frame).
  assert.ok(l.lossTimeoutMs(1800) < 150, 'loss timeout');
  // A rare loss keeps the grid; two in a row leave it for the ladder's most cautious full frames.
  l.lostFrame();
  assert.equal(l.framing.grid, true);
  l.answered(12, t + 60.5);
  l.lostFrame();
  l.lostFrame();
  assert.ok(!l.framing.grid, 'off the grid');
  assert.deepEqual([l.framing.packet, l.framing.window, l.framing.gapMs], [380, 1, 5]);
  assert.equal(l.report().gridMs, undefined, 'three of four frames lost on it: the grid is learned again, not come back to');
});

test('a period learned on an earlier upload is used from the first answers when they fall on it, and dropped when answers stop fitting', () => {
  // An upload that learns a 20 ms period for devices with these limits.
  const first = zephyr();
  first.lostFrame();
  first.lostFrame();
  const r0 = rng(5);
  for (let i = 0, t = 10_000; i < 10 && !first.framing.grid; i++) first.answered(1 + r0() * 18, (t += 20 * (3 + Math.floor(r0() * 3))) + 0.5 + r0() * 0.5);
  assert.equal(first.framing.grid, true);
  const l = zephyr();
  l.answered(12, 50_000.5);
  assert.ok(!l.framing.grid, 'one answer is not enough');
  l.answered(12, 50_060.7);
  assert.equal(l.framing.grid, true, 'two on one phase are');
  assert.equal(l.waitFirstAnswer, false);
  // A device with no grid after all: answers anywhere.
  const r = rng(11);
  let t = 50_100;
  for (let i = 0; i < 14; i++) l.answered(12, (t += 40 + r() * 30));
  assert.ok(!l.framing.grid, 'grid dropped');
  assert.equal(l.report().gridMs, undefined);
  const next = zephyr();
  assert.equal(next.waitFirstAnswer, false, 'forgotten');
});

test('a device that answers a fixed time after each frame looks like a grid by its answer times, but is not one', () => {
  const l = zephyr();
  l.lostFrame();
  l.lostFrame();
  // Stop-and-wait: each frame goes when the answer before came, so answers are as regular as a grid's.
  let t = 20_000;
  for (let i = 0; i < 30; i++) l.answered(8 + (i % 3) * 0.2, (t += 56.3));
  assert.ok(!l.framing.grid, 'not paced to a grid');
  assert.equal(l.report().gridMs, undefined);
});

test('a device that answers everything never looks for a grid', () => {
  const l = zephyr();
  const r = rng(2);
  let t = 0;
  for (let i = 0; i < 100; i++) l.answered(5, (t += 20 * (1 + Math.floor(r() * 3))));
  assert.deepEqual([l.framing.packet, l.framing.window, l.framing.grid], [380, 3, undefined]);
  assert.equal(l.ditherMs(), 0);
});
