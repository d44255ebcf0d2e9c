/**
 * Child process for the kill-during-append tests. Modes:
 *   loop PATH       appends entries forever, printing each acknowledged seq
 *   torn PATH BYTES appends one entry but is killed (SIGKILL, by itself) after BYTES of its line hit the disk
 */
import { ServiceLog } from '../../../src/records/service-log.ts';

const [mode, path, arg] = process.argv.slice(2);
const log = new ServiceLog(path!);
const entry = (i: number) => ({
  unit: { id: `unit-${i % 3}`, serial: `S${i % 3}` },
  action: 'update',
  operator: 'child@test',
  outcome: 'succeeded' as const,
  summary: `entry ${i}`,
  // Bulk, so a write takes long enough for a kill to land inside it sometimes.
  details: { blob: 'x'.repeat(20_000 + (i % 7) * 3000) },
});

if (mode === 'loop') {
  for (let i = 0; ; i++) {
    const e = log.append(entry(i));
    process.stdout.write(`${e.seq}\n`);
  }
} else if (mode === 'torn') {
  log.append(entry(0), { partialWrite: { bytes: Number(arg), afterPartialWrite: () => process.kill(process.pid, 'SIGKILL') } });
}
