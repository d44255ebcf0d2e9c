import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDfuFile, parseDfuFile, dfuCrc32 } from '../../../src/formats/dfuse/index.ts';
import { UnbrickError } from '../../../src/core/errors.ts';

const sample = () =>
  buildDfuFile({
    vendorId: 0x0483,
    productId: 0xdf11,
    deviceVersion: 0xffff,
    targets: [
      {
        alternateSetting: 0,
        name: 'ST...',
        elements: [
          { address: 0x08000000, data: new Uint8Array(1000).map((_, i) => i * 7) },
          { address: 0x08004000, data: new Uint8Array([1, 2, 3]) },
        ],
      },
      { alternateSetting: 1, elements: [{ address: 0x1fffc000, data: new Uint8Array(16).fill(0xaa) }] },
    ],
  });

const hasDfuSuffixTool = spawnSync('dfu-suffix', ['--version']).status === 0;

test('build then parse round-trips targets, names and elements', () => {
  const f = parseDfuFile(sample());
  assert.equal(f.vendorId, 0x0483);
  assert.equal(f.productId, 0xdf11);
  assert.equal(f.targets.length, 2);
  assert.equal(f.targets[0]!.name, 'ST...');
  assert.equal(f.targets[1]!.name, undefined);
  assert.equal(f.targets[0]!.elements[1]!.address, 0x08004000);
  assert.deepEqual(f.targets[0]!.elements[0]!.data, new Uint8Array(1000).map((_, i) => i * 7));
  assert.deepEqual(f.targets[1]!.elements[0]!.data, new Uint8Array(16).fill(0xaa));
});

test('the CRC is the one dfu-util computes: dfu-suffix -c accepts our file', { skip: !hasDfuSuffixTool && 'dfu-suffix not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dfuse-'));
  const path = join(dir, 'a.dfu');
  writeFileSync(path, sample());
  const r = spawnSync('dfu-suffix', ['-c', path], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, /Vendor ID:\s+0x0483/i);
});

test('our CRC matches the suffix dfu-suffix adds to a file', { skip: !hasDfuSuffixTool && 'dfu-suffix not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dfuse-'));
  const path = join(dir, 'b.bin');
  writeFileSync(path, new Uint8Array(777).map((_, i) => (i * 13) ^ 0x5a));
  const r = spawnSync('dfu-suffix', ['-a', path, '-v', '0483', '-p', 'df11'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const withSuffix = new Uint8Array(readFileSync(path));
  const stored = Buffer.from(withSuffix).readUInt32LE(withSuffix.length - 4);
  assert.equal(dfuCrc32(withSuffix.subarray(0, withSuffix.length - 4)), stored);
});

test('every bad file gives a typed dfuse.* error, never a crash', () => {
  const good = sample();
  const cases: Array<[string, Uint8Array]> = [
    ['crc-mismatch', (() => { const b = good.slice(); b[300]! ^= 1; return b; })()],
    ['no-suffix', good.slice(0, good.length - 5)],
    ['truncated', good.slice(0, 20)],
  ];
  for (const [code, bytes] of cases) {
    assert.throws(() => parseDfuFile(bytes), (e: unknown) => e instanceof UnbrickError && e.code === `dfuse.${code}`, code);
  }
  // Random truncations and byte flips: only typed errors.
  for (let i = 0; i < 2000; i++) {
    const b = good.slice(0, 1 + Math.floor(Math.random() * good.length));
    if (Math.random() < 0.5) b[Math.floor(Math.random() * b.length)] = Math.floor(Math.random() * 256);
    try {
      parseDfuFile(b);
    } catch (e) {
      assert.ok(e instanceof UnbrickError, `untyped error: ${String(e)}`);
    }
  }
});

test('an element whose size runs past its target is refused even with a valid CRC', () => {
  const b = sample();
  // First element's size field sits after the 11-byte prefix, the 274-byte target prefix and the address.
  Buffer.from(b.buffer).writeUInt32LE(0x7fffffff, 11 + 274 + 4);
  Buffer.from(b.buffer).writeUInt32LE(dfuCrc32(b.subarray(0, b.length - 4)), b.length - 4);
  assert.throws(() => parseDfuFile(b), (e: unknown) => e instanceof UnbrickError && e.code === 'dfuse.bad-element');
});
