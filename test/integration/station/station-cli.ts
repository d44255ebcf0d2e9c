/** `unbrick … --json` in a child process with its own data directory: exit status, parsed output, stderr. */
import { spawn } from 'node:child_process';

export function cli(dataDir: string, args: string[], onStderr?: (all: string) => void): Promise<{ status: number | null; json: Record<string, unknown>; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/unbrick.js', ...args, '--json'], { env: { ...process.env, UNBRICK_DATA_DIR: dataDir } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => {
      err += String(d);
      onStderr?.(err);
    });
    child.on('exit', (status) => {
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(out) as Record<string, unknown>;
      } catch {
        json = { unparsed: out };
      }
      resolve({ status, json, stderr: err });
    });
  });
}
