/**
 * Settings (group 3) and file management (group 8) against the Zephyr
 * simulator on a real pty through serialport at 115200: values live in the
 * handler until saved, survive a reset only when saved, size limits and
 * error codes behave like Zephyr's, files go up and come back in chunks,
 * and a firmware without the groups reads as "not supported".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SmpClient } from '../../../src/smp/client.ts';
import { echo, reset } from '../../../src/smp/groups/os.ts';
import * as settings from '../../../src/smp/groups/settings.ts';
import * as fs from '../../../src/smp/groups/fs.ts';
import { openSerial } from '../../../src/transport/serial.ts';
import { createZephyrSim, hostOnPty } from '../../../src/sim/zephyr/index.ts';
import { UnbrickError } from '../../../src/core/errors.ts';
import { sleep } from './replay.ts';

const code = (c: string) => (e: unknown) => e instanceof UnbrickError && e.code === c;
const text = (s: string) => new TextEncoder().encode(s);

async function onPty(dev: ReturnType<typeof createZephyrSim>, version = 0) {
  const pty = hostOnPty(dev, { baud: 115200 });
  const port = await openSerial({ path: pty.path, baudRate: 115200 });
  const c = new SmpClient(port, { baud: 115200, timeoutMs: 800, retries: 2, version });
  return {
    c,
    async close() {
      await c.close();
      pty.close();
    },
  };
}

async function restart(c: SmpClient): Promise<void> {
  await reset(c);
  await sleep(400);
  await echo(c, 'up');
}

test('settings over a pty: write, read back, unsaved values lost at reset, saved ones kept, limits and errors', { timeout: 60_000 }, async () => {
  const dev = createZephyrSim({ flash: 'none', settings: { roots: ['app'] } });
  const { c, close } = await onPty(dev);
  try {
    assert.equal(await settings.hasSettings(c, 'app/serial'), true);
    await settings.writeSetting(c, 'app/serial', text('SN-0001'));
    assert.deepEqual(await settings.readSetting(c, 'app/serial'), { value: text('SN-0001') });
    // Not saved: a reset gives the handler the stored value again, which is none.
    await restart(c);
    await assert.rejects(settings.readSetting(c, 'app/serial'), code('smp.setting-not-found'));

    await settings.writeSetting(c, 'app/serial', text('SN-0002'));
    await settings.writeSetting(c, 'app/mac', Uint8Array.from([2, 0, 0, 0, 0, 1]));
    await settings.saveSettings(c);
    await settings.commitSettings(c);
    await restart(c);
    assert.deepEqual((await settings.readSetting(c, 'app/serial')).value, text('SN-0002'));
    assert.deepEqual((await settings.readSetting(c, 'app/mac')).value, Uint8Array.from([2, 0, 0, 0, 0, 1]));
    // load: back to what storage holds, dropping an unsaved write.
    await settings.writeSetting(c, 'app/serial', text('SN-XXXX'));
    await settings.loadSettings(c);
    assert.deepEqual((await settings.readSetting(c, 'app/serial')).value, text('SN-0002'));

    // CONFIG_MCUMGR_GRP_SETTINGS_VALUE_LEN (32): a longer read is clamped and says so.
    const long = new Uint8Array(40).map((_, i) => i);
    await settings.writeSetting(c, 'app/key', long);
    const r = await settings.readSetting(c, 'app/key', 64);
    assert.deepEqual([r.value.length, r.deviceMaxSize], [32, 32]);
    assert.deepEqual(r.value, long.subarray(0, 32));
    // CONFIG_MCUMGR_GRP_SETTINGS_NAME_LEN (32): v1 answers EINVAL.
    await assert.rejects(settings.readSetting(c, `app/${'x'.repeat(40)}`), code('smp.einval'));
    // No handler for this root.
    await assert.rejects(settings.writeSetting(c, 'other/thing', text('1')), (e) => code('smp.setting-not-found')(e) && /no setting "other\/thing"/.test((e as Error).message));

    await settings.deleteSetting(c, 'app/mac');
    await restart(c);
    await assert.rejects(settings.readSetting(c, 'app/mac'), code('smp.setting-not-found'));
    assert.deepEqual((await settings.readSetting(c, 'app/serial')).value, text('SN-0002'));

    // Storage erase (group 63) takes the saved settings with it.
    await c.request({ op: 'write', group: 63, id: 0, what: 'storage erase' });
    await restart(c);
    await assert.rejects(settings.readSetting(c, 'app/serial'), code('smp.setting-not-found'));
  } finally {
    await close();
  }
});

test('settings errors in SMP v2 carry the group code', { timeout: 30_000 }, async () => {
  const dev = createZephyrSim({ flash: 'none', settings: { roots: ['app'] } });
  const { c, close } = await onPty(dev, 1);
  try {
    const a = await c.call({ op: 'read', group: 3, id: 0, body: settings.readRequest('app/none'), what: 'setting read' });
    assert.deepEqual(a.body, { err: { group: 3, rc: 3 } });
    const b = await c.call({ op: 'read', group: 3, id: 0, body: settings.readRequest(`app/${'y'.repeat(31)}`), what: 'setting read' });
    assert.deepEqual(b.body, { err: { group: 3, rc: 2 } });
    await assert.rejects(settings.readSetting(c, `app/${'y'.repeat(31)}`), code('smp.setting-name-too-long'));
  } finally {
    await close();
  }
});

test('files over a pty: chunked upload and download, status, hashes, close, persistence, limits and errors', { timeout: 90_000 }, async () => {
  const dev = createZephyrSim({ flash: 'none', fs: { size: 0x6000 } });
  const { c, close } = await onPty(dev);
  try {
    const body = new Uint8Array(1500).map((_, i) => (i * 7) & 0xff);
    assert.equal(await fs.hasFileSystem(c, '/lfs1/unit.bin'), true);
    await assert.rejects(fs.fileStatus(c, '/lfs1/unit.bin'), code('smp.file-not-found'));
    const up = await fs.uploadFile(c, '/lfs1/unit.bin', body);
    assert.ok(up.chunks >= 5, `a 1500-byte file takes several 384-byte frames (${up.chunks})`);
    assert.deepEqual(await fs.fileStatus(c, '/lfs1/unit.bin'), { len: 1500 });
    assert.deepEqual(await fs.downloadFile(c, '/lfs1/unit.bin'), body);
    assert.deepEqual(await fs.hashTypes(c), { crc32: { format: 0, size: 4 }, sha256: { format: 1, size: 32 } });
    assert.deepEqual(await fs.fileHash(c, '/lfs1/unit.bin'), { type: 'crc32', off: 0, len: 1500, output: fs.crc32(body) });
    assert.deepEqual(await fs.fileHash(c, '/lfs1/unit.bin', { type: 'sha256', off: 100, len: 200 }), { type: 'sha256', off: 100, len: 200, output: fs.sha256Hex(body.subarray(100, 300)) });
    await assert.rejects(fs.fileHash(c, '/lfs1/unit.bin', { type: 'md5' }), code('smp.einval'));
    await assert.rejects(fs.fileHash(c, '/lfs1/unit.bin', { off: 5000 }), code('smp.eunknown'));

    // Rewriting from offset 0 truncates; the file is complete after a reset.
    await fs.uploadFile(c, '/lfs1/unit.bin', text('{"serial":"SN-1"}'));
    await restart(c);
    assert.deepEqual(await fs.downloadFile(c, '/lfs1/unit.bin'), text('{"serial":"SN-1"}'));

    // An upload cut short (no close, no reset of the session) is lost at a reset; a closed one is kept.
    await c.request({ op: 'write', group: 8, id: 0, body: fs.uploadRequest('/lfs1/half.bin', 0, new Uint8Array(100), 1000), what: 'file upload' });
    await restart(c);
    await assert.rejects(fs.fileStatus(c, '/lfs1/half.bin'), code('smp.file-not-found'));
    await c.request({ op: 'write', group: 8, id: 0, body: fs.uploadRequest('/lfs1/half.bin', 0, new Uint8Array(100), 1000), what: 'file upload' });
    await fs.closeFile(c);
    await restart(c);
    assert.deepEqual(await fs.fileStatus(c, '/lfs1/half.bin'), { len: 100 });

    // Outside the mount point, a directory, a full file system.
    await assert.rejects(fs.uploadFile(c, '/nand/x.bin', text('x')), code('smp.file-not-found'));
    await assert.rejects(fs.fileStatus(c, '/lfs1'), code('smp.eunknown'));
    await assert.rejects(fs.uploadFile(c, '/lfs1/big.bin', new Uint8Array(0x6000)), code('smp.eunknown'));
  } finally {
    await close();
  }
});

test('file errors in SMP v2: group codes, and the offset mismatch gives the file length', { timeout: 30_000 }, async () => {
  const dev = createZephyrSim({ flash: 'none', fs: {} });
  const { c, close } = await onPty(dev, 1);
  try {
    await fs.uploadFile(c, '/lfs1/a.txt', text('hello'));
    await c.request({ op: 'write', group: 8, id: 0, body: fs.uploadRequest('/lfs1/b.txt', 0, text('abc'), 10), what: 'file upload' });
    const a = await c.call({ op: 'write', group: 8, id: 0, body: fs.uploadRequest('/lfs1/b.txt', 7, text('x')), what: 'file upload' });
    assert.deepEqual(a.body, { err: { group: 8, rc: 11 }, len: 3 });
    await assert.rejects(fs.fileStatus(c, '/lfs1'), code('smp.file-is-directory'));
    await assert.rejects(fs.uploadFile(c, '/nand/x.bin', text('x')), code('smp.file-no-mount'));
    await assert.rejects(fs.fileHash(c, '/lfs1/a.txt', { type: 'md5' }), code('smp.hash-type-unsupported'));
  } finally {
    await close();
  }
});

test('a firmware without the groups: "does not support", not a failure', { timeout: 30_000 }, async () => {
  const dev = createZephyrSim({ flash: 'none' });
  const { c, close } = await onPty(dev);
  try {
    assert.equal(await fs.hasFileSystem(c, '/lfs1/unit.bin'), false);
    await assert.rejects(fs.uploadFile(c, '/lfs1/unit.bin', text('x')), (e) => code('smp.unsupported')(e) && /no file management group/.test((e as Error).message));
    // The recorded sample has the settings group but no handler: present, every name unknown.
    assert.equal(await settings.hasSettings(c, 'app/serial'), true);
    await assert.rejects(settings.writeSetting(c, 'app/serial', text('x')), code('smp.setting-not-found'));
  } finally {
    await close();
  }
});
