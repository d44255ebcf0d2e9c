/** Every CLI command group, in the order `unbrick --help` lists them. */
import type { CommandGroup } from '../framework.ts';
import { versionGroup } from './version.ts';
import { imageGroup } from './image.ts';
import { keysGroup } from './keys.ts';
import { serveGroup } from './serve.ts';
import { recordsGroup } from './records.ts';
import { runGroup } from './run.ts';
import { usbGroup, udevGroup } from './usb.ts';
import { dfuGroup } from './dfu.ts';
import { bundleGroup } from './bundle.ts';
import { trustGroup } from './trust.ts';
import { goldenGroup, updatesGroup } from './library.ts';
import { stm32Group } from './stm32.ts';
import { simGroup } from './sim/index.ts';
import { smpGroup } from './smp.ts';
import { portsGroup } from './ports.ts';
import { stationGroup } from './station.ts';
import { traceGroup } from './trace.ts';

export const groups: CommandGroup[] = [versionGroup, imageGroup, keysGroup, serveGroup, recordsGroup, runGroup, usbGroup, udevGroup, dfuGroup, bundleGroup, trustGroup, goldenGroup, updatesGroup, stm32Group, simGroup, smpGroup, portsGroup, stationGroup, traceGroup];
