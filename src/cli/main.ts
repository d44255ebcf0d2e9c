/**
 * `unbrick`: the command-line front end. Each command group lives in its own
 * file under commands/ and is listed in commands/index.ts. `runCli` works on a
 * table of names and summaries whose groups load on demand: the built CLI
 * (scripts/build-cli.js) imports each group only when it runs, so `version`
 * and `--help` load no device or database library.
 */
import { EXIT } from '../core/errors.ts';
import { type CommandGroup, groupHelp, runCommand } from './framework.ts';

const PREFIX = 'unbrick';

/** One command group as the top level sees it: listed without loading its module. */
export interface GroupEntry {
  name: string;
  summary: string;
  load(): Promise<CommandGroup>;
}

function topHelp(all: GroupEntry[]): string {
  const w = Math.max(...all.map((g) => g.name.length));
  return [
    'Unbrick: flash, inspect and recover microcontroller devices over serial and USB.',
    '',
    `Usage: ${PREFIX} <group> <command> [options]`,
    '',
    'Command groups:',
    ...all.map((g) => `  ${g.name.padEnd(w)}  ${g.summary}`),
    '',
    `Every command takes --help and --json. Exit codes: 0 ok, 1 a check failed, 2 bad usage or unreadable input, 3 device or I/O error.`,
  ].join('\n');
}

/** Runs the CLI from the sources, every group loaded up front (development, tests). */
export async function main(argv: string[]): Promise<number> {
  const { groups } = await import('./commands/index.ts');
  return runCli(argv, groups.map((g) => ({ name: g.name, summary: g.summary, load: async () => g })));
}

export async function runCli(argv: string[], groups: GroupEntry[]): Promise<number> {
  const io = { stdout: (s: string) => void process.stdout.write(s), stderr: (s: string) => void process.stderr.write(s), tty: !!process.stdout.isTTY };
  const [groupName, commandName, ...rest] = argv;
  if (!groupName || groupName === '--help' || groupName === '-h' || groupName === 'help') {
    io.stdout(topHelp(groups) + '\n');
    return groupName ? EXIT.ok : EXIT.usage;
  }
  const entry = groups.find((g) => g.name === groupName);
  if (!entry) {
    io.stderr(`unbrick: unknown command group "${groupName}".\n\n${topHelp(groups)}\n`);
    return EXIT.usage;
  }
  const group = await entry.load();
  // A group may have a single unnamed command (e.g. `unbrick ports`): its name equals the group's.
  const solo = group.commands.length === 1 && group.commands[0]!.name === group.name ? group.commands[0] : undefined;
  if (solo) return runCommand(PREFIX, solo, argv.slice(1), io, abortOnSignals());
  const implied = commandName?.startsWith('--') && commandName !== '--help' ? group.commands.find((c) => c.name === group.defaultCommand) : undefined;
  if (implied) return runCommand(`${PREFIX} ${group.name}`, implied, argv.slice(1), io, abortOnSignals());
  if (!commandName || commandName === '--help' || commandName === '-h') {
    io.stdout(groupHelp(PREFIX, group) + '\n');
    return commandName ? EXIT.ok : EXIT.usage;
  }
  const command = group.commands.find((c) => c.name === commandName);
  if (!command) {
    io.stderr(`unbrick: unknown command "${groupName} ${commandName}".\n\n${groupHelp(PREFIX, group)}\n`);
    return EXIT.usage;
  }
  return runCommand(`${PREFIX} ${group.name}`, command, rest, io, abortOnSignals());
}

/** A reader that goes away (`unbrick … | head`) is not an error. */
export function quietOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr])
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
}

/** Ctrl-C cancels the running operation cleanly (a second one exits at once). */
function abortOnSignals(): AbortSignal {
  const ac = new AbortController();
  const onSignal = () => {
    if (ac.signal.aborted) process.exit(EXIT.cancelled);
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return ac.signal;
}
