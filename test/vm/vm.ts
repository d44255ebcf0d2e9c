/**
 * Host side of the USB test VM: prepares the kernel + initramfs (prepare.sh), boots QEMU (TCG) with the
 * host's / read-only over 9p, the prepared modules and a read-write results share, and hands back what the
 * guest wrote. QEMU's exit status says nothing about the tests; the results share does.
 * Facts behind the choices: ../shared/usb-vm.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, accessSync, constants } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const QEMU = 'qemu-system-x86_64';

/** Env var that turns the stage into an explicit, announced skip. Anything else that stops it is a failure. */
export const SKIP_ENV = 'UNBRICK_SKIP_USB_VM';

/** Why the VM cannot run on this machine, or null when it can. Plain words, with the fix. */
export function vmUnavailableReason(): string | null {
  const which = spawnSync('sh', ['-c', `command -v ${QEMU}`], { encoding: 'utf8' });
  if (which.status !== 0) return `${QEMU} is not installed (apt-get install --no-install-recommends qemu-system-x86).`;
  for (const tool of ['busybox', 'cpio', 'depmod', 'xz', 'dfu-util']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
      return `'${tool}' is not installed (apt-get install busybox-static cpio kmod xz-utils dfu-util).`;
    }
  }
  // The host root is shared with the guest as-is: node, node_modules and dfu-util must be readable there.
  try {
    accessSync('/', constants.R_OK);
  } catch {
    return 'the host root is not readable for sharing with the guest.';
  }
  return null;
}

/** Runs prepare.sh (idempotent, cached) and returns the prepared directory. */
export function prepareVm(): string {
  const res = spawnSync('bash', [join(repoRoot, 'test/vm/prepare.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (res.status !== 0) throw new Error(`usb-vm: preparing the kernel and initramfs failed:\n${res.stderr}`);
  const dir = res.stdout.trim().split('\n').pop() ?? '';
  if (!existsSync(join(dir, 'ready'))) throw new Error(`usb-vm: prepare.sh did not produce a ready directory (got '${dir}')`);
  return dir;
}

export interface VmRunOptions {
  /** Shell text the guest runs as /run/vm/run.sh, inside the host's root (cwd is the repo). */
  script: string;
  /** Host directory shared read-write at /run/vm (created). */
  resultsDir: string;
  /** Kill QEMU after this long (default 300 s). */
  timeoutMs?: number;
  /** Guest CPUs; 1 keeps the load on the shared 2-core machine modest. */
  cpus?: number;
  memoryMb?: number;
  /** Live console lines (the guest's serial port). */
  onConsole?: (line: string) => void;
}

export interface VmRunResult {
  /** Exit status of run.sh as the guest's init recorded it; null if the guest never got that far. */
  runExitCode: number | null;
  timedOut: boolean;
  qemuExitCode: number | null;
  console: string;
  wallMs: number;
}

/** Boots the VM once, runs `script`, waits for the guest to power off (or the timeout). */
export async function runVm(opts: VmRunOptions): Promise<VmRunResult> {
  const prepared = prepareVm();
  mkdirSync(opts.resultsDir, { recursive: true });
  // The guest starts with a clean environment: pass on the stage's own knobs (UNBRICK_VM_*).
  const knobs = Object.entries(process.env)
    .filter(([k, v]) => k.startsWith('UNBRICK_VM_') && v !== undefined && /^[\w.,:/-]*$/.test(v))
    .map(([k, v]) => `export ${k}='${v}'\n`)
    .join('');
  const header = `#!/bin/sh\n# Written by test/vm/vm.ts for one VM run.\nexport PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root\n${knobs}cd '${repoRoot}' || exit 90\n`;
  writeFileSync(join(opts.resultsDir, 'run.sh'), header + opts.script + '\n', { mode: 0o755 });
  const exitFile = join(opts.resultsDir, 'run-exit-code');
  try {
    writeFileSync(exitFile, '');
  } catch {
    /* recreated by the guest */
  }

  const args = [
    '-accel', 'tcg',
    '-cpu', 'max',
    '-m', String(opts.memoryMb ?? 1024),
    '-smp', String(opts.cpus ?? 1),
    '-nodefaults', '-display', 'none', '-no-reboot',
    '-serial', 'stdio',
    '-kernel', join(prepared, 'vmlinuz'),
    '-initrd', join(prepared, 'initramfs.cpio.gz'),
    '-append', 'console=ttyS0 panic=-1 quiet loglevel=4',
    '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    '-virtfs', `local,path=${join(prepared, 'lib/modules')},mount_tag=modules,security_model=none,readonly=on`,
    '-virtfs', `local,path=${resolve(opts.resultsDir)},mount_tag=results,security_model=none`,
  ];
  const started = Date.now();
  const qemu = spawn(QEMU, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let consoleText = '';
  let partial = '';
  const onData = (chunk: Buffer) => {
    const text = chunk.toString('utf8').replace(/\r/g, '');
    consoleText += text;
    partial += text;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) opts.onConsole?.(line);
  };
  qemu.stdout.on('data', onData);
  qemu.stderr.on('data', onData);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    qemu.kill('SIGKILL');
  }, opts.timeoutMs ?? 300_000);
  const qemuExitCode = await new Promise<number | null>((resolveExit) => {
    qemu.on('error', () => resolveExit(null));
    qemu.on('exit', (code) => resolveExit(code));
  });
  clearTimeout(timer);
  if (partial) opts.onConsole?.(partial);
  writeFileSync(join(opts.resultsDir, 'console.log'), consoleText);
  let runExitCode: number | null = null;
  try {
    const text = readFileSync(exitFile, 'utf8').trim();
    if (/^\d+$/.test(text)) runExitCode = Number(text);
  } catch {
    /* guest never wrote it */
  }
  return { runExitCode, timedOut, qemuExitCode, console: consoleText, wallMs: Date.now() - started };
}

export interface SuiteCheck {
  name: string;
  ok: boolean;
  ms: number;
  detail: string;
}

export interface SuiteResults {
  mode: 'test' | 'bench';
  /** False when the suite never reached its end (crash, timeout): its checks are then incomplete. */
  done: boolean;
  checks: SuiteCheck[];
  figures: Record<string, number | string>;
}

export interface StageRun {
  vm: VmRunResult;
  results: SuiteResults | undefined;
  resultsDir: string;
  /** The last lines of the guest console and the device program's log, for failure messages. */
  diagnostics: string;
}

/**
 * One VM boot: the simulated DfuSe device on the bus (guest-gadget.sh), then guest-suite.ts in `mode`.
 * Results land in test-artifacts/usb-vm/<mode>-<time>/ (results.json, console.log, device.log).
 */
export async function runUsbVmStage(mode: 'test' | 'bench', opts: { timeoutMs?: number; cpus?: number; onConsole?: (line: string) => void } = {}): Promise<StageRun> {
  const resultsDir = join(repoRoot, 'test-artifacts/usb-vm', `${mode}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const script = `sh test/vm/guest-gadget.sh /run/vm node --import tsx test/vm/guest-suite.ts --out /run/vm --mode ${mode}`;
  // Fill tsx's transpile cache on the host (fast CPU); the guest sees it through /tmp (see guest-init.sh).
  spawnSync(process.execPath, [join(repoRoot, 'bin/unbrick.js'), '--help'], { stdio: 'ignore', cwd: repoRoot });
  spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/vm/sim-dfuse.ts'), '--help'], { stdio: 'ignore', cwd: repoRoot });
  spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/vm/guest-suite.ts'), '--mode', 'warm-up'], { stdio: 'ignore', cwd: repoRoot });
  const cpus = Number(process.env.UNBRICK_VM_CPUS) || opts.cpus || 1;
  const vm = await runVm({ script, resultsDir, cpus, timeoutMs: opts.timeoutMs ?? 480_000, ...(opts.onConsole ? { onConsole: opts.onConsole } : {}) });
  let results: SuiteResults | undefined;
  try {
    results = JSON.parse(readFileSync(join(resultsDir, 'results.json'), 'utf8')) as SuiteResults;
  } catch {
    results = undefined;
  }
  const tail = (text: string, n: number) => text.trim().split('\n').slice(-n).join('\n');
  let device = '';
  let gadgetError = '';
  try {
    device = readFileSync(join(resultsDir, 'device.log'), 'utf8');
  } catch {
    /* not started */
  }
  try {
    gadgetError = readFileSync(join(resultsDir, 'gadget-error'), 'utf8');
  } catch {
    /* none */
  }
  const diagnostics = [
    `VM: ${vm.timedOut ? 'TIMED OUT and was killed' : `powered off after ${(vm.wallMs / 1000).toFixed(0)} s`}, run.sh exit ${vm.runExitCode ?? '(never recorded)'}, qemu exit ${vm.qemuExitCode}`,
    gadgetError && `gadget setup: ${gadgetError.trim()}`,
    `guest console (last lines):\n${tail(vm.console, 25)}`,
    device && `device program log (last lines):\n${tail(device, 10)}`,
    `full logs: ${resultsDir}`,
  ]
    .filter(Boolean)
    .join('\n');
  return { vm, results, resultsDir, diagnostics };
}
