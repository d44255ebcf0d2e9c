// Prints, as JSON, where each CLI command group is defined: for the built CLI's lazy table
// (scripts/build.js). Run through tsx at build time: it loads commands/index.ts (the list and its
// order) and every module under src/cli/commands/, and finds the module and export of each group.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CommandGroup } from '../src/cli/framework.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const commandsDir = join(root, 'src', 'cli', 'commands');
const index = join(commandsDir, 'index.ts');

const walk = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : /\.tsx?$/.test(name) && !name.endsWith('.d.ts') ? [p] : [];
  });

const { groups } = (await import(pathToFileURL(index).href)) as { groups: CommandGroup[] };
const homes = new Map<CommandGroup, { file: string; exportName: string }>();
for (const file of walk(commandsDir).filter((f) => f !== index).sort()) {
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  for (const [exportName, value] of Object.entries(mod))
    if (groups.includes(value as CommandGroup) && !homes.has(value as CommandGroup)) homes.set(value as CommandGroup, { file: relative(root, file), exportName });
}
// A group defined outside src/cli/commands still works: it loads through index.ts (all groups at once).
const table = groups.map((g, i) => ({ name: g.name, summary: g.summary, ...(homes.get(g) ?? { file: relative(root, index), exportName: 'groups', index: i }) }));
process.stdout.write(JSON.stringify(table) + '\n');
// Command modules may hold handles open (none should); the table is all this script is for.
process.exit(0);
