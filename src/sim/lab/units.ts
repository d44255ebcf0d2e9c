/**
 * The demo lab's units: one of each situation a technician meets. The lab is
 * the default device source when no hardware is attached, so every workflow
 * can be tried and taught without a cable.
 */

export type LabScenario = 'recovery-empty-slot' | 'corrupt-image' | 'mcuboot-erased-wrp' | 'rdp-level-1' | 'healthy-pending-test' | 'low-battery' | 'boot-loop';

export interface LabUnitSpec {
  id: string;
  label: string;
  scenario: LabScenario;
  /** What a technician would be told this unit is, in plain words (shown in the lab panel). */
  story: string;
  /** The protocol the unit answers with when probed. */
  answersWith: 'mcuboot-serial' | 'zephyr-smp' | 'stm32-rom';
  /** Serial number printed on the unit's label (part of its identity in service records). */
  serial: string;
}

export const LAB_UNITS: readonly LabUnitSpec[] = [
  {
    id: 'lab-recovery-empty',
    label: 'Sensor node A (recovery, empty slot)',
    scenario: 'recovery-empty-slot',
    story: 'Stuck in MCUboot serial recovery: slot 0 holds no image.',
    answersWith: 'mcuboot-serial',
    serial: 'UB-LAB-0001',
  },
  {
    id: 'lab-corrupt-image',
    label: 'Sensor node B (corrupt image)',
    scenario: 'corrupt-image',
    story: 'MCUboot refuses the application: its image hash does not match.',
    answersWith: 'mcuboot-serial',
    serial: 'UB-LAB-0002',
  },
  {
    id: 'lab-mcuboot-erased',
    label: 'Gateway C (bootloader erased, WRP on)',
    scenario: 'mcuboot-erased-wrp',
    story: 'MCUboot was erased; the bootloader pages are still write-protected. Only the STM32 ROM bootloader answers.',
    answersWith: 'stm32-rom',
    serial: 'UB-LAB-0003',
  },
  {
    id: 'lab-rdp1',
    label: 'Gateway D (readout protection level 1)',
    scenario: 'rdp-level-1',
    story: 'Readout protection level 1: flash cannot be read until it is unprotected, which erases it.',
    answersWith: 'stm32-rom',
    serial: 'UB-LAB-0004',
  },
  {
    id: 'lab-healthy-pending',
    label: 'Sensor node E (healthy, test image pending)',
    scenario: 'healthy-pending-test',
    story: 'Runs its application; slot 1 holds a pending test image 1.3.0.',
    answersWith: 'zephyr-smp',
    serial: 'UB-LAB-0005',
  },
  {
    id: 'lab-low-battery',
    label: 'Sensor node F (battery low)',
    scenario: 'low-battery',
    story: 'Runs its application 1.2.0 on a nearly flat battery (3.31 V): an update must not start on it.',
    answersWith: 'zephyr-smp',
    serial: 'UB-LAB-0006',
  },
  {
    id: 'lab-boot-loop',
    label: 'Sensor node G (boot-loops on 1.3.0)',
    scenario: 'boot-loop',
    story: 'Runs 1.2.0; slot 1 holds 1.3.0 for a test boot, which confirms itself at start and then restarts again and again on this unit.',
    answersWith: 'zephyr-smp',
    serial: 'UB-LAB-0007',
  },
];
