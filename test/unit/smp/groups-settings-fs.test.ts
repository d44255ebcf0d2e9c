/**
 * Settings (group 3) and file (group 8) codecs. Settings requests re-encode
 * byte for byte to the frames recorded against Zephyr 3.4 (case 16) and every
 * recorded answer reads as the right typed error; the file codecs (no
 * recording exists: Zephyr's fs_mgmt.c is the reference) round-trip, size
 * their chunks to the device's packet limit, and refuse malformed answers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeCbor, encodeCbor, type CborValue } from '../../../src/smp/cbor.ts';
import { encodeFrame } from '../../../src/smp/frame.ts';
import { encodeHeader } from '../../../src/smp/header.ts';
import * as settings from '../../../src/smp/groups/settings.ts';
import * as fs from '../../../src/smp/groups/fs.ts';
import { UnbrickError } from '../../../src/core/errors.ts';
import { ZEPHYR_DIR } from '../../integration/smp/vectors.ts';
import { seededRandom } from '../../../src/core/random.ts';
import { SmpClient } from '../../../src/smp/client.ts';
import { echo } from '../../../src/smp/groups/os.ts';
import { connectInProcess, createZephyrSim } from '../../../src/sim/zephyr/index.ts';

interface Recorded {
  label: string;
  request: { wire_hex: string; cbor_hex: string; smp_header: { op: number; version: number; len: number; group: number; seq: number; id: number }; cbor_json: Record<string, unknown> };
  response: { decoded: { cbor_hex: string } };
}

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const plain = (v: unknown) => JSON.parse(JSON.stringify(v, (_, x: unknown) => (x instanceof Uint8Array ? { $bytes: Buffer.from(x).toString('hex') } : x))) as unknown;

test('settings requests re-encode to the recorded Zephyr frames byte for byte; recorded answers read as typed errors', () => {
  const { exchanges } = JSON.parse(readFileSync(join(ZEPHYR_DIR, 'cases', '16-settings.json'), 'utf8')) as { exchanges: Recorded[] };
  assert.ok(exchanges.length >= 8);
  for (const e of exchanges) {
    const h = e.request.smp_header;
    const j = e.request.cbor_json;
    const name = j.name as string | undefined;
    let body: CborValue;
    if (h.id === 0 && h.op === 2) body = settings.writeRequest(name!, hex((j.val as { $bytes: string }).$bytes));
    else if (h.id === 0) body = settings.readRequest(name!, j.max_size as number | undefined);
    else if (h.id === 1) body = settings.nameRequest(name!);
    else body = {};
    const cbor = encodeCbor(body);
    assert.equal(Buffer.from(cbor).toString('hex'), e.request.cbor_hex, e.label);
    const packet = Buffer.concat([encodeHeader({ op: h.op, version: h.version, flags: 0, len: cbor.length, group: h.group, seq: h.seq, id: h.id }), cbor]);
    assert.equal(Buffer.from(encodeFrame(packet)).toString('hex'), e.request.wire_hex, e.label);

    const answer = decodeCbor(hex(e.response.decoded.cbor_hex)) as Record<string, unknown>;
    const err = settings.settingsError(answer, 'setting op', name);
    if (h.id === 2 || h.id === 3) assert.equal(err, undefined, `${e.label}: {} is success`);
    else assert.equal(err?.code, 'smp.setting-not-found', `${e.label}: v1 rc 5 and v2 group 3 rc 3 both mean "no such setting"`);
  }
});

test('settings answers: values, the device clamp, unsupported group, other group errors', () => {
  assert.deepEqual(settings.parseRead({ val: Uint8Array.of(1, 2) }), { value: Uint8Array.of(1, 2) });
  assert.deepEqual(settings.parseRead({ val: Uint8Array.of(1), max_size: 32 }), { value: Uint8Array.of(1), deviceMaxSize: 32 });
  assert.equal(settings.parseRead({ val: 'text' }), undefined);
  assert.equal(settings.parseRead({}), undefined);
  const unsupported = settings.settingsError({ rc: 8 }, 'setting write');
  assert.equal(unsupported?.code, 'smp.unsupported');
  assert.match(unsupported!.message, /does not support setting write: its firmware has no settings management group/);
  assert.equal(settings.settingsError({ err: { group: 3, rc: 2 } }, 'setting write')?.code, 'smp.setting-name-too-long');
  assert.equal(settings.settingsError({ err: { group: 3, rc: 6 } }, 'setting write')?.code, 'smp.setting-not-writable');
  assert.equal(settings.settingsError({ rc: 3 }, 'setting write')?.code, 'smp.einval');
  assert.equal(settings.settingsError({}, 'setting write'), undefined);
  for (const bad of ['', 'a=b', 'x\0y']) assert.throws(() => settings.readRequest(bad), (e) => e instanceof UnbrickError && e.code === 'smp.bad-setting-name');
});

test('file requests: fields as fs_mgmt decodes them, len only on the first chunk', () => {
  const first = decodeCbor(encodeCbor(fs.uploadRequest('/lfs1/a.bin', 0, Uint8Array.of(1, 2, 3), 10)));
  assert.deepEqual(plain(first), { off: 0, data: { $bytes: '010203' }, name: '/lfs1/a.bin', len: 10 });
  assert.deepEqual(plain(decodeCbor(encodeCbor(fs.uploadRequest('/lfs1/a.bin', 3, Uint8Array.of(4))))), { off: 3, data: { $bytes: '04' }, name: '/lfs1/a.bin' });
  assert.deepEqual(decodeCbor(encodeCbor(fs.downloadRequest('/lfs1/a.bin', 337))), { off: 337, name: '/lfs1/a.bin' });
  assert.deepEqual(decodeCbor(encodeCbor(fs.hashRequest('/lfs1/a.bin'))), { name: '/lfs1/a.bin' });
  assert.deepEqual(decodeCbor(encodeCbor(fs.hashRequest('/lfs1/a.bin', { type: 'sha256', off: 4, len: 8 }))), { name: '/lfs1/a.bin', type: 'sha256', off: 4, len: 8 });
  for (const bad of ['relative.txt', `/${'p'.repeat(64)}`, '/a\0b']) assert.throws(() => fs.uploadRequest(bad, 0, new Uint8Array(0)), (e) => e instanceof UnbrickError && e.code === 'smp.bad-file-path');
});

test('file upload chunks fill the packet limit exactly and never exceed it', () => {
  for (const maxPacket of [128, 250, 380, 1020, 2048])
    for (const [off, len] of [
      [0, 100_000],
      [0, 10],
      [23, 100_000],
      [70_000, 100_000],
    ] as const) {
      const n = fs.uploadChunkCapacity(maxPacket, '/lfs1/unit.json', off, len);
      const size = (k: number) => 8 + encodeCbor(fs.uploadRequest('/lfs1/unit.json', off, new Uint8Array(k), len)).length;
      assert.ok(size(n) <= maxPacket, `${maxPacket}/${off}: ${size(n)}`);
      assert.ok(size(n + 1) > maxPacket, `${maxPacket}/${off}: one more byte would still fit`);
    }
  assert.equal(fs.uploadChunkCapacity(20, '/lfs1/unit.json', 0, 10), 0);
});

test('file answers: typed results, malformed ones refused, errors in file terms', () => {
  assert.deepEqual(fs.parseUploadAnswer({ off: 240 }), { off: 240 });
  assert.equal(fs.parseUploadAnswer({ off: 'x' }), undefined);
  assert.deepEqual(fs.parseDownloadAnswer({ off: 0, data: Uint8Array.of(9), len: 1 }), { off: 0, data: Uint8Array.of(9), len: 1 });
  assert.equal(fs.parseDownloadAnswer({ off: 0 }), undefined);
  assert.deepEqual(fs.parseHashAnswer({ type: 'crc32', len: 9, output: 0xcbf43926 }), { type: 'crc32', off: 0, len: 9, output: 0xcbf43926 });
  assert.deepEqual(fs.parseHashAnswer({ type: 'sha256', off: 4, len: 2, output: Uint8Array.of(0xab, 0xcd) }), { type: 'sha256', off: 4, len: 2, output: 'abcd' });
  assert.equal(fs.parseHashAnswer({ type: 'sha256', len: 2 }), undefined);
  assert.deepEqual(fs.parseHashTypes({ types: { crc32: { format: 0, size: 4 }, bad: { format: 'x' } } }), { crc32: { format: 0, size: 4 } });
  assert.deepEqual(fs.parseHashTypes({}), {});
  assert.equal(fs.crc32(new TextEncoder().encode('123456789')), 0xcbf43926);

  assert.equal(fs.fsError({}, 'file upload'), undefined);
  assert.equal(fs.fsError({ rc: 8 }, 'file upload')?.code, 'smp.unsupported');
  assert.equal(fs.fsError({ rc: 5 }, 'file status', '/lfs1/x')?.code, 'smp.file-not-found');
  assert.equal(fs.fsError({ err: { group: 8, rc: 3 } }, 'file status')?.code, 'smp.file-not-found');
  const mismatch = fs.fsError({ err: { group: 8, rc: 11 }, len: 3 }, 'file upload');
  assert.equal(mismatch?.code, 'smp.file-offset-mismatch');
  assert.equal(mismatch?.details?.len, 3);
  assert.match(fs.fsError({ err: { group: 8, rc: 10 } }, 'file upload')!.message, /writing the file failed/);
  assert.equal(fs.fsError({ err: { group: 8, rc: 99 } }, 'file upload')?.code, 'smp.group-error');
});

/** Random CBOR-able values of the shapes these groups see (maps with the right keys, wrong types). */
function randomValue(rand: () => number, depth = 0): CborValue {
  const pick = Math.floor(rand() * (depth > 1 ? 5 : 7));
  if (pick === 0) return Math.floor(rand() * 2 ** 32) - (rand() < 0.2 ? 2 ** 31 : 0);
  if (pick === 1) return ['app/x', '/lfs1/a', '', 'x'.repeat(Math.floor(rand() * 80)), 'sha256', 'crc32'][Math.floor(rand() * 6)]!;
  if (pick === 2) return new Uint8Array(Math.floor(rand() * 400)).map(() => Math.floor(rand() * 256));
  if (pick === 3) return rand() < 0.5;
  if (pick === 4) return null;
  if (pick === 5) return Array.from({ length: Math.floor(rand() * 3) }, () => randomValue(rand, depth + 1));
  const keys = ['name', 'val', 'max_size', 'off', 'data', 'len', 'type', 'output', 'types', 'rc', 'err', 'group'];
  return Object.fromEntries(Array.from({ length: Math.floor(rand() * 5) }, () => [keys[Math.floor(rand() * keys.length)]!, randomValue(rand, depth + 1)]));
}

test('fuzz: random answers give typed results or typed errors, and the simulator answers random requests without failing', { timeout: 60_000 }, async () => {
  const rand = seededRandom(8);
  for (let i = 0; i < 3000; i++) {
    const v = randomValue(rand);
    const body = (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array) ? v : { x: v }) as Record<string, unknown>;
    settings.parseRead(body);
    fs.parseUploadAnswer(body);
    fs.parseDownloadAnswer(body);
    fs.parseHashAnswer(body);
    fs.parseHashTypes(body);
    for (const e of [settings.settingsError(body, 'x'), fs.fsError(body, 'x')]) assert.ok(e === undefined || e instanceof UnbrickError);
  }
  // A fast UART: this test is about answers to random requests, not lost lines.
  const dev = createZephyrSim({ flash: 'none', settings: { roots: ['app'] }, fs: { size: 0x4000 }, rxPeriodMs: 0 });
  const c = new SmpClient(connectInProcess(dev, { baud: 0 }), { timeoutMs: 300, retries: 0 });
  try {
    let answered = 0;
    for (let i = 0; i < 250; i++) {
      const group = rand() < 0.5 ? 3 : 8;
      const id = Math.floor(rand() * 6);
      const v = randomValue(rand);
      const body = v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array) ? v : { name: v };
      // Keep requests within the device's 384-byte buffer: an oversized frame is (correctly) dropped.
      if (encodeCbor(body).length > 300) continue;
      const a = await c.call({ op: rand() < 0.5 ? 'read' : 'write', group, id, body, what: 'fuzz' });
      assert.equal(typeof a.body, 'object');
      answered++;
    }
    assert.ok(answered > 150, `${answered} answers`);
    assert.deepEqual(await echo(c, 'still here'), 'still here');
  } finally {
    dev.dispose();
  }
});
