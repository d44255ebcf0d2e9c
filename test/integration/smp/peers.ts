/**
 * The real firmware peers in ../shared/peers as child processes (read that
 * README): MCUboot serial recovery and Zephyr smp_svr, each on its own pty.
 * Callers stop them in `finally`; the Zephyr peer exits on an SMP reset, and
 * `restart()` starts it again on the same flash file (a power cycle).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHARED } from './vectors.ts';
import { startLinesim, type Linesim } from './linesim.ts';

export const PEERS = join(SHARED, 'peers');
export const DEV_KEY = join(PEERS, 'mcuboot-dev-root-ec-p256.pem');

export interface Peer {
  /** The device's pty (changes when the Zephyr peer restarts). */
  path: string;
  proc: ChildProcess;
  /** Starts the peer again after it exited (Zephyr reset) or was stopped. */
  restart(): Promise<string>;
  stop(): Promise<void>;
  /** Stderr and non-SMP output, for diagnostics. */
  log(): string;
}

async function firstMatch(proc: ChildProcess, re: RegExp, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`${what} did not print its pty`)), 10000);
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = re.exec(buf);
      if (m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`${what} exited (${code}) before printing its pty`));
    });
  });
}

async function stopProc(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
  if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
}

function makePeer(start: () => { proc: ChildProcess; path: Promise<string> }, cleanup: () => void): Promise<Peer> {
  let log = '';
  const launch = async () => {
    const s = start();
    s.proc.stderr!.on('data', (d: Buffer) => void (log = (log + d.toString()).slice(-20000)));
    peer.proc = s.proc;
    peer.path = await s.path;
    return peer.path;
  };
  const peer: Peer = {
    path: '',
    proc: undefined as unknown as ChildProcess,
    async restart() {
      await stopProc(peer.proc);
      return launch();
    },
    async stop() {
      await stopProc(peer.proc);
      cleanup();
    },
    log: () => log,
  };
  return launch().then(() => peer);
}

/** MCUboot serial recovery on a flash file kept across its own resets. */
export function startMcubootPeer(args: string[] = []): Promise<Peer> {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-mcuboot-'));
  return makePeer(
    () => {
      const proc = spawn(join(PEERS, 'mcuboot-serial-recovery'), ['--flash', join(dir, 'flash.bin'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      return { proc, path: firstMatch(proc, /^(\/dev\/\S+)\n/, 'mcuboot-serial-recovery') };
    },
    () => rmSync(dir, { recursive: true, force: true }),
  );
}

/** Zephyr smp_svr on a fresh flash file holding the signed 1.0.0 image in slot 0. */
export function startZephyrPeer(): Promise<Peer> {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-zephyr-'));
  const flash = join(dir, 'flash.bin');
  execFileSync('python3', [join(PEERS, 'zephyr-flash'), flash, join(PEERS, 'zephyr-running-1.0.0.bin')]);
  return makePeer(
    () => {
      const proc = spawn(join(PEERS, 'zephyr-smp-svr'), [`-flash=${flash}`], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      return { proc, path: firstMatch(proc, /pseudotty: (\/dev\/\S+)/, 'zephyr-smp-svr') };
    },
    () => rmSync(dir, { recursive: true, force: true }),
  );
}

export interface PeerLine {
  peer: Peer;
  /** linesim in front of the peer (a new one after `restartAfterExit`). */
  readonly line: Linesim;
  /** After an SMP reset ended the Zephyr peer's process: starts it again on its flash (a power cycle), with a new line to it. */
  restartAfterExit(): Promise<Linesim>;
}

/** Starts a peer and linesim (with `linesimArgs`: faults) in front of it, runs `body`, and stops both whatever happens. */
export async function withPeerLine(start: () => Promise<Peer>, body: (s: PeerLine) => Promise<void>, linesimArgs: string[] = []): Promise<void> {
  const peer = await start();
  let line: Linesim | undefined;
  try {
    line = await startLinesim(peer.path, linesimArgs);
    await body({
      peer,
      get line() {
        return line!;
      },
      async restartAfterExit() {
        // (It may have exited already: an 'exit' listener added now would never fire.)
        if (peer.proc.exitCode === null && peer.proc.signalCode === null) await new Promise((r) => peer.proc.once('exit', r));
        await line!.stop();
        line = undefined;
        line = await startLinesim(await peer.restart(), linesimArgs);
        return line;
      },
    });
  } finally {
    await line?.stop();
    await peer.stop();
  }
}
