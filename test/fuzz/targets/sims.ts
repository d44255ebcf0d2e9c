/**
 * The simulators facing a hostile host: MCUboot serial recovery and Zephyr
 * smp_svr (framed requests with generated CBOR, garbage between), the STM32
 * ROM bootloader (command pairs, addresses and data blocks, checksums right
 * or wrong), and the DfuSe device (any control request in any state). A
 * simulator may refuse or ignore; it may not throw.
 */
import { encodeCbor } from '../../../src/smp/cbor.ts';
import { encodeFrame } from '../../../src/smp/frame.ts';
import { encodeHeader } from '../../../src/smp/header.ts';
import { McubootDevice } from '../../../src/sim/mcuboot-serial/device.ts';
import { ZephyrDevice } from '../../../src/sim/zephyr/device.ts';
import { HASH_ONLY } from '../../../src/sim/smp/image-check.ts';
import { createStm32Simulator } from '../../../src/sim/stm32/index.ts';
import { createDfuseSimulator } from '../../../src/sim/dfuse/index.ts';
import { CMD } from '../../../src/stm32/an3155/codec.ts';
import type { FuzzTarget } from '../engine.ts';
import { Tape } from '../mutate.ts';
import { genMap } from '../cbor-gen.ts';

const tick = () => new Promise((r) => setImmediate(r));

/** Groups and ids the SMP devices implement, so most requests reach a handler. */
const SMP_CALLS: Array<[group: number, id: number]> = [
  [0, 0], [0, 1], [0, 2], [0, 6], [0, 7], [0, 8], [1, 0], [1, 1], [1, 5], [1, 6], [3, 0], [3, 1], [3, 2], [3, 3], [8, 0], [8, 1], [8, 2], [8, 3], [8, 4], [63, 0], [9, 0], [2, 0],
];

function smpRequests(t: Tape): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let n = 1 + t.int(12); n > 0 && t.left > 0; n--) {
    const k = t.int(10);
    if (k === 0) {
      out.push(t.take(t.int(160)));
      continue;
    }
    const [group, id] = t.int(8) === 0 ? [t.byte(), t.byte()] : t.pick(SMP_CALLS);
    const body = encodeCbor(genMap(t));
    const op = t.pick([0, 2, 2, 0, 1, 3]);
    const hdr = encodeHeader({ op, version: t.int(3) === 0 ? 1 : 0, flags: 0, len: t.int(10) === 0 ? t.int(65536) : body.length, group, seq: t.byte(), id });
    const frame = encodeFrame(Uint8Array.from([...hdr, ...body]), 4 * (1 + t.int(60)));
    if (k === 1) frame[t.int(frame.length)]! ^= 1 << t.int(8);
    out.push(frame);
  }
  return out;
}

async function drive(dev: McubootDevice | ZephyrDevice, t: Tape): Promise<void> {
  dev.onOutput(() => {});
  try {
    for (const piece of smpRequests(t)) {
      dev.input(piece);
      await tick();
    }
  } finally {
    dev.dispose();
  }
}

const mcubootSim: FuzzTarget = {
  name: 'sim-mcuboot',
  weight: 5,
  concurrency: 8,
  timeoutMs: 30_000,
  run: (input) => drive(new McubootDevice({ checker: HASH_ONLY, slotSize: 0x8000, sectorSize: 0x1000 }), new Tape(input)),
};

const zephyrSim: FuzzTarget = {
  name: 'sim-zephyr',
  weight: 5,
  concurrency: 8,
  timeoutMs: 30_000,
  run: (input) => drive(new ZephyrDevice({ checker: HASH_ONLY, slotSize: 0x8000, sectorSize: 0x1000 } as ConstructorParameters<typeof ZephyrDevice>[0]), new Tape(input)),
};

const CMDS = Object.values(CMD);

/** Host bytes for the bootloader: sync, command pairs (checksummed or not), addresses, counts, data blocks. */
function an3155Host(t: Tape): Uint8Array[] {
  const out: Uint8Array[] = [Uint8Array.of(0x7f)];
  const xor = (b: number[]) => b.reduce((a, x) => a ^ x, 0);
  for (let n = 1 + t.int(10); n > 0 && t.left > 0; n--) {
    const k = t.int(8);
    if (k === 0) out.push(t.take(t.int(40)));
    else {
      const c = t.int(6) === 0 ? t.byte() : t.pick(CMDS);
      out.push(Uint8Array.of(c, t.int(8) === 0 ? t.byte() : c ^ 0xff));
      const addr = [0x08, 0, t.byte() & 0xfc, 0];
      if (t.bool()) out.push(Uint8Array.of(...addr, t.int(8) === 0 ? t.byte() : xor(addr)));
      const len = t.byte();
      const data = Array.from(t.take(Math.min(len + 1, 64)));
      if (t.bool()) out.push(Uint8Array.of(len, ...data, t.int(8) === 0 ? t.byte() : xor([len, ...data])));
      else out.push(Uint8Array.of(len, len ^ 0xff));
    }
  }
  return out;
}

const stm32Sim: FuzzTarget = {
  name: 'sim-stm32',
  weight: 5,
  concurrency: 16,
  // Its byte loop waits on the event loop: on a loaded machine 16 runs side by side take seconds each.
  timeoutMs: 30_000,
  async run(input) {
    const t = new Tape(input);
    const sim = createStm32Simulator({ chip: t.pick(['f103', 'f405', 'l476', 'g071']), timeScale: 0, getChecksum: t.bool() });
    sim.onOutput(() => {});
    try {
      for (const piece of an3155Host(t)) {
        sim.feed(piece);
        for (let i = 0; i < 4; i++) await tick();
      }
    } finally {
      sim.close();
    }
  },
};

const dfuseSim: FuzzTarget = {
  name: 'sim-dfuse',
  weight: 5,
  run(input) {
    const t = new Tape(input);
    const { sim } = createDfuseSimulator({ chip: t.pick(['f405', 'l476', 'g071', 'f103']), timeScale: 0 });
    for (let n = 1 + t.int(30); n > 0 && t.left > 0; n--) {
      const bRequest = t.int(8) === 0 ? t.byte() : t.int(7);
      const wValue = t.int(4) === 0 ? t.int(65536) : t.int(4);
      const wLength = t.int(4) === 0 ? t.int(65536) : t.int(2100);
      const data = bRequest === 1 ? (t.bool() ? Uint8Array.of(t.pick([0x21, 0x41, 0x92, 0x00, t.byte()]), 0, t.byte() & 0xf0, t.int(3) ? 0x08 : t.byte(), ...(t.int(4) ? [] : t.take(3))) : t.take(t.int(2100))) : new Uint8Array(0);
      if (t.int(10) === 0) sim.setAlt(t.int(4));
      sim.control({ bmRequestType: 0x21 | (t.bool() ? 0x80 : 0), bRequest, wValue, wIndex: 0, wLength }, data);
    }
  },
};

export const SIM_TARGETS: FuzzTarget[] = [mcubootSim, zephyrSim, stm32Sim, dfuseSim];
