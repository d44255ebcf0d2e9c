import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeAn3155, describeDfu, describeSmpPacket, decodeTrace, readTrace } from '../../../src/devices/wire-trace.ts';
import { addressFrame, commandFrame, CMD } from '../../../src/stm32/an3155/codec.ts';
import { DfuRequest, encodeStatus } from '../../../src/dfu/protocol.ts';
import { encodeHeader } from '../../../src/smp/header.ts';
import { encodeCbor } from '../../../src/smp/cbor.ts';
import { TraceRecorder, tracedControl, tracedTransport } from '../../../src/transport/trace.ts';
import type { ByteTransport } from '../../../src/transport/types.ts';

test('AN3155 bytes are named: sync, command names, addresses with their checksum, ACK/NACK', () => {
  assert.equal(describeAn3155('tx', new Uint8Array([0x7f])), 'AN3155 sync (0x7F)');
  assert.equal(describeAn3155('tx', commandFrame(CMD.writeMemory)), 'AN3155 command writeMemory (0x31)');
  assert.equal(describeAn3155('tx', addressFrame(0x08004000)), 'AN3155 address 0x08004000');
  assert.equal(describeAn3155('tx', new Uint8Array([1, 2, 4])), 'AN3155 data, 3 bytes, checksum BAD');
  assert.equal(describeAn3155('rx', new Uint8Array([0x79])), 'AN3155 ACK');
  assert.equal(describeAn3155('rx', new Uint8Array([0x1f])), 'AN3155 NACK');
  assert.equal(describeAn3155('rx', new Uint8Array([0x79, 0x0b, 0x31])), 'AN3155 ACK + 2 bytes');
});

test('DFU requests are named, DfuSe commands and GETSTATUS answers decoded', () => {
  assert.equal(describeDfu('out', DfuRequest.DNLOAD, 0, new Uint8Array([0x21, 0x00, 0x40, 0x00, 0x08])), 'DFU DNLOAD DfuSe SET_ADDRESS 0x08004000');
  assert.equal(describeDfu('out', DfuRequest.DNLOAD, 2, new Uint8Array(2048)), 'DFU DNLOAD block 2, 2048 bytes');
  assert.equal(describeDfu('in', DfuRequest.GETSTATUS, 0, encodeStatus({ status: 0, pollTimeout: 25, state: 5, iString: 0 })), 'DFU GETSTATUS -> OK, state dfuDNLOAD-IDLE, poll 25 ms');
  assert.match(describeDfu('out', DfuRequest.CLRSTATUS, 0, new Uint8Array(0), 'stalled'), /^DFU CLRSTATUS wValue 0 FAILED: stalled$/);
});

test('SMP packets: header fields and the CBOR body; damaged packets are described, not thrown', () => {
  const body = encodeCbor({ rc: 3 });
  const packet = new Uint8Array([...encodeHeader({ op: 3, version: 0, flags: 0, len: body.length, group: 1, seq: 9, id: 1 }), ...body]);
  assert.equal(describeSmpPacket(packet), 'SMP write-rsp image/upload seq 9 {rc: 3} -> rc 3 (EINVAL)');
  assert.match(describeSmpPacket(packet.subarray(0, 9)), /header says \d+ body bytes, 1 present/);
  assert.equal(describeSmpPacket(new Uint8Array(3)), 'short SMP packet (3 bytes)');
});

test('the recorder writes every byte both ways and every control transfer; a damaged trace line is named', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-trace-'));
  try {
    const path = join(dir, 't.trace');
    const rec = TraceRecorder.create(path, 'test');
    let deliver: (d: Uint8Array) => void = () => {};
    const inner: ByteTransport = { description: 'fake', write: async () => {}, onData: (l) => void (deliver = l), onClose: () => {}, close: async () => {} };
    const t = tracedTransport(inner, rec, 'an3155');
    const got: Uint8Array[] = [];
    t.onData((d) => got.push(d));
    await t.write(new Uint8Array([0x7f]));
    deliver(new Uint8Array([0x79]));
    const ctl = tracedControl({ in: async () => encodeStatus({ status: 0, pollTimeout: 0, state: 2, iString: 0 }), out: async () => {} }, rec, 'usb');
    await ctl.in(DfuRequest.GETSTATUS, 0, 6);
    await t.close();
    rec.close();
    assert.equal(got.length, 1, 'the client still receives its bytes');
    const events = decodeTrace(readTrace(readFileSync(path, 'utf8'))).map((e) => `${e.dir} ${e.decoded ?? ''}`);
    assert.deepEqual(events, [
      ' link opened: fake (an3155)',
      'tx AN3155 sync (0x7F)',
      'rx AN3155 ACK',
      ' link opened: usb (dfu)',
      'in DFU GETSTATUS -> OK, state dfuIDLE, poll 0 ms',
      ' link closed: closed by the host',
    ]);
    const text = readFileSync(path, 'utf8').split('\n');
    text[2] = text[2]!.replace('"dir":"tx"', '"dir":"tx","extra":1');
    assert.throws(() => readTrace(text.join('\n'), 't.trace'), /t\.trace line 3: unknown field "extra"/);
    assert.throws(() => readTrace('{"kind":"data"', 't.trace'), /t\.trace line 1 is not JSON/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
