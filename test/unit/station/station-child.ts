// Child for the station restart test: runs a batch of three units in <dir>; the unit on p1 hangs
// in its "program serial" step. Once the other two have passed it prints "HOLDING <entry>" and
// waits to be killed.
import { join } from 'node:path';
import { Station, type Recipe } from '../../../src/station/station.ts';
import { LocalDataPool } from '../../../src/station/local-pool.ts';
import { parseCsvEntries } from '../../../src/station/data-source.ts';
import { ServiceLog } from '../../../src/records/service-log.ts';

const dir = process.argv[2]!;
const csv = 'serial,key\n' + Array.from({ length: 50 }, (_, i) => `SN-${String(i).padStart(4, '0')},k${i}\n`).join('');
const pool = LocalDataPool.open({ entries: parseCsvEntries(csv), journalPath: join(dir, 'pool.journal'), station: 'st1' });
let held = '';
const recipe: Recipe = async (ctx) => {
  const uid = ctx.port.handle as string;
  ctx.identify({ chipUid: uid });
  const d = await ctx.takeData();
  if (uid === 'UID-HELD') {
    held = d.entry.id;
    await ctx.step('program serial', () => new Promise(() => setInterval(() => {}, 1000)));
  }
};
const st = Station.open({ dir, log: ServiceLog.inDir(dir), recipe, batch: 'B1', station: 'st1', operator: 'op@line', parallel: 3, pool });
let said = false;
st.onChange((s) => {
  if (!said && s.passed === 2 && s.ports.find((p) => p.id === 'p1')?.step === 'program serial') {
    said = true;
    // Changes reach the batch file within SAVE_MS.
    setTimeout(() => process.stdout.write(`HOLDING ${held}\n`), 600);
  }
});
st.updatePorts([
  { id: 'p0', handle: 'UID-A' },
  { id: 'p1', handle: 'UID-HELD' },
  { id: 'p2', handle: 'UID-C' },
]);
