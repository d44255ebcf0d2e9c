// Hosts simulated STM32 units on paced ptys in a process of its own, so a benchmark can measure
// the station's CPU use without the simulators in it.
//   sim-host-child.ts <count> <baud> <chip>   prints one JSON line {units: [{path, uid}]}, then serves until killed
import { ptyUnit } from './stm32-units.ts';

const [count, baud, chip] = process.argv.slice(2);
const units = Array.from({ length: Number(count) }, (_, i) => ptyUnit(chip ?? 'f103', 900 + i, Number(baud)));
process.stdout.write(JSON.stringify({ units: units.map((u) => ({ path: u.path, uid: u.uid })) }) + '\n');
process.on('SIGTERM', () => {
  units.forEach((u) => u.close());
  process.exit(0);
});
setInterval(() => {}, 1000);
