import type { CommandGroup } from '../framework.ts';
// Imported (not read at run time) so the built CLI carries the version wherever it is installed.
import pkg from '../../../package.json' with { type: 'json' };

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
