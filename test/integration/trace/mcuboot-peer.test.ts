import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { decodeTrace, readTrace } from '../../../src/devices/wire-trace.ts';

const SHARED = resolve(import.meta.dirname, '../../../../shared');
const PEER = join(SHARED, 'peers/mcuboot-serial-recovery');
const IMAGE = join(SHARED, 'vectors/smp-mcuboot-serial/images/app-signed.bin');

test('a wire trace of an upload to the real MCUboot serial-recovery peer decodes to its upload requests and rc answers', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-trace-'));
  const peer = spawn(PEER, [], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const pty = await new Promise<string>((res, rej) => {
      createInterface({ input: peer.stdout! }).once('line', res);
      peer.once('error', rej);
    });
    const tracePath = join(dir, 'upload.trace');
    const up = spawnSync(process.execPath, ['bin/unbrick.js', 'smp', 'upload', IMAGE, '--port', pty, '--trace', tracePath], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(up.status, 0, up.stdout + up.stderr);

    // The file: every byte both ways, timestamped, per link.
    const lines = readTrace(readFileSync(tracePath, 'utf8'), tracePath);
    assert.equal(lines[0]!.kind, 'header');
    const data = lines.filter((l) => l.kind === 'data');
    const tx = data.filter((l) => l.dir === 'tx').reduce((n, l) => n + l.hex.length / 2, 0);
    const rx = data.filter((l) => l.dir === 'rx').reduce((n, l) => n + l.hex.length / 2, 0);
    assert.ok(tx > readFileSync(IMAGE).length * 4 / 3, `all of the base64-framed image went out (${tx} bytes)`);
    assert.ok(rx > 0);
    const times = data.map((l) => l.t);
    assert.deepEqual(times, [...times].sort((a, b) => a - b), 'timestamps never go backwards');

    // The decoded view names the upload requests, their offsets, and the device's rc answers.
    const decoded = decodeTrace(lines).flatMap((e) => (e.decoded ? [`${e.dir} ${e.decoded}`] : []));
    const requests = decoded.filter((d) => /^tx SMP write image\/upload seq \d+ \{.*off: \d+.*data: <\d+ bytes/.test(d));
    const answers = decoded.filter((d) => /^rx SMP write-rsp image\/upload seq \d+ \{rc: 0, off: \d+\} -> rc 0 \(ok\)$/.test(d));
    assert.ok(requests.length >= 20, `${requests.length} upload requests decoded`);
    assert.equal(answers.length, requests.length, 'one rc answer per upload request');
    assert.match(requests[0]!, /\{len: 25338, off: 0, sha: <32 bytes [0-9a-f]{8}…>, data: <\d+ bytes/, 'the first request carries the length and hash');
    assert.ok(decoded.some((d) => /^rx SMP read-rsp image\/state .*hash: <32 bytes c7786c26…>/.test(d)), 'the image list answer after the upload');

    // `unbrick trace show` prints the same view beside the raw bytes.
    const show = spawnSync(process.execPath, ['bin/unbrick.js', 'trace', 'show', tracePath], { encoding: 'utf8' });
    assert.equal(show.status, 0, show.stderr);
    assert.match(show.stdout, /host->dev {2}06 09 /);
    assert.match(show.stdout, /= SMP write image\/upload seq \d+ \{len: 25338, off: 0,/);
    assert.match(show.stdout, /= SMP write-rsp image\/upload seq \d+ \{rc: 0, off: 25338\} -> rc 0 \(ok\)/);

    // A support report attaches it: the raw trace and the decoded view.
    const rep = spawnSync(process.execPath, ['bin/unbrick.js', 'records', 'report', '--unit', 'returned-unit', '--format', 'json', '--data-dir', dir, '--attach-trace', tracePath, '--json'], { encoding: 'utf8' });
    assert.equal(rep.status, 0, rep.stderr);
    const attached = (JSON.parse(rep.stdout) as { report: { traces: { name: string; text: string; view: string[] }[] } }).report.traces[0]!;
    assert.equal(attached.text, readFileSync(tracePath, 'utf8'));
    assert.ok(attached.view.some((l) => /= SMP write-rsp image\/upload seq \d+ \{rc: 0, off: 25338\} -> rc 0 \(ok\)/.test(l)));
  } finally {
    peer.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
});
