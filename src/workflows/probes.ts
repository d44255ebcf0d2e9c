/**
 * Identification probes: each asks "are you a …?" in a way that harms none of
 * the others, and answers with what it learned or undefined. Detect runs them
 * in order on a freshly opened link. Probes for a protocol are added here as
 * its client lands (SMP for MCUboot serial recovery / Zephyr; AN3155 for the
 * STM32 ROM bootloader).
 */
import type { DeviceKind } from '../api/contract.ts';
import type { DeviceHandle } from './devices.ts';

export interface Identification {
  kind: Exclude<DeviceKind, 'identifying' | 'unknown'>;
  summary: string;
  identity: { name: string; value: string }[];
}

export interface Probe {
  name: string;
  identify(device: DeviceHandle, signal: AbortSignal): Promise<Identification | undefined>;
}

export const PROBES: Probe[] = [];
