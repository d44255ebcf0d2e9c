/**
 * Puts a simulated STM32 on a real pseudo-terminal, paced like its UART:
 * 8E1 = 11 bits per byte in both directions at the configured baud (baud 0:
 * unpaced, for use behind linesim). A pty carries no parity, so hosts open it
 * as 8N1 (stm32flash -m 8n1) while the timing stays that of 8E1.
 */
import { PacedLine } from '../line.ts';
import { openPty, type PtyEnd } from '../pty.ts';
import { createStm32Simulator, type Stm32BootloaderSim, type Stm32SimOptions } from './bootloader.ts';

export interface Stm32PtyOptions extends Stm32SimOptions {
  baud?: number;
}

export interface Stm32PtySim {
  path: string;
  sim: Stm32BootloaderSim;
  close(): void;
}

export const FRAME_BITS_8E1 = 11;

export function startStm32PtySim(opts: Stm32PtyOptions): Stm32PtySim {
  const baud = opts.baud ?? 115200;
  const pty: PtyEnd = openPty();
  const sim = createStm32Simulator(opts);
  const toHost = new PacedLine(baud, FRAME_BITS_8E1, (d) => pty.write(d));
  const toChip = new PacedLine(baud, FRAME_BITS_8E1, (d) => sim.feed(d));
  pty.onData((d) => toChip.push(d));
  sim.onOutput((d) => toHost.push(d));
  sim.setDrain(async () => {
    while (toHost.pending > 0) await new Promise((r) => setTimeout(r, 1));
  });
  // A reset drops whatever the host had still in flight to the chip.
  sim.onReset(() => toChip.flush());
  return {
    path: pty.path,
    sim,
    close() {
      sim.close();
      toHost.close();
      toChip.close();
      pty.close();
    },
  };
}
