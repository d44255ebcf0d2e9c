/**
 * Which simulator plays each lab unit. A simulator takes the device end of a
 * cable and answers on it (MCUboot serial recovery, a Zephyr SMP app, the STM32
 * ROM bootloader). Scenarios whose simulator has not landed yet return
 * undefined: the lab lists them but says plainly that they cannot answer.
 */
import type { ByteTransport } from '../../transport/types.ts';
import type { LabUnitSpec } from './units.ts';

export interface LabSimulator {
  /** Connects the simulator to a fresh cable (the previous one, if any, was cut). */
  attach(device: ByteTransport): void;
  dispose?(): Promise<void>;
}

export type LabSimulatorFactory = (spec: LabUnitSpec) => Promise<LabSimulator>;

const factories: Partial<Record<LabUnitSpec['answersWith'], LabSimulatorFactory>> = {};

export function simulatorFor(spec: LabUnitSpec): LabSimulatorFactory | undefined {
  return factories[spec.answersWith];
}
