/**
 * The seed's scale against the real MCUboot serial-recovery peer: a 448 KiB
 * image (the whole slot) signed here with MCUboot's development key by
 * `unbrick image sign`, uploaded by the CLI with its defaults through linesim
 * at 115200 8N1 (about 60 s of line time), then listed by its hash. The real
 * Zephyr peer's slots are 0x69000 bytes: the same image is refused there with
 * a clear error before any data is written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unbrick } from './cli-process.ts';
import { startLinesim, type Linesim } from './linesim.ts';
import { DEV_KEY, startMcubootPeer, startZephyrPeer, type Peer } from './peers.ts';

const SLOT = 448 * 1024;

test('real peers, 448 KiB image signed at test time: MCUboot takes and lists it; Zephyr refuses it (slot too small)', { timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-448k-'));
  let peer: Peer | undefined;
  let line: Linesim | undefined;
  try {
    const raw = join(dir, 'app.bin');
    const signed = join(dir, 'app-signed.bin');
    // As large as the slot allows: room for the 0x200 header, the TLVs and the swap trailer (0x630) that
    // `image sign --slot-size` checks.
    writeFileSync(raw, randomBytes(SLOT - 0x200 - 256 - 0x700));
    const s = await unbrick('image', 'sign', raw, signed, '--key', DEV_KEY, '--version', '4.4.8', '--pad-header', '--align', '4', '--slot-size', String(SLOT));
    assert.equal(s.code, 0, s.err);

    peer = await startMcubootPeer();
    line = await startLinesim(peer.path);
    const up = await unbrick('smp', 'upload', signed, '--port', line.host, '--json');
    assert.equal(up.code, 0, up.err);
    const r = JSON.parse(up.out) as { hash: string; imageHash: string; bytes: number; seconds: number; link: unknown };
    t.diagnostic(`${r.bytes} bytes in ${r.seconds} s; link ${JSON.stringify(r.link)}`);
    assert.ok(r.bytes > SLOT - 4096 && r.bytes <= SLOT);
    assert.equal(r.hash, r.imageHash, 'the device lists the image by its hash');
    await line.stop();
    await peer.stop();

    peer = await startZephyrPeer();
    line = await startLinesim(peer.path);
    const z = await unbrick('smp', 'upload', signed, '--port', line.host, '--json');
    assert.notEqual(z.code, 0);
    assert.match(z.out + z.err, /"code": "smp\./);
  } finally {
    await line?.stop();
    await peer?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
