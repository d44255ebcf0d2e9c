import { readFileSync } from 'node:fs';
import type { CommandGroup } from '../framework.ts';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

export const versionGroup: CommandGroup = {
  name: 'version',
  summary: 'print the Unbrick version',
  commands: [
    {
      name: 'version',
      summary: 'print the Unbrick version',
      async run() {
        return { data: { version: pkg.version, node: process.version }, human: [`unbrick ${pkg.version} (Node ${process.version})`] };
      },
    },
  ],
};
