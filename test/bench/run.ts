/**
 * `npm run bench`: imports every test/bench/*.bench.ts in name order and runs its
 * exported `run()`. Arguments filter by file name: `npm run bench -- mcuboot`.
 */
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dir = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts') && (filters.length === 0 || filters.some((x) => f.includes(x))))
  .sort();
if (files.length === 0) {
  console.error('no benchmark matched');
  process.exit(1);
}
for (const f of files) {
  console.log(`\n== ${f}`);
  const mod = (await import(pathToFileURL(`${dir}/${f}`).href)) as { run?: () => Promise<void> };
  if (typeof mod.run !== 'function') {
    console.error(`${f} does not export run()`);
    process.exitCode = 1;
    continue;
  }
  await mod.run();
}
