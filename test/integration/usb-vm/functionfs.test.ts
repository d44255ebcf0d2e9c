/**
 * The FunctionFS front end's byte formats (include/uapi/linux/usb/functionfs.h), checked on the host; the
 * VM stage (usb-vm.vm.ts) proves the kernel accepts them and the device works on a real USB stack.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DfuRequest, DfuseCommand } from '../../../src/dfu/protocol.ts';
import { createDfuseSimulator } from '../../../src/sim/dfuse/index.ts';
import { AltFromAddress, decodeFfsEvents, FfsEventType, functionFsDescriptors, functionFsStrings } from '../../../src/sim/dfuse/functionfs.ts';

const { sim } = createDfuseSimulator({ chip: '0x413', timeScale: 0 });
const u32 = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset).getUint32(off, true);

test('descriptors: V2 magic, full- and high-speed copies of the DFU interface with its functional descriptor', () => {
  const body = sim.interfaceDescriptors();
  const blob = functionFsDescriptors(body);
  assert.equal(u32(blob, 0), 3, 'FUNCTIONFS_DESCRIPTORS_MAGIC_V2');
  assert.equal(u32(blob, 4), blob.length);
  assert.equal(u32(blob, 8), 1 | 2, 'HAS_FS_DESC | HAS_HS_DESC');
  const count = sim.backend.altNames.length + 1; // one interface descriptor per alt + the functional descriptor
  assert.equal(u32(blob, 12), count);
  assert.equal(u32(blob, 16), count);
  assert.deepEqual(blob.subarray(20, 20 + body.length), body);
  assert.deepEqual(blob.subarray(20 + body.length), body);
  // The functional descriptor (type 0x21) is the last one: 9 bytes, wTransferSize, bcdDFUVersion 0x011a.
  const fd = body.subarray(body.length - 9);
  assert.equal(fd[1], 0x21);
  assert.equal(fd[5]! | (fd[6]! << 8), sim.transferSize);
  assert.equal(fd[7]! | (fd[8]! << 8), 0x011a);
});

test('descriptors: a malformed run (zero bLength, overrun) is refused', () => {
  assert.throws(() => functionFsDescriptors(new Uint8Array([9, 4, 0, 0, 0, 0xfe, 1, 2, 1, 0, 4])), /malformed/);
  assert.throws(() => functionFsDescriptors(new Uint8Array([9, 4, 0])), /malformed/);
});

test('strings: one US-English table, NUL-terminated, in descriptor index order', () => {
  const names = sim.backend.altNames;
  const blob = functionFsStrings(names);
  assert.equal(u32(blob, 0), 2, 'FUNCTIONFS_STRINGS_MAGIC');
  assert.equal(u32(blob, 4), blob.length);
  assert.equal(u32(blob, 8), names.length);
  assert.equal(u32(blob, 12), 1);
  assert.equal(blob[16]! | (blob[17]! << 8), 0x0409);
  const text = new TextDecoder().decode(blob.subarray(18));
  assert.deepEqual(text.split('\0'), [...names, '']);
  assert.match(names[0]!, /^@Internal Flash {2}\/0x08000000\//);
});

test('events: 12-byte records with the setup packet little-endian', () => {
  const buf = new Uint8Array(24);
  buf.set([0xa1, DfuRequest.GETSTATUS, 0, 0, 0, 0, 6, 0, FfsEventType.SETUP], 0);
  buf.set([0, 0, 0, 0, 0, 0, 0, 0, FfsEventType.ENABLE], 12);
  const [a, b] = decodeFfsEvents(buf);
  assert.deepEqual(a, { type: FfsEventType.SETUP, setup: { bmRequestType: 0xa1, bRequest: 3, wValue: 0, wIndex: 0, wLength: 6 } });
  assert.equal(b?.type, FfsEventType.ENABLE);
  const c = decodeFfsEvents(new Uint8Array([0x21, 1, 0x34, 0x12, 0, 0, 0x00, 0x08, 4, 0, 0, 0]))[0]!;
  assert.equal(c.setup.wValue, 0x1234);
  assert.equal(c.setup.wLength, 0x800);
  assert.equal(decodeFfsEvents(new Uint8Array(11)).length, 0, 'a partial record is not an event');
});

test('alternate setting from the Set Address Pointer target (FunctionFS does not say which alt the host chose)', () => {
  const alts = new AltFromAddress(sim.backend.altNames);
  const setAddress = (a: number) => new Uint8Array([DfuseCommand.SET_ADDRESS, a & 0xff, (a >> 8) & 0xff, (a >> 16) & 0xff, a >>> 24]);
  const dnload0 = { bmRequestType: 0x21, bRequest: DfuRequest.DNLOAD, wValue: 0, wIndex: 0, wLength: 5 };
  assert.equal(alts.altFor(dnload0, setAddress(0x08000000)), 0);
  assert.equal(alts.altFor(dnload0, setAddress(0x080fffff)), 0);
  assert.equal(alts.altFor(dnload0, setAddress(0x1fffc000)), 1);
  assert.equal(alts.altFor(dnload0, setAddress(0x20000000)), undefined, 'outside every region: keep the current alt');
  assert.equal(alts.altFor(dnload0, new Uint8Array([DfuseCommand.ERASE, 0, 0, 0, 8])), undefined, 'erase does not select');
  assert.equal(alts.altFor({ ...dnload0, wValue: 2 }, setAddress(0x1fffc000)), undefined, 'data blocks do not select');
});
