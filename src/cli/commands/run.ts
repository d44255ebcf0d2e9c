/**
 * `unbrick run <workflow>`: the same jobs the app runs (detect, diagnose,
 * recover, unbrick, update), from the command line, on a serial port or a
 * demo-lab unit. Destructive steps ask on the terminal, or are allowed up
 * front with --yes; without a terminal and without --yes they are declined.
 * Every run is recorded in the service log, as in the app.
 */
import { createInterface } from 'node:readline/promises';
import { stringOpt, TRACE_OPTIONS, type Command, type CommandContext, type CommandGroup } from '../framework.ts';
import { dataDir } from '../../core/paths.ts';
import { EXIT, usageError } from '../../core/errors.ts';
import { createAppCore, LAB_UNIT_IDS } from '../../app/create-app-core.ts';
import { WORKFLOWS, type JobSnapshot, type WorkflowName, type WorkflowOptions } from '../../api/contract.ts';
import { existsSync } from 'node:fs';
import { countFindings, outcomeWords } from '../../api/format.ts';
import { BundleLibrary } from '../../trust/library.ts';

const WORDS: Record<WorkflowName, string> = {
  detect: 'identify what answers on the port (changes nothing)',
  diagnose: 'read everything the device tells and list findings (changes nothing)',
  recover: 'write the golden image through MCUboot serial recovery, check it, restart',
  unbrick: 'rewrite MCUboot and the application through the STM32 ROM bootloader',
  update: 'install the update image with a test boot, then confirm it',
};

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

function progressLine(s: JobSnapshot): string | undefined {
  const p = s.progress;
  if (!p || !p.total) return undefined;
  const pct = Math.floor((100 * p.done) / p.total);
  const rate = p.rate ? ` ${(p.rate / 1024).toFixed(1)} KiB/s` : '';
  const eta = p.eta !== undefined ? ` ~${Math.ceil(p.eta)} s left` : '';
  return `${p.phase}: ${pct}%${rate}${eta}`;
}

async function runWorkflow(workflow: WorkflowName, ctx: CommandContext) {
  const port = stringOpt(ctx, 'port');
  const labUnit = stringOpt(ctx, 'lab');
  if (!!port === !!labUnit) throw usageError('usage.one-device', 'Name one device: --port PATH (a serial port) or --lab UNIT (a demo-lab unit).');
  // One unit: a demo-lab unit (no port watching) or a real port (no lab).
  const core = await createAppCore({
    dataDir: stringOpt(ctx, 'data-dir') ?? dataDir(),
    autoDetect: false,
    ...(labUnit ? { lab: [labUnit], ports: false } : { lab: false, ports: { extraPaths: [port!], intervalMs: 500 } }),
  });
  const deviceId = labUnit ?? `port:${port}`;
  try {
    if (!(await until(() => core.devices.has(deviceId), 5000))) throw usageError('usage.no-device', `${port} is not there. Check the path (ls /dev/tty*) and the cable.`);
    const shown = new Set<string>();
    const yes = ctx.values.yes === true;
    const rl = !yes && ctx.tty && process.stdin.isTTY ? createInterface({ input: process.stdin, output: process.stderr }) : undefined;
    const options = await bundleOption(workflow, ctx, (await core.devices.get(deviceId).handle.libraryDir?.()) ?? core.opts.dataDir);
    const runOne = async (w: WorkflowName, record: boolean): Promise<JobSnapshot> => {
      const job = core.job(core.startJob(w, deviceId, w === workflow ? options : {}, { record }).id);
      const stop = () => job.cancel();
      ctx.signal.addEventListener('abort', stop, { once: true });
      let lastProgress = 0;
      try {
        while (!job.finished) {
          const s = job.snapshot();
          for (const l of s.log) {
            const key = `${l.time}${l.message}`;
            if (!shown.has(key)) {
              shown.add(key);
              ctx.warn(`${l.level === 'info' ? '' : `${l.level}: `}${l.message}`);
            }
          }
          const line = progressLine(s);
          if (line && Date.now() - lastProgress > 1000) {
            lastProgress = Date.now();
            ctx.warn(line);
          }
          if (s.confirmation) {
            const c = s.confirmation;
            let allow = yes;
            if (!yes && rl) allow = /^y(es)?$/i.test((await rl.question(`${c.title}\n${c.message}\n${c.confirmLabel}? [y/N] `)).trim());
            else if (!yes) ctx.warn(`${c.title} Declined: run again with --yes to allow it, or answer on a terminal.`);
            job.answer(c.stepId, allow);
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        ctx.signal.removeEventListener('abort', stop);
      }
      return job.snapshot();
    };
    // Every workflow needs to know what the device is: detect first (not recorded unless asked for).
    const detected = await runOne('detect', workflow === 'detect');
    const final = workflow === 'detect' || detected.state !== 'succeeded' ? detected : await runOne(workflow, true);
    rl?.close();
    const dev = core.devices.list().find((d) => d.id === deviceId);
    const human = [
      ...(final.error ? [`${final.state === 'refused' ? 'Refused' : final.state === 'cancelled' ? 'Cancelled' : 'Failed'}: ${final.error.message}`] : []),
      ...(final.result ? [final.result.summary] : []),
      ...(final.result?.findings ?? []).map((f) => `  [${f.severity}] ${f.text}${f.action ? `\n      what to do: ${f.action}` : ''}`),
      ...(workflow === 'detect' && dev ? [`${dev.port}: ${dev.summary}`] : []),
    ];
    // A diagnosis that found a critical problem ran fine but the unit failed its check: exit 1, as the README's table says.
    const critical = countFindings(final.result?.findings).critical;
    if (final.state === 'succeeded' && critical > 0) human.push(`${outcomeWords('succeeded', countFindings(final.result?.findings)).word} (exit 1).`);
    const exitCode =
      final.state === 'succeeded' ? (critical > 0 ? EXIT.check : EXIT.ok) : final.state === 'refused' || final.error?.kind === 'check' ? EXIT.check : final.error?.kind === 'usage' ? EXIT.usage : EXIT.device;
    return { exitCode, data: { device: dev, job: final, diagnosis: core.devices.has(deviceId) ? core.devices.get(deviceId).diagnosis : undefined }, human };
  } finally {
    await core.close();
  }
}

/**
 * `--bundle`: a library entry (id or unique prefix), or a bundle file, which is
 * verified and imported into the golden (recover, unbrick) or update library
 * first, so a file takes the same checked path as a library entry.
 */
async function bundleOption(w: WorkflowName, ctx: CommandContext, libraryDir: string): Promise<WorkflowOptions[WorkflowName]> {
  const given = stringOpt(ctx, 'bundle');
  if (!given) return {};
  if (w === 'detect' || w === 'diagnose') throw usageError('usage.bundle-unused', `--bundle is for recover, unbrick and update; ${w} writes nothing.`);
  const kind = w === 'update' ? 'update' : 'golden';
  const id = existsSync(given) ? (await new BundleLibrary(kind, { dir: libraryDir, signal: ctx.signal, log: (l) => ctx.warn(`warning: ${l}`) }).import(given)).entry.id : given;
  return w === 'recover' ? { goldenId: id } : { bundleId: id };
}

const command = (w: WorkflowName): Command => ({
  name: w,
  summary: WORDS[w],
  options: {
    port: { type: 'string', value: 'PATH', description: 'the serial port the unit is on' },
    lab: { type: 'string', value: 'UNIT', description: `a demo-lab unit instead (${LAB_UNIT_IDS.join(', ')})` },
    yes: { type: 'boolean', short: 'y', description: 'allow every destructive step without asking' },
    ...(w === 'recover' || w === 'unbrick' || w === 'update'
      ? { bundle: { type: 'string' as const, value: 'ID|FILE', description: `the ${w === 'update' ? 'update' : 'golden'} bundle: a library id, or a file to verify and import (default: the newest for the unit's product)` } }
      : {}),
    'data-dir': { type: 'string', value: 'DIR', description: 'where the service log lives (default: the app data directory)' },
    ...TRACE_OPTIONS,
  },
  run: (ctx) => runWorkflow(w, ctx),
});

export const runGroup: CommandGroup = {
  name: 'run',
  summary: 'run a workflow (detect, diagnose, recover, unbrick, update) on one unit',
  commands: WORKFLOWS.map(command),
};
