/** The upload engine's framing ladder: down on losses, back up on answers, noise tolerated. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinkLearner } from '../../../src/smp/link-learner.ts';
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
  // A framing reached by a loss that loses its first frame too is left two steps down, within one frame size:
  // silence passes 5/1/2 by.
  assert.deepEqual(seen.map(step), [...ladder.slice(0, 2), ...ladder.slice(3)]);
});

test('a framing that answers some frames before losing one is left one step down', () => {
  const l = zephyr();
  l.lostFrame();
  l.answered(20);
  l.lostFrame();
  assert.deepEqual(step(l.framing), [5, 1, 2]);
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
