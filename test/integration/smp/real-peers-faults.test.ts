/**
 * Field faults between the host and the real firmware peers, through
 * linesim at 115200 8N1: a cable pulled mid-upload (the upload reports the
 * stall, a new line and upload finish the image: Zephyr resumes by length and
 * sha, MCUboot starts over), and bit flips on every byte both ways (both peers).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSerial } from '../../../src/transport/serial.ts';
import { SmpClient } from '../../../src/smp/client.ts';
import { list } from '../../../src/smp/groups/image.ts';
import { uploadImage } from '../../../src/smp/upload.ts';
import { UnbrickError } from '../../../src/core/errors.ts';
import { startLinesim } from './linesim.ts';
import { startMcubootPeer, startZephyrPeer, withPeerLine, type Peer } from './peers.ts';
import { MCUBOOT_DIR } from './vectors.ts';

const APP = new Uint8Array(readFileSync(join(MCUBOOT_DIR, 'images', 'app-signed.bin')));
const APP_HASH = 'c7786c26af308fe8d4fb82e0f7dc0b4625ccffdfa6f3b7bf8b531aaad6f7e718';

async function client(path: string): Promise<SmpClient> {
  return new SmpClient(await openSerial({ path, baudRate: 115200 }), { baud: 115200 });
}

async function cutThenReplug(t: { diagnostic(s: string): void }, peer: Peer): Promise<void> {
  const cutAt = 6000 + Math.floor(Math.random() * 12000);
  t.diagnostic(`cable cut after ${cutAt} bytes`);
  const first = await startLinesim(peer.path, ['--cut-after', String(cutAt)]);
  const c1 = await client(first.host);
  try {
    await assert.rejects(uploadImage(c1, APP, { stallTimeoutMs: 3000 }), (e: unknown) => e instanceof UnbrickError && (e.code === 'smp.upload-stalled' || e.code.startsWith('io.')));
  } finally {
    await c1.close().catch(() => {});
    await first.stop();
  }
  const second = await startLinesim(peer.path);
  const c2 = await client(second.host);
  try {
    assert.ok(!(await list(c2)).some((s) => s.hash === APP_HASH), 'the half-written image is not listed');
    const r = await uploadImage(c2, APP);
    t.diagnostic(`after the replug: ${r.bytesSent} bytes sent, ${r.seconds.toFixed(1)} s, link ${JSON.stringify(r.link)}`);
    assert.equal(r.reportedHash, APP_HASH);
  } finally {
    await c2.close();
    await second.stop();
  }
}

/** Both real peers; how each lists a finished upload (Zephyr: the new image in slot 1; MCUboot serial recovery writes slot 0). */
const PEERS: { name: string; start: () => Promise<Peer>; listsImage(slots: Awaited<ReturnType<typeof list>>): void }[] = [
  { name: 'real Zephyr smp_svr', start: startZephyrPeer, listsImage: (slots) => assert.ok(slots.some((s) => s.slot === 1 && s.hash === APP_HASH)) },
  { name: 'real MCUboot serial recovery', start: startMcubootPeer, listsImage: (slots) => assert.deepEqual(slots.map((s) => [s.slot, s.hash]), [[0, APP_HASH]]) },
];

for (const p of PEERS) {
  test(`${p.name}: cable cut mid-upload, then replug: the upload finishes`, { timeout: 90_000 }, async (t) => {
    const peer = await p.start();
    try {
      await cutThenReplug(t, peer);
    } finally {
      await peer.stop();
    }
  });
}

for (const p of PEERS) {
  test(`${p.name} through bit flips (1e-4 per byte each way): the upload completes and the image is listed`, { timeout: 90_000 }, (t) =>
    withPeerLine(
      p.start,
      async ({ line }) => {
        const c = await client(line.host);
        try {
          const r = await uploadImage(c, APP);
          t.diagnostic(`${r.seconds.toFixed(1)} s, link ${JSON.stringify(r.link)}, bad frames ${c.stats.badFrames}`);
          assert.equal(r.reportedHash, APP_HASH);
          p.listsImage(await list(c));
        } finally {
          await c.close();
        }
      },
      ['--flip', '1e-4', '--seed', String(Date.now() % 100000)],
    ),
  );
}
