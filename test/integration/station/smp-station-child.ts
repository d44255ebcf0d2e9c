// A station process for the SMP crash test: runs openStationRun with one SMP unit on a pty (named
// by the adapter serial a real USB port would report), prints each step as `STEP <name>`, and
// `DONE <passed> <failed>` when the unit has finished.
//   smp-station-child.ts <bundle> <data-dir> <csv> <pty-path> <adapter-serial>
import { openStationRun } from '../../../src/station/setup.ts';

const [bundle, dataDir, csv, path, serial] = process.argv.slice(2);
const run = await openStationRun({
  bundle: bundle!,
  dataDir: dataDir!,
  station: 'crashy',
  operator: 'op',
  ports: 'auto',
  parallel: 1,
  batch: 'CRASH',
  data: csv!,
  dataAddress: 0x0800f000,
  dataSetting: 'serial=app/serial',
  pollMs: 100,
  list: async () => [{ path: path!, vendorId: '1366', productId: '1015', serialNumber: serial! }],
});
let last = '';
run.station.onChange((s) => {
  const p = s.ports[0];
  if (p?.step && p.step !== last) process.stdout.write(`STEP ${(last = p.step)}\n`);
  // Done once a unit has run in this process (a resumed batch starts with the interrupted one counted).
  if (last && s.running === 0) {
    process.stdout.write(`DONE ${s.ports[0]?.state} ${s.passed} ${s.failed}\n`);
    void run.stop().then(() => process.exit(0));
  }
});
