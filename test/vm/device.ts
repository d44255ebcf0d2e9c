/**
 * The simulated DfuSe device as a real USB gadget: runs inside the test VM in its own process (FunctionFS
 * reads block). Writes descriptors to ep0, then touches --ready so the guest script can bind the UDC.
 *
 *   node --import tsx test/vm/device.ts --functionfs DIR [--udc FILE] [--ready FILE] [--time-scale N] [--verbose] [--trace]
 */
import { renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { FunctionFsDevice } from '../../src/sim/dfuse/functionfs.ts';
import { makeVmDevice, VM_DEVICE } from './device-config.ts';

const { values } = parseArgs({
  options: {
    functionfs: { type: 'string' },
    udc: { type: 'string' },
    ready: { type: 'string' },
    'time-scale': { type: 'string', default: '1' },
    verbose: { type: 'boolean', default: false },
    trace: { type: 'boolean', default: false },
  },
});
if (!values.functionfs) {
  console.error('usage: device.ts --functionfs DIR [--udc FILE] [--ready FILE]');
  process.exit(2);
}
const log = (line: string) => {
  if (values.verbose || values.trace) console.error(`device: ${(performance.now() / 1000).toFixed(3)} ${line}`);
};
const { sim } = makeVmDevice(Number(values['time-scale']));
const dev = new FunctionFsDevice({ dir: values.functionfs, sim, ...(values.udc ? { udcFile: values.udc } : {}), log, trace: values.trace! });
await dev.start();
// The ready file carries the serial number for the gadget's string table (configfs, set before binding).
if (values.ready) {
  writeFileSync(`${values.ready}.tmp`, `${VM_DEVICE.serialNumber}\n`);
  renameSync(`${values.ready}.tmp`, values.ready);
}
// The loop blocks in ep0 reads: SIGTERM's default action (exit) is the way to stop it.
await dev.run();
console.error(`device: ep0 closed (${JSON.stringify(dev.stats)})`);
