/**
 * The one way a front end gets an application core (Electron, `unbrick serve`,
 * `unbrick run`): the only place that decides whether the demo lab of
 * simulated units is shown, or only real hardware (docs/architecture.md).
 */
import { usageError } from '../core/errors.ts';
import { hardwareAttached, type PortLister } from '../devices/ports.ts';
import { DemoLab } from '../sim/lab/lab.ts';
import { LAB_UNITS } from '../sim/lab/units.ts';
import { AppCore, type AppCoreOptions, type PortWatcherOptions } from './app-core.ts';

/** The demo-lab units a front end may name (`unbrick run --lab UNIT`). */
export const LAB_UNIT_IDS: readonly string[] = LAB_UNITS.map((u) => u.id);

export interface CreateAppCoreOptions extends Pick<AppCoreOptions, 'dataDir' | 'operator' | 'autoDetect'> {
  /**
   * The demo lab: 'auto' (the default) shows it when no USB serial adapter is
   * attached; true or false force it; a list of unit ids shows only those units.
   */
  lab?: boolean | 'auto' | readonly string[];
  /** The lab's line rate (default 115200; 0 = unpaced, for tests). */
  labBaud?: number;
  /** Real serial port watching; false: none (a lab-only run, tests). */
  ports?: PortWatcherOptions | false;
  /** How 'auto' looks for attached adapters (tests pass a fake lister). */
  listPorts?: PortLister;
}

export async function createAppCore(opts: CreateAppCoreOptions): Promise<AppCore> {
  const { lab = 'auto', labBaud = 115200, ports = {}, listPorts, ...rest } = opts;
  const demoLab = await chooseLab(lab, labBaud, listPorts);
  return new AppCore({ ...rest, ...(ports ? { ports } : {}), ...(demoLab ? { lab: demoLab } : {}) });
}

async function chooseLab(lab: NonNullable<CreateAppCoreOptions['lab']>, baud: number, listPorts: PortLister | undefined): Promise<DemoLab | undefined> {
  if (Array.isArray(lab)) {
    const unknown = lab.find((id) => !LAB_UNIT_IDS.includes(id));
    if (unknown !== undefined) throw usageError('usage.unknown-lab-unit', `No demo-lab unit "${unknown}". Units: ${LAB_UNIT_IDS.join(', ')}.`);
    return new DemoLab(LAB_UNITS.filter((u) => lab.includes(u.id)), { baud });
  }
  const show = lab === 'auto' ? !(await hardwareAttached(listPorts)) : lab;
  return show ? new DemoLab(undefined, { baud }) : undefined;
}
