import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDfuseSimulator } from '../../../src/sim/dfuse/index.ts';
import { openDfuSession } from '../../../src/dfu/session.ts';
import { DfuClient } from '../../../src/dfu/client.ts';
import { classControl } from '../../../src/transport/usb.ts';
import { UnbrickError } from '../../../src/core/errors.ts';
import { decodeOptionBytes, encodeOptionBytes } from '../../../src/stm32/option-bytes/index.ts';

// Flash times at 1/100 of the datasheet: the DFU poll waits still follow bwPollTimeout.
const setup = async (chip = 'f405') => {
  const s = createDfuseSimulator({ chip, timeScale: 0.01 });
  const session = await openDfuSession(s.usb);
  return { ...s, session };
};

const pattern = (n: number, seed = 1) => new Uint8Array(n).map((_, i) => (i * 31 + seed * 7 + (i >> 8)) & 0xff);

const typed = (code: string) => (e: unknown) => e instanceof UnbrickError && e.code === code;

test('the session reads the functional descriptor and the real F405 alt-setting strings', async () => {
  const { session } = await setup();
  assert.equal(session.functional.transferSize, 2048);
  assert.equal(session.functional.dfuVersion, 0x011a);
  assert.equal(session.alts[0]!.name, '@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg');
  assert.equal(session.alts[1]!.name, '@Option Bytes  /0x1FFFC000/01*016 e');
  assert.equal(session.alts[0]!.layout!.segments.reduce((n, s) => n + s.pageCount * s.pageSize, 0), 1024 * 1024);
});

test('write erases only the sectors it covers, then reads back identical', async () => {
  const { session, chip } = await setup();
  const client = await session.use(0);
  // Something in sector 5 (0x08020000) that a write to sectors 0-1 must not touch.
  chip.flash.program(0x20000, new Uint8Array([1, 2, 3, 4]));
  const data = pattern(20000);
  await client.write(0x08000000, data, session.alts[0]!.layout!);
  assert.deepEqual(await client.read(0x08000000, data.length), data);
  assert.deepEqual(chip.flash.read(0x20000, 4), new Uint8Array([1, 2, 3, 4]));
  assert.equal(chip.flash.isErased(20000, 0x8000 - 20000), true, 'the rest of sector 1 was erased, not programmed');
});

test('progress reports erase and write phases with rate', async () => {
  const { session } = await setup();
  const client = await session.use(0);
  const phases = new Set<string>();
  let last = 0;
  await client.write(0x08004000, pattern(8192), session.alts[0]!.layout!, (p) => {
    phases.add(p.phase);
    if (p.phase === 'Writing') last = p.done;
  });
  assert.deepEqual([...phases], ['Erasing', 'Writing']);
  assert.equal(last, 8192);
});

test('an address outside the flash layout is refused before anything is erased', async () => {
  const { session, chip } = await setup();
  const client = await session.use(0);
  chip.flash.program(0, new Uint8Array([0]));
  await assert.rejects(client.write(0x080ff000, pattern(0x2000), session.alts[0]!.layout!), typed('dfu.outside-memory'));
  assert.equal(chip.flash.read(0, 1)[0], 0, 'nothing erased');
});

test('read-protected chip: reads fail with a typed vendor error, then read-unprotect mass-erases and resets', async () => {
  const { session, chip, usb } = await setup();
  chip.flash.program(0, pattern(64));
  chip.setReadoutProtect();
  chip.loadOptions();
  const client = await session.use(0);
  await assert.rejects(client.read(0x08000000, 64), (e: unknown) => e instanceof UnbrickError && e.kind === 'device');
  await client.ensureIdle();
  await client.readUnprotect();
  assert.equal(chip.rdpLevel, 0);
  assert.equal(chip.flash.isErased(0, chip.flash.size), true);
  // The old handle is gone, like an unplugged device; the re-enumerated one works.
  await assert.rejects(client.getStatus(), typed('usb.disconnected'));
  const again = await openDfuSession(usb.reconnect()!);
  const c2 = await again.use(0);
  assert.deepEqual(await c2.read(0x08000000, 16), new Uint8Array(16).fill(0xff));
});

test('option bytes round trip through alt 1: read, decode, change WRP, encode, write, reset, read back', async () => {
  const { session, chip, usb } = await setup();
  const alt = session.alts[1]!;
  const region = alt.layout!.segments[0]!;
  const ob1 = await session.use(1);
  const image = await ob1.read(region.start, region.pageSize);
  const ob = decodeOptionBytes(chip.info, image);
  assert.equal(ob.rdp.level, 0);
  ob.wrpPages = [0, 1];
  await ob1.writeOptionBytes(region.start, encodeOptionBytes(chip.info, ob));
  assert.deepEqual([...chip.wrp].sort(), [0, 1], 'the reset loaded the new option bytes');
  const again = await openDfuSession(usb.reconnect()!);
  const back = decodeOptionBytes(chip.info, await (await again.use(1)).read(region.start, region.pageSize));
  assert.deepEqual(back.wrpPages, [0, 1]);
});

test('a write into write-protected sectors is silently not done, as on the chip; read-back shows it', async () => {
  const { session, chip } = await setup();
  chip.setWriteProtect([0]);
  chip.loadOptions();
  const client = await session.use(0);
  const data = pattern(4096, 3);
  await client.write(0x08000000, data, session.alts[0]!.layout!);
  const back = await client.read(0x08000000, data.length);
  assert.notDeepEqual(back, data);
});

test('L4-class flash refuses to program over non-erased double words: errWRITE, typed, device recovers', async () => {
  const { session, sim } = await setup('l476');
  const client = await session.use(0);
  const data = pattern(2048, 5);
  await client.write(0x08000000, data, session.alts[0]!.layout!);
  // Program the same block again without erasing, as a host with a bug would.
  await client.setAddress(0x08000000);
  assert.equal(sim.control({ bmRequestType: 0x21, bRequest: 1, wValue: 2, wIndex: 0, wLength: data.length }, data).kind, 'ack');
  const status = await client.getStatus();
  assert.deepEqual([status.status, status.state], [0x03, 10], 'errWRITE in dfuERROR');
  await client.ensureIdle();
  assert.deepEqual(await client.read(0x08000000, 16), data.subarray(0, 16));
});

test('a device that vanishes mid-read gives usb.disconnected, not a hang or an untyped error', async () => {
  const { usb } = await setup();
  let transfers = 0;
  const flaky = new Proxy(usb, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (prop === 'controlTransferIn' || prop === 'controlTransferOut')
        return (...args: unknown[]) => {
          if (++transfers > 12) return Promise.reject(new Error('LIBUSB_ERROR_NO_DEVICE: no such device'));
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const session = await openDfuSession(flaky);
  const client = await session.use(0);
  await assert.rejects(client.read(0x08000000, 64 * 1024), typed('usb.disconnected'));
});

test('a device without a DFU-mode interface, or with a zero transfer size, is refused with a typed error', async () => {
  const { usb, sim } = await setup();
  const noDfu = Object.assign(Object.create(Object.getPrototypeOf(usb)), usb);
  Object.defineProperty(noDfu, 'configuration', { get: () => ({ configurationValue: 1, interfaces: [{ interfaceNumber: 0, alternates: [{ alternateSetting: 0, interfaceClass: 0xff, interfaceSubclass: 0, interfaceProtocol: 0 }] }] }) });
  await assert.rejects(openDfuSession(noDfu), typed('dfu.no-interface'));
  const zero = Object.assign(Object.create(Object.getPrototypeOf(usb)), usb);
  const original = sim.interfaceDescriptors.bind(sim);
  sim.interfaceDescriptors = () => {
    const d = original();
    d[d.length - 4] = 0;
    d[d.length - 3] = 0;
    return d;
  };
  await assert.rejects(openDfuSession(zero), typed('dfu.bad-descriptor'));
});

test('unknown requests stall, the device reports dfuERROR, and ensureIdle clears it', async () => {
  const { sim, session } = await setup();
  const client = await session.use(0);
  const r = sim.control({ bmRequestType: 0x21, bRequest: 9, wValue: 0, wIndex: 0, wLength: 0 });
  assert.equal(r.kind, 'stall');
  assert.equal((await client.getStatus()).state, 10);
  await client.ensureIdle();
  assert.equal((await client.getStatus()).state, 2);
});

test('leave sends a zero-length download and tolerates the device dropping off', async () => {
  const { session, usb } = await setup();
  const client = await session.use(0);
  await client.leave(0x08000000);
  assert.equal(usb.opened, false);
});

test('a device that claims an hours-long poll timeout is called stuck after the client limit, not waited on', async () => {
  const { usb } = createDfuseSimulator({ chip: 'f405', timeScale: 0.01 });
  const session = await openDfuSession(usb);
  const slept: number[] = [];
  let fakeNow = 0;
  const realNow = performance.now.bind(performance);
  // Every GETSTATUS says dfuDNBUSY with bwPollTimeout 0xFFFFFF (4.6 h).
  const control = classControl(usb, session.interfaceNumber);
  const busy = {
    in: async (request: number, value: number, length: number) =>
      request === 3 ? new Uint8Array([0, 0xff, 0xff, 0xff, 4, 0]) : control.in(request, value, length),
    out: control.out,
  };
  const client = new DfuClient(busy, {
    transferSize: 2048,
    sleep: async (ms) => {
      slept.push(ms);
      fakeNow += ms;
    },
  });
  performance.now = () => realNow() + fakeNow;
  try {
    await assert.rejects(client.setAddress(0x08000000), typed('dfu.stuck'));
  } finally {
    performance.now = realNow;
  }
  assert.ok(slept.every((ms) => ms <= 40_000), `slept ${slept.join(', ')} ms`);
});

test('a device left mid-write (command sent, no status read yet) is waited out, not aborted into a stall', async () => {
  const { session, sim } = await setup();
  const client = await session.use(0);
  await client.setAddress(0x08000000);
  // A block is sent and the host vanishes before its GETSTATUS: the next host finds it pending.
  assert.equal(sim.control({ bmRequestType: 0x21, bRequest: 1, wValue: 2, wIndex: 0, wLength: 4 }, new Uint8Array([1, 2, 3, 4])).kind, 'ack');
  await client.ensureIdle();
  assert.equal((await client.getStatus()).state, 2);
});
