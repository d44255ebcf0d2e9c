import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalize, parseCanonical } from '../../../src/formats/bundle/canonical-json.ts';
import { compareVersions, readMetadata, type BundleMetadata } from '../../../src/formats/bundle/metadata.ts';
import { metadataJson } from './fixture.ts';
import { hasCode as code } from '../../helpers/errors.ts';

const enc = (s: string) => new TextEncoder().encode(s);

test('canonical JSON follows RFC 8785 for the values metadata uses', () => {
  // Keys sort by UTF-16 code units (RFC 8785 §3.2.3): "z" < "é" (0xe9) < "😀" (0xd83d 0xde00) < "ﬁ" (0xfb01).
  assert.equal(canonicalize({ z: 1, é: 2, a: [true, null, 'x\n"'], '\ufb01': 0, '😀': 3 }), '{"a":[true,null,"x\\n\\""],"z":1,"é":2,"😀":3,"ﬁ":0}');
  assert.throws(() => canonicalize({ a: 1.5 }), /safe integers/);
  assert.deepEqual(parseCanonical(enc('{"a":1,"b":[2]}'), 'm', 'x.bad'), { a: 1, b: [2] });
  for (const bad of ['{"b":1,"a":2}', '{"a": 1}', '{"a":1,"a":1}', '{"a":"\\u0041"}', '{"a":1.0}', '{"a":1e3}'])
    assert.throws(() => parseCanonical(enc(bad), 'm', 'x.bad'), code('x.bad'), bad);
});

test('versions compare like MCUboot with the build number as the last tie-breaker', () => {
  assert.ok(compareVersions('1.2.3+4', '1.2.3+5') < 0);
  assert.ok(compareVersions('1.2.10', '1.2.9+99') > 0);
  assert.equal(compareVersions('1.0.0', '1.0.0+0'), 0);
  assert.throws(() => compareVersions('1.2', '1.2.3'), code('bundle.bad-version'));
  assert.throws(() => compareVersions('256.0.0', '1.0.0'), code('bundle.bad-version'));
});

const base = (over: Record<string, unknown> = {}): Record<string, unknown> =>
  metadataJson({
    kind: 'provisioning',
    provisioning: { optionBytes: { rdpLevel: 1, wrp: [{ start: 0x08000000, end: 0x08010000 }], borLevel: 3, userBits: { nRST_STOP: true, IWDG_SW: false } } },
    ...over,
  });

test('provisioning carries a typed option-byte policy; RDP level 2 needs allowLevel2: true', () => {
  const md: BundleMetadata = readMetadata(base() as never);
  assert.deepEqual(md.provisioning!.optionBytes, { rdpLevel: 1, wrp: [{ start: 0x08000000, end: 0x08010000 }], borLevel: 3, userBits: { nRST_STOP: true, IWDG_SW: false } });
  const ob = (o: Record<string, unknown>) => base({ provisioning: { optionBytes: { rdpLevel: 1, wrp: [], ...o } } }) as never;
  assert.throws(() => readMetadata(ob({ rdpLevel: 2 })), code('bundle.rdp2-not-allowed'));
  assert.equal(readMetadata(ob({ rdpLevel: 2, allowLevel2: true })).provisioning!.optionBytes.rdpLevel, 2);
  assert.throws(() => readMetadata(ob({ rdpLevel: 3 })), code('bundle.metadata-invalid'));
  assert.throws(() => readMetadata(ob({ allowLevel2: false })), code('bundle.metadata-invalid'));
  assert.throws(() => readMetadata(ob({ wrp: [{ start: 10, end: 10 }] })), code('bundle.metadata-invalid'));
  assert.throws(() => readMetadata(ob({ pcropRanges: [] })), code('bundle.unknown-critical-field'));
  assert.throws(() => readMetadata(ob({ userBits: { nRST_STOP: 1 } })), code('bundle.metadata-invalid'));
  assert.throws(() => readMetadata(base({ provisioning: undefined }) as never), code('bundle.metadata-invalid'));
  assert.throws(() => readMetadata(base({ kind: 'update', payloads: [] }) as never), code('bundle.metadata-invalid'));
});

test('metadata refuses inconsistent payload descriptions and unsupported versions', () => {
  const payload = { name: 'app.bin', role: 'mcuboot-image', target: { kind: 'smp', image: 0, slot: 1 }, size: 10, sha256: 'a'.repeat(64), version: '1.0.0', imageKey: 'b'.repeat(64), imageHash: 'c'.repeat(64) };
  const upd = (p: Record<string, unknown>[]) => base({ kind: 'update', provisioning: undefined, payloads: p }) as never;
  assert.equal(readMetadata(upd([payload])).payloads[0]!.name, 'app.bin');
  assert.throws(() => readMetadata(upd([{ ...payload, imageKey: undefined }])), code('bundle.metadata-invalid'));
  assert.throws(() => readMetadata(upd([{ ...payload, target: { kind: 'address', address: 0 } }])), code('bundle.metadata-invalid'));
  assert.throws(() => readMetadata(upd([{ ...payload, name: '../x' }])), code('bundle.metadata-invalid'));
  assert.throws(() => readMetadata(upd([payload, payload])), code('bundle.metadata-invalid'));
  assert.throws(() => readMetadata(upd([{ ...payload, role: 'stm32-region', target: { kind: 'address', address: 0x08000000 } }])), code('bundle.metadata-invalid'));
  assert.throws(() => readMetadata(base({ specVersion: 2 }) as never), code('bundle.unsupported-version'));
  assert.throws(() => readMetadata(base({ expires: '2025-01-01T00:00:00Z' }) as never), code('bundle.metadata-invalid'));
});

test('the partitions extension: read into a flash layout, understood when critical, refused when malformed', () => {
  const layout = { mcuboot: { address: 0x0800_0000, size: 0x1_0000 }, slot0: { address: 0x0802_0000, size: 0x2_0000 } };
  const md = readMetadata(base({ critical: ['partitions'], extensions: { partitions: layout } }) as never);
  assert.deepEqual(md.partitions, layout);
  assert.equal(readMetadata(base() as never).partitions, undefined);
  const bad = (partitions: unknown) => () => readMetadata(base({ extensions: { partitions } }) as never);
  assert.throws(bad({ ...layout, slot1: { address: 0x0802_8000, size: 0x2_0000 } }), code('bundle.metadata-invalid'), 'overlapping slots');
  assert.throws(bad({ mcuboot: layout.mcuboot }), code('bundle.metadata-invalid'), 'no slot 0');
  assert.throws(bad({ ...layout, scratch: { address: 0, size: 1 } }), code('bundle.unknown-critical-field'), 'an unknown region');
  assert.throws(bad({ ...layout, slot0: { address: 0xffff_f000, size: 0x2000 } }), code('bundle.metadata-invalid'), 'past the end of the address space');
});

test('provisioning.data: where per-unit data goes, signed with the recipe; a destination is required, malformed ones refused', () => {
  const pv = (data: unknown) => base({ provisioning: { optionBytes: { rdpLevel: 0, wrp: [] }, data } });
  const md = readMetadata(pv({ address: 0x0800f000, setting: 'serial=app/serial,mac=app/mac', file: '/lfs1/unit.json' }) as never);
  assert.deepEqual(md.provisioning!.data, { address: 0x0800f000, setting: 'serial=app/serial,mac=app/mac', file: '/lfs1/unit.json' });
  assert.throws(() => readMetadata(pv({ field: 'key' }) as never), code('bundle.metadata-invalid'), 'a field but nowhere to put it');
  assert.throws(() => readMetadata(pv({ file: 'unit.json' }) as never), code('bundle.metadata-invalid'), 'a relative file path');
  assert.throws(() => readMetadata(pv({ address: -1 }) as never), code('bundle.metadata-invalid'));
  assert.throws(() => readMetadata(pv({ address: 1, serialFormat: 'x' }) as never), code('bundle.unknown-critical-field'));
});
