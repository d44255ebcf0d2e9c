/** `unbrick sim stm32`: a simulated STM32 with its bootloader on a pseudo-terminal. */
import { usageError } from '../../../core/errors.ts';
import { seededRandom } from '../../../core/random.ts';
import { formatPid } from '../../../stm32/chips/index.ts';
import { parsePageList } from '../../../stm32/option-bytes/changes.ts';
import { MODELLED_CHIPS, startStm32PtySim } from '../../../sim/stm32/index.ts';
import { type Command, requireString, stringOpt } from '../../framework.ts';

export const simStm32Command: Command = {
  name: 'stm32',
  summary: 'a simulated STM32 with its system bootloader on a pty (first output line: the pty path)',
  description: `Chips: ${MODELLED_CHIPS.join(', ')} (or any product ID from the chip table, e.g. 0x410). Hosts open the pty as 8N1 (a pty has no parity; stm32flash needs -m 8n1); timing is that of 8E1. Runs until Ctrl-C.`,
  options: {
    chip: { type: 'string', value: 'NAME', description: 'chip to simulate' },
    baud: { type: 'string', value: 'N', description: 'line pacing (0 = unpaced, for use behind linesim)', default: '115200' },
    'get-checksum': { type: 'boolean', description: 'offer Get Checksum (0xA1), as newer bootloaders do' },
    'time-scale': { type: 'string', value: 'X', description: 'multiply flash erase/program times (1 = datasheet)', default: '1' },
    'readout-protected': { type: 'boolean', description: 'start with RDP level 1' },
    'write-protected': { type: 'string', value: 'CODES', description: 'start with Write Protect sector codes set, e.g. 0-1' },
    'old-firmware': { type: 'string', value: 'KIB', description: 'start with this much programmed (non-blank) flash, like a unit in the field' },
    corrupt: { type: 'string', value: 'P', description: 'fault: flip a bit with probability P per byte' },
    drop: { type: 'string', value: 'P', description: 'fault: drop a byte with probability P' },
    'stall-after': { type: 'string', value: 'N', description: 'fault: go silent after N received bytes (for --stall-ms)' },
    'stall-ms': { type: 'string', value: 'MS', description: 'fault: stall length', default: '2000' },
    'disconnect-after': { type: 'string', value: 'N', description: 'fault: cut the line after N received bytes' },
    'reset-after': { type: 'string', value: 'N', description: 'fault: reset the chip after N received bytes' },
    uid: { type: 'string', value: 'HEX', description: "the chip's 96-bit unique ID, 24 hex digits (default: random)" },
    seed: { type: 'string', value: 'N', description: 'fault random seed', default: '1' },
  },
  async run(ctx) {
    const num = (name: string) => {
      const v = stringOpt(ctx, name);
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw usageError('usage.bad-number', `--${name} must be a non-negative number.`);
      return n;
    };
    const uidHex = stringOpt(ctx, 'uid');
    if (uidHex !== undefined && !/^[0-9a-fA-F]{24}$/.test(uidHex)) throw usageError('usage.bad-uid', `--uid must be 24 hex digits (96 bits), got "${uidHex}".`);
    const sim = startStm32PtySim({
      ...(uidHex ? { uid: new Uint8Array(Buffer.from(uidHex, 'hex')) } : {}),
      chip: requireString(ctx, 'chip'),
      baud: num('baud') ?? 115200,
      getChecksum: !!ctx.values['get-checksum'],
      timeScale: num('time-scale') ?? 1,
      resetAfterGoMs: 1000,
      faults: { corrupt: num('corrupt'), drop: num('drop'), stallAfter: num('stall-after'), stallMs: num('stall-ms'), disconnectAfter: num('disconnect-after'), resetAfter: num('reset-after'), seed: num('seed') },
    });
    const old = num('old-firmware');
    if (old) {
      const rand = seededRandom(num('seed') ?? 1);
      const n = Math.min(old * 1024, sim.sim.chip.flash.size);
      sim.sim.chip.flash.program(0, Uint8Array.from({ length: n }, () => Math.floor(rand() * 256)));
    }
    const wp = stringOpt(ctx, 'write-protected');
    if (wp) sim.sim.chip.setWriteProtect(parsePageList(wp));
    if (ctx.values['readout-protected']) sim.sim.chip.setReadoutProtect();
    if (wp || ctx.values['readout-protected']) sim.sim.reset();
    process.stdout.write(`${sim.path}\n`);
    const info = sim.sim.chip.info;
    ctx.warn(`Simulating ${info.name} (PID ${formatPid(info.pid)}, UID ${Buffer.from(sim.sim.chip.uid).toString('hex')}) on ${sim.path}; ${sim.sim.chip.timing.text}. Ctrl-C stops.`);
    await new Promise<void>((resolve) => (ctx.signal.aborted ? resolve() : ctx.signal.addEventListener('abort', () => resolve(), { once: true })));
    const st = sim.sim.chip.snapshot();
    sim.close();
    return { data: { path: sim.path, chip: info.name, rdpLevel: st.rdpLevel, wrpPages: st.wrpPages, resets: sim.sim.resets }, human: [] };
  },
};
