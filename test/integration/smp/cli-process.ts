/** The CLI as child processes, for the SMP CLI tests: one-shot commands, and `unbrick sim …` on its pty. */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { REPO } from './vectors.ts';

const run = promisify(execFile);
export const BIN = join(REPO, 'bin', 'unbrick.js');

/** `unbrick ARGS`: exit code, stdout and stderr (a failing exit is a result here, not a throw). */
export async function unbrickEnv(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await run(process.execPath, [BIN, ...args], { cwd: REPO, env });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

export const unbrick = (...args: string[]) => unbrickEnv(process.env, ...args);

/** Starts `unbrick sim ARGS` and resolves with the pty path it prints as its first line. */
export async function startSim(...args: string[]): Promise<{ proc: ChildProcess; path: string }> {
  const proc = spawn(process.execPath, [BIN, 'sim', ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  const path = await new Promise<string>((resolve, reject) => {
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) resolve(buf.split('\n')[0]!);
    });
    proc.on('exit', () => reject(new Error('sim exited')));
  });
  return { proc, path };
}
