// A minimal station process for the shared-database tests: provisions units <prefix>NNNN one
// after another (reserve per-unit data, "write" it, commit, record, sync), printing each step.
//   station-child.ts <db-url> <data-dir> <csv> <station> <prefix> <first> <count> [hold-at]
// With hold-at, it stops mid-unit right after reserving that unit's entry and waits to be killed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCsvEntries } from '../../../src/station/data-source.ts';
import { StationDb } from '../../../src/station/shared-db.ts';
import { ServiceLog } from '../../../src/records/service-log.ts';
import { RecordSync } from '../../../src/station/record-sync.ts';

const [url, dataDir, csv, station, prefix, first, count, holdAt] = process.argv.slice(2);
const db = await StationDb.connect(url!, { station: station! });
const pool = await db.dataPool('line-1', parseCsvEntries(readFileSync(csv!, 'utf8')));
const log = ServiceLog.inDir(join(dataDir!));
const sync = new RecordSync(db, log);
const say = (s: string) => process.stdout.write(s + '\n');

for (let i = Number(first); i < Number(first) + Number(count); i++) {
  const unit = `${prefix}${String(i).padStart(4, '0')}`;
  const r = await pool.reserve(unit);
  say(`R ${unit} ${r.entry.id} ${r.status}`);
  if (holdAt !== undefined && i === Number(holdAt)) await new Promise(() => setInterval(() => {}, 1000));
  await new Promise((res) => setTimeout(res, Math.random() * 15)); // writing the unit
  await pool.commit(unit, r.entry.id);
  log.append({
    unit: { id: unit, serial: r.entry.fields.serial ?? r.entry.id },
    action: 'station.provision',
    operator: 'test@line',
    outcome: 'succeeded',
    summary: `provisioned with ${r.entry.id}`,
    details: { station: station!, entry: r.entry.id, reservation: r.status },
  });
  say(`C ${unit} ${r.entry.id}`);
  await sync.syncNow();
}
const s = await sync.syncNow();
say(`S ${s.online} ${s.cursor} ${s.pending}`);
await db.close();
