/**
 * `unbrick sim dfuse …` for the VM: the same command object through the same CLI framework, without
 * bin/unbrick.js loading every other command group first (that costs the emulated CPU about a minute;
 * the stage runs bin/unbrick.js itself once, for `dfu write`).
 *
 *   node --import tsx test/vm/sim-dfuse.ts --functionfs DIR [options of `unbrick sim dfuse`]
 */
import { runCommand } from '../../src/cli/framework.ts';
import { simDfuseCommand } from '../../src/cli/commands/sim/dfuse.ts';

const ac = new AbortController();
process.on('SIGINT', () => ac.abort());
process.on('SIGTERM', () => ac.abort());
const io = { stdout: (s: string) => void process.stdout.write(s), stderr: (s: string) => void process.stderr.write(s), tty: false };
process.exitCode = await runCommand('unbrick sim', simDfuseCommand, process.argv.slice(2), io, ac.signal);
