/** Runs ../shared/tools/linesim between a host and a simulator pty. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { SHARED } from './vectors.ts';

export interface Linesim {
  host: string;
  proc: ChildProcess;
  stop(): Promise<Record<string, unknown> | undefined>;
}

export async function startLinesim(device: string, args: string[] = []): Promise<Linesim> {
  const proc = spawn('python3', [join(SHARED, 'tools', 'linesim'), '--device', device, '--baud', '115200', '--frame-bits', '10', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let buf = '';
  const lines: string[] = [];
  let notify: (() => void) | undefined;
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
      notify?.();
    }
  });
  const next = async (ms: number) => {
    const end = Date.now() + ms;
    while (!lines.length && Date.now() < end && proc.exitCode === null) await new Promise<void>((r) => ((notify = r), setTimeout(r, 50)));
    return lines.shift();
  };
  const first = await next(10000);
  if (!first) throw new Error('linesim did not start');
  const host = (JSON.parse(first) as { host: string }).host;
  return {
    host,
    proc,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      const last = await next(3000);
      return last ? (JSON.parse(last) as Record<string, unknown>) : undefined;
    },
  };
}
