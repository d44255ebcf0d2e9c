/**
 * Clients facing a hostile device, over in-process transports: the SMP client
 * (and the group helpers, upload, probe and diagnosis on top of it), the
 * AN3155 client (a hostile STM32 bootloader), and the DfuSe client (hostile
 * status, state and upload answers). The input is the device's tape: every
 * answer it gives is read from it; once it runs out the device goes silent,
 * so every run ends by the clients' own timeouts.
 */
import { SmpClient } from '../../../src/smp/client.ts';
import { encodeCbor, CborMap } from '../../../src/smp/cbor.ts';
import { encodeFrame, FrameReader } from '../../../src/smp/frame.ts';
import { decodeHeader, encodeHeader } from '../../../src/smp/header.ts';
import * as image from '../../../src/smp/groups/image.ts';
import * as os from '../../../src/smp/groups/os.ts';
import * as fs from '../../../src/smp/groups/fs.ts';
import * as settings from '../../../src/smp/groups/settings.ts';
import { planUpload, uploadImage } from '../../../src/smp/upload.ts';
import { identifySmp } from '../../../src/devices/probes.ts';
import { diagnoseSmp } from '../../../src/workflows/diagnose-smp.ts';
import { An3155Client } from '../../../src/stm32/an3155/client.ts';
import { ACK, NACK } from '../../../src/stm32/an3155/codec.ts';
import { identify as identifyStm32 } from '../../../src/stm32/session.ts';
import * as stm32ops from '../../../src/stm32/operations.ts';
import { DfuClient, type DfuControl } from '../../../src/dfu/client.ts';
import { DfuRequest } from '../../../src/dfu/protocol.ts';
import { parseMemoryLayout } from '../../../src/formats/dfuse/index.ts';
import { deviceError } from '../../../src/core/errors.ts';
import type { ByteTransport } from '../../../src/transport/types.ts';
import { simulatedPort } from '../../../src/sim/port.ts';
import type { FuzzTarget } from '../engine.ts';
import { Tape } from '../mutate.ts';
import { genMap, genValue } from '../cbor-gen.ts';

/**
 * A transport whose device side is `answer`: called with each write, returns
 * what the device sends back (delivered asynchronously), or 'unplug' once its
 * tape is spent: the cable is pulled, so runs end without waiting out every
 * retry of every request.
 */
function hostileTransport(answer: (written: Uint8Array) => Uint8Array[] | 'unplug', spent: () => boolean = () => false): ByteTransport {
  const link = simulatedPort('hostile device', 'The hostile device was unplugged.', (data) => {
    const out = answer(data);
    if (out === 'unplug') return link.unplug(new Error('unplugged'), true);
    for (const piece of out) link.toHost(piece);
    // Its last answer sent, a device whose tape is spent goes away (the client need not wait out a long timeout for nothing).
    if (spent()) setImmediate(() => link.unplug(new Error('unplugged')));
  });
  return link.port;
}

/**
 * A client target: the tape picks one of `ops`, then drives the device under a fresh client
 * (made after the pick, from the same tape); the client is closed after, its signal aborted.
 */
function clientTarget<C>(o: Omit<FuzzTarget, 'run'> & { ops: Array<(c: C, signal: AbortSignal) => Promise<unknown>>; client(t: Tape): C; close?(c: C): Promise<void> }): FuzzTarget {
  const { ops, client, close, ...target } = o;
  return {
    ...target,
    async run(input) {
      const t = new Tape(input);
      const op = ops[t.int(ops.length)]!;
      const c = client(t);
      const ac = new AbortController();
      try {
        await op(c, ac.signal);
      } finally {
        ac.abort();
        await close?.(c);
      }
    },
  };
}

// ---- SMP --------------------------------------------------------------------

/** The SMP device: reads each request's header and answers from the tape (matching header, foreign header, garbage, split, silence). */
function smpDevice(t: Tape): ByteTransport {
  let pending: Uint8Array[] = [];
  const reader = new FrameReader((e) => {
    if (e.kind !== 'packet' || e.packet.length < 8) return;
    const h = decodeHeader(e.packet);
    if (t.left === 0) return;
    const choice = t.int(10);
    if (choice === 0 && t.int(2) === 0) return; // silence
    let body: Uint8Array;
    if (choice <= 5) body = encodeCbor(genMap(t));
    else if (choice === 6) body = encodeCbor(CborMap.of({ rc: t.int(12) }));
    else if (choice === 7) body = encodeCbor(genValue(t));
    else body = t.take(t.int(64));
    const hdr = choice === 8 ? Uint8Array.from(t.take(8)) : encodeHeader({ ...h, op: h.op + 1, len: body.length, flags: 0, version: t.int(3) === 0 ? 1 : h.version });
    const packet = Uint8Array.from([...hdr, ...body]);
    const frame = t.int(8) === 0 ? t.take(t.int(200)) : encodeFrame(packet, 4 * (1 + t.int(40)));
    if (t.int(4) === 0) {
      const cut = t.int(frame.length + 1);
      pending.push(frame.subarray(0, cut), frame.subarray(cut));
    } else pending.push(frame);
    if (t.int(6) === 0) pending.push(Buffer.from('uart:~$ log text\r\n'));
  });
  return hostileTransport((written) => {
    if (t.left === 0) return 'unplug';
    reader.push(written);
    const out = pending;
    pending = [];
    return out;
  }, () => t.left === 0);
}

const smallImage = (() => {
  const b = new Uint8Array(3000).map((_, i) => (i * 7) & 0xff);
  new DataView(b.buffer).setUint32(0, 0x96f3b83d, true);
  return b;
})();

const SMP_OPS: Array<(c: SmpClient, signal: AbortSignal) => Promise<unknown>> = [
  (c) => image.list(c),
  (c) => image.slotInfo(c),
  (c) => image.setState(c, { hash: '00'.repeat(32), confirm: false }),
  (c) => image.erase(c, 1),
  (c) => os.echo(c, 'hello'),
  (c) => os.params(c, 0),
  (c) => os.bootloaderInfo(c),
  (c) => os.info(c),
  (c) => os.reset(c, false, { retries: 0 }),
  (c) => planUpload(c),
  (c, signal) => uploadImage(c, smallImage, { signal, stallTimeoutMs: 200, plan: { maxPacket: 256, window: 2 } }),
  (c, signal) => fs.downloadFile(c, '/lfs/data.bin', { signal, maxBytes: 8192 }),
  (c, signal) => fs.uploadFile(c, '/lfs/data.bin', smallImage.subarray(0, 700), { signal, maxPacket: 256 }),
  (c) => fs.fileHash(c, '/lfs/data.bin'),
  (c) => fs.hashTypes(c),
  (c) => fs.fileStatus(c, '/lfs/x'),
  (c) => settings.readSetting(c, 'unit/serial'),
  (c) => settings.writeSetting(c, 'unit/serial', Uint8Array.of(1, 2, 3)),
  (c) => identifySmp(c),
  (c, signal) => diagnoseSmp(c, 'mcuboot-serial', signal),
  (c, signal) => diagnoseSmp(c, 'zephyr-smp', signal),
];

const smpClient = clientTarget({
  name: 'smp-client',
  weight: 4,
  // Waiting on timeouts costs nothing but a timer: many runs side by side.
  concurrency: 1024,
  // The longest wait the client documents: image erase, 30 s and one retry.
  timeoutMs: 75_000,
  ops: SMP_OPS,
  client: (t) => new SmpClient(smpDevice(t), { timeoutMs: 15, retries: 1 }),
  close: (c) => c.close(),
});

// ---- AN3155 -----------------------------------------------------------------

/** The bootloader: answers each write from the tape, biased to ACK so commands get past their first step. */
function an3155Device(t: Tape): ByteTransport {
  return hostileTransport(() => {
    if (t.left === 0) return 'unplug';
    const c = t.int(12);
    if (c <= 5) return [Uint8Array.of(ACK)];
    if (c === 6) return [Uint8Array.of(NACK)];
    if (c === 7) return [Uint8Array.of(ACK, t.byte())];
    if (c === 8) return [Uint8Array.of(ACK, ...t.take(t.int(300)))];
    if (c === 9) return [t.take(1 + t.int(8))];
    if (c === 10) return [Uint8Array.of(ACK), t.take(t.int(260)), Uint8Array.of(ACK)];
    return [];
  });
}

const AN3155_OPS: Array<(c: An3155Client) => Promise<unknown>> = [
  (c) => c.identify(),
  (c) => c.get(),
  (c) => c.getVersion(),
  (c) => c.getId(),
  (c) => c.readMemory(0x08000000, 256),
  (c) => c.writeMemory(0x08000000, Uint8Array.of(1, 2, 3, 4, 5)),
  (c) => c.extendedErase([0, 1, 2], 50),
  (c) => c.eraseLegacy('global', 50),
  (c) => c.getChecksum(0x08000000, 1024),
  (c) => c.go(0x08000000),
  (c) => c.writeUnprotect(),
  (c) => c.readoutUnprotect(),
  async (c) => {
    const s = await identifyStm32(c);
    await stm32ops.readOptionBytes(s);
    await stm32ops.probeReadout(s);
  },
  async (c) => {
    const s = await identifyStm32(c);
    await stm32ops.readMemory(s, s.chip.flash.start, 600);
  },
];

const an3155 = clientTarget({
  name: 'an3155-client',
  weight: 4,
  concurrency: 256,
  timeoutMs: 30_000,
  ops: AN3155_OPS,
  client: (t) => new An3155Client(an3155Device(t), { replyMs: 20, writeAckMs: 20, massEraseMs: 40, optionMs: 30, baud: 10_000_000 }),
});

// ---- DfuSe ------------------------------------------------------------------

/** The DFU device: GETSTATUS, GETSTATE and UPLOAD answers from the tape; OUT requests may stall. */
function dfuDevice(t: Tape): DfuControl {
  let calls = 0;
  const stall = () => deviceError('usb.stall', 'The device stalled the request.');
  return {
    async in(request, _value, length) {
      if (++calls > 2000 || t.left === 0) throw stall();
      if (t.int(16) === 0) throw stall();
      if (request === DfuRequest.GETSTATUS) {
        const c = t.int(6);
        if (c === 0) return t.take(t.int(8));
        // status, pollTimeout (often small), state, iString
        return Uint8Array.of(c === 1 ? t.int(16) : 0, t.int(4) === 0 ? t.byte() : t.int(3), t.int(4) === 0 ? t.byte() : 0, t.int(4) === 0 ? t.byte() : 0, t.int(11), 0);
      }
      if (request === DfuRequest.GETSTATE) return t.take(t.int(3));
      return t.take(t.int(4) === 0 ? t.int(length + 64) : length);
    },
    async out() {
      if (++calls > 2000 || t.left === 0) throw stall();
      if (t.int(16) === 0) throw stall();
    },
  };
}

const LAYOUT = parseMemoryLayout('@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg');

const DFU_OPS: Array<(c: DfuClient) => Promise<unknown>> = [
  (c) => c.ensureIdle(),
  (c) => c.read(0x08000000, 5000),
  (c) => c.write(0x08000000, new Uint8Array(5000).fill(0x5a), LAYOUT),
  (c) => c.massErase(),
  (c) => c.readUnprotect(),
  (c) => c.writeOptionBytes(0x1fffc000, new Uint8Array(16)),
  (c) => c.leave(0x08000000),
];

const dfuse = clientTarget({
  name: 'dfuse-client',
  weight: 6,
  concurrency: 16,
  timeoutMs: 10_000,
  ops: DFU_OPS,
  // Polls follow the device's bwPollTimeout; a hostile one asks for hours, so sleeps are counted, not slept.
  client: (t) => new DfuClient(dfuDevice(t), { transferSize: 1 + t.int(4096), sleep: () => new Promise((r) => setImmediate(r)) }),
});


export const DEVICE_TARGETS: FuzzTarget[] = [smpClient, an3155, dfuse];
