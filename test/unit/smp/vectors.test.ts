/**
 * Against the recorded transcripts (both folders): every well-formed request,
 * re-encoded by our encoder, follows the same framing rules and decodes to the
 * same header and CBOR values (and is byte-identical where the recording
 * client used the same CBOR bytes); every recorded response decodes to the
 * recorded header and values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCbor, decodeCborItem, encodeCbor, type CborItem } from '../../../src/smp/cbor.ts';
import { decodeFrame, encodeFrame } from '../../../src/smp/frame.ts';
import { decodeHeader, encodeHeader } from '../../../src/smp/header.ts';
import { fromRecordedJson, mcubootCases, recordedToPlain, zephyrCases, type Exchange } from '../../integration/smp/vectors.ts';

const all = [...mcubootCases(), ...zephyrCases()].flatMap((c) => c.exchanges.map((e) => ({ file: c.file, e })));

/** A request our client could have sent: a CBOR map with unique text keys and definite strings. */
function wellFormed(e: Exchange): boolean {
  const r = e.req;
  if (!r || r.handCrafted || !r.cborHex) return false;
  const cbor = Buffer.from(r.cborHex, 'hex');
  if (r.header.len !== cbor.length || (r.header.op !== 0 && r.header.op !== 2)) return false;
  let item: CborItem;
  try {
    item = decodeCborItem(cbor);
  } catch {
    return false;
  }
  if (item.t !== 'map') return false;
  // The recorded wire must itself be a valid frame of this packet (A13 breaks framing on purpose).
  try {
    if (Buffer.from(decodeFrame(e.reqWire)).toString('hex') !== r.packetHex) return false;
  } catch {
    return false;
  }
  const keys = new Set<string>();
  const strictStrings = (it: CborItem): boolean =>
    it.t === 'text' || it.t === 'bytes' ? !it.indef : it.t === 'array' ? it.v.every(strictStrings) : it.t === 'map' ? it.v.every(([k, v]) => strictStrings(k) && strictStrings(v)) : true;
  for (const [k] of item.v) {
    if (k.t !== 'text' || keys.has(k.v)) return false;
    keys.add(k.v);
  }
  return strictStrings(item);
}

function assertFramingRules(wire: Uint8Array, where: string): void {
  const text = Buffer.from(wire).toString('latin1');
  assert.ok(text.endsWith('\n'), `${where}: ends with LF`);
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((l, i) => {
    assert.equal(l.slice(0, 2), i === 0 ? '\x06\x09' : '\x04\x14', `${where}: line ${i} marker`);
    const b64 = l.slice(2);
    assert.ok(l.length + 1 <= 127, `${where}: line ${i} fits 127 bytes with its LF`);
    assert.equal(b64.length % 4, 0, `${where}: whole base64 groups`);
    assert.match(b64, /^[A-Za-z0-9+/]*={0,2}$/, `${where}: base64 alphabet, no CR`);
    if (i < lines.length - 1) assert.ok(!b64.includes('='), `${where}: padding only on the last line`);
  });
}

test('every well-formed recorded request re-encodes to a frame with the same rules, header and values', () => {
  let checked = 0;
  let identical = 0;
  for (const { file, e } of all) {
    if (!wellFormed(e)) continue;
    const where = `${file} ${e.label}`;
    const h = e.req!.header;
    const cbor = encodeCbor(fromRecordedJson(e.req!.json));
    const header = { op: h.op!, version: h.version!, reserved: h.reserved ?? h.reserved_bits ?? 0, flags: h.flags!, len: cbor.length, group: h.group!, seq: h.seq!, id: h.id! };
    const wire = encodeFrame(Buffer.concat([encodeHeader(header), cbor]));
    assertFramingRules(wire, where);
    const packet = decodeFrame(wire);
    const got = decodeHeader(packet);
    assert.deepEqual(got, header, where);
    assert.deepEqual(decodeCbor(packet.subarray(8)), decodeCbor(Buffer.from(e.req!.cborHex, 'hex')), where);
    const standardLines = Buffer.from(encodeFrame(Buffer.from(e.req!.packetHex, 'hex'))).equals(Buffer.from(e.reqWire));
    if (standardLines && Buffer.from(cbor).toString('hex') === e.req!.cborHex) {
      assert.equal(Buffer.from(wire).toString('hex'), Buffer.from(e.reqWire).toString('hex'), `${where}: same bytes on the wire`);
      identical++;
    }
    checked++;
  }
  assert.ok(checked > 300, `checked ${checked} requests`);
  assert.ok(identical > 250, `${identical} byte-identical`);
});

test('every recorded response decodes to the recorded header and values', () => {
  let checked = 0;
  for (const { file, e } of all) {
    if (!e.respWire || !e.resp) continue;
    const where = `${file} ${e.label}`;
    const packet = decodeFrame(e.respWire);
    const h = decodeHeader(packet);
    for (const k of ['op', 'version', 'flags', 'len', 'group', 'seq', 'id'] as const) assert.equal(h[k], e.resp.header[k], `${where}: ${k}`);
    const body = packet.subarray(8);
    assert.equal(Buffer.from(body).toString('hex'), e.resp.cborHex, `${where}: CBOR bytes`);
    if (e.resp.json !== null) assert.deepEqual(decodeCbor(body), recordedToPlain(e.resp.json), where);
    else assert.equal(body.length, 0, where);
    checked++;
  }
  assert.ok(checked > 350, `checked ${checked} responses`);
});
