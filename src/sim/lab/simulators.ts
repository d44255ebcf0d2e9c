/**
 * Which simulator plays each lab unit. A simulator takes the device end of a
 * cable and answers on it (MCUboot serial recovery, a Zephyr SMP app, the STM32
 * ROM bootloader). A scenario without a simulator returns undefined: the lab
 * lists it but says plainly that it cannot answer.
 */
import type { ByteTransport } from '../../transport/types.ts';
import type { LabUnitSpec } from './units.ts';
import { stm32Board, type Stm32BoardOptions } from './stm32-board.ts';
import { smpBoard, type SmpBoardOptions } from './smp-board.ts';
import type { Stm32Faults } from '../stm32/index.ts';
import type { UnitUart } from './uart.ts';

export interface LabSimulator {
  /** Connects the simulator to a fresh cable (the previous one, if any, was cut). */
  attach(device: ByteTransport): void;
  /** How the unit's UART is set right now (the lab breaks bytes a host sends or reads with other framing). */
  uart(): UnitUart;
  /** The unit's power was cycled (its cable plugged back in): it boots again. */
  powerCycle?(): void;
  /** The unit stops answering for `ms`, then answers again (fault injection). */
  stall?(ms: number): void;
  dispose?(): Promise<void>;
}

export type LabSimulatorFactory = (spec: LabUnitSpec) => Promise<LabSimulator>;

/** Line faults per lab unit id (tests and teaching: what a bad cable does to each workflow). */
export type LabFaults = Record<string, Stm32Faults>;

/** Setup and device faults per SMP lab unit id. */
export type LabSmpBoards = Record<string, SmpBoardOptions>;

/** Chip setup per STM32 lab unit id (its flash time scale: 0 for runs that are not about time). */
export type LabStm32Boards = Record<string, Pick<Stm32BoardOptions, 'timeScale'>>;

/** @param payloadBytes size of the application images units start with (default: the lab product's) */
export function simulatorFor(
  spec: LabUnitSpec,
  faults?: LabFaults,
  smpBoards?: LabSmpBoards,
  payloadBytes?: number,
  stm32Boards?: LabStm32Boards,
): LabSimulatorFactory | undefined {
  const size = payloadBytes ? { payloadBytes } : {};
  switch (spec.answersWith) {
    case 'stm32-rom':
      return async (s) => stm32Board(s, { ...size, ...stm32Boards?.[s.id], ...(faults?.[s.id] ? { faults: faults[s.id]! } : {}) });
    case 'mcuboot-serial':
    case 'zephyr-smp':
      return async (s) => smpBoard(s, { ...size, ...smpBoards?.[s.id] });
  }
}
