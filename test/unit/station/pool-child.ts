// Child process for the crash tests: consumes per-unit data and reports each step on stdout.
//   hold <journal> <csv> <unit>          reserve for one unit, print it, then hang until killed
//   loop <journal> <csv> <first> <count> reserve, pause, commit for units U<first>.. (parent kills it at random)
import { readFileSync } from 'node:fs';
import { LocalDataPool } from '../../../src/station/local-pool.ts';
import { parseCsvEntries } from '../../../src/station/data-source.ts';

const [mode, journalPath, csv, a, b] = process.argv.slice(2);
const pool = LocalDataPool.open({ entries: parseCsvEntries(readFileSync(csv!, 'utf8')), journalPath: journalPath!, station: `child-${process.pid}` });
const say = (s: string) => process.stdout.write(s + '\n');

if (mode === 'hold') {
  const r = pool.reserveSync(a!);
  say(JSON.stringify({ unit: r.unit, entry: r.entry.id, status: r.status }));
  setInterval(() => {}, 1000);
} else {
  const first = Number(a);
  const count = Number(b);
  for (let i = first; i < first + count; i++) {
    const unit = `U${String(i).padStart(4, '0')}`;
    const r = pool.reserveSync(unit);
    say(`R ${unit} ${r.entry.id} ${r.status}`);
    // The unit is being written: the likeliest moment for a crash.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.random() * 4);
    pool.commitSync(unit, r.entry.id);
    say(`C ${unit} ${r.entry.id}`);
  }
  await pool.close();
}
