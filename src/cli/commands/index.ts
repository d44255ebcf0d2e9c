/** Every CLI command group, in the order `unbrick --help` lists them. */
import type { CommandGroup } from '../framework.ts';
import { versionGroup } from './version.ts';
import { serveGroup } from './serve.ts';
import { recordsGroup } from './records.ts';
import { usbGroup, udevGroup } from './usb.ts';

export const groups: CommandGroup[] = [versionGroup, serveGroup, recordsGroup, usbGroup, udevGroup];
