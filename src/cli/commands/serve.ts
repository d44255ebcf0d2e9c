/**
 * `unbrick serve`: the app's UI and contract on localhost, for stations without
 * a desktop. Prints the URL (with its one-time token) as the first line.
 */
import { resolve } from 'node:path';
import { usageError } from '../../core/errors.ts';
import { intOpt, stringList, stringOpt, type CommandContext, type CommandGroup } from '../framework.ts';
import { LINE_OPTIONS, linePolicyOpts, parallelOpt, portsOpt } from '../station-options.ts';
import type { StationStart } from '../../api/contract.ts';
import { dataDir } from '../../core/paths.ts';
import { createAppCore } from '../../app/create-app-core.ts';
import { startServer } from '../../server/server.ts';
import { ensureRendererBuilt } from '../../server/build-ui.ts';
import { DEFAULT_RENDERER_DIR } from '../../server/static.ts';


/** The station options of `unbrick serve`, as the station screen's start parameters. */
function stationStart(ctx: CommandContext, bundle: string): StationStart {
  const ports = portsOpt(ctx);
  const num = (name: string, key: 'dataAddress' | 'uidAddress') => (intOpt(ctx, name) !== undefined ? { [key]: intOpt(ctx, name)! } : {});
  return {
    bundle: resolve(bundle),
    parallel: parallelOpt(ctx),
    ...(ports !== 'auto' ? { ports } : {}),
    ...linePolicyOpts(ctx),
    ...num('data-address', 'dataAddress'),
    ...num('uid-address', 'uidAddress'),
    ...(stringOpt(ctx, 'data') ? { data: resolve(stringOpt(ctx, 'data')!) } : {}),
    ...(stringOpt(ctx, 'batch') ? { batch: stringOpt(ctx, 'batch')! } : {}),
    ...(ctx.values['allow-unprotect'] ? { allowUnprotect: true } : {}),
  };
}

export const serveGroup: CommandGroup = {
  name: 'serve',
  summary: 'serve the app in a browser on this machine (localhost only, one-time token)',
  commands: [
    {
      name: 'serve',
      summary: 'serve the app in a browser on this machine (localhost only, one-time token)',
      description:
        'Serves the same UI as the desktop app on 127.0.0.1 and prints its URL, token included, as the first line. ' +
        'Open that URL in a browser on this machine. With no hardware attached the demo lab of simulated units is shown. Stop with Ctrl-C.',
      options: {
        listen: { type: 'string', value: 'N', description: 'TCP port to listen on (default: a free one)' },
        'data-dir': { type: 'string', value: 'DIR', description: 'where the service log and other state live (default: the app data directory)' },
        lab: { type: 'boolean', description: 'show the demo lab even when a USB serial adapter is attached' },
        'no-lab': { type: 'boolean', description: 'do not show the demo lab of simulated units' },
        'lab-baud': { type: 'string', value: 'N', description: "the demo lab's line rate (default 115200; 0 = unpaced, for tests)", default: '115200' },
        port: { type: 'string', value: 'PATH', multiple: true, description: 'also watch this serial port (a built-in UART or a pty)' },
        // Factory station: the station screen starts provisioning at launch, as the line's engineer set it up.
        'station-bundle': { type: 'string', value: 'FILE', description: 'start the factory station with this provisioning bundle (its vendor must be in the trust store)' },
        ...Object.fromEntries(Object.entries(LINE_OPTIONS).map(([name, o]) => [name, { ...o, description: `station: ${o.description}` }])),
        'station-demo': { type: 'boolean', description: 'start the demo factory line: simulated blank units at 115200 baud, a lab-signed bundle (implies --lab)' },
        'demo-units': { type: 'string', value: 'N', description: 'ports on the demo factory line (1..16)', default: '6' },
        'demo-dead-socket': { type: 'boolean', description: 'demo line: one more port whose adapter cannot be opened (the station disables it after three faults)' },
      },
      async run(ctx) {
        const port = intOpt(ctx, 'listen', 0)!;
        if (port < 0 || port > 65535) throw usageError('usage.bad-port', `--listen must be 0..65535, got ${port}.`);
        const dir = stringOpt(ctx, 'data-dir') ?? dataDir();
        await ensureRendererBuilt(DEFAULT_RENDERER_DIR, ctx.warn);
        // The demo lab is the default when no hardware is attached.
        const demo = ctx.values['station-demo'] === true;
        const bundle = stringOpt(ctx, 'station-bundle');
        if (demo && bundle) throw usageError('usage.conflict', 'Use either --station-bundle or --station-demo, not both.');
        const lab = ctx.values['no-lab'] ? false : ctx.values.lab || demo ? true : 'auto';
        const core = await createAppCore({ dataDir: dir, lab, labBaud: intOpt(ctx, 'lab-baud', 115200)!, ports: { extraPaths: stringList(ctx, 'port') } });
        try {
          if (demo) {
            const units = intOpt(ctx, 'demo-units', 6)!;
            if (units < 1 || units > 16) throw usageError('usage.bad-number', '--demo-units must be between 1 and 16.');
            await core.station.startDemo({ units, ...linePolicyOpts(ctx), ...(ctx.values['demo-dead-socket'] ? { deadSocket: true } : {}) });
          } else if (bundle) await core.station.start(stationStart(ctx, bundle));
        } catch (e) {
          await core.close();
          throw e;
        }
        const server = await startServer({ core, rendererDir: DEFAULT_RENDERER_DIR, port });
        // First line of output, always (also with --json): scripts and tests read it.
        process.stdout.write(server.url + '\n');
        const st = core.station.status().run;
        if (st) ctx.warn(`Factory station running: batch ${st.batch} (${st.product} ${st.version})${st.demo ? ', demo line of simulated units' : ''}. Records: ${st.dataDir}.`);
        ctx.warn(`Unbrick is serving on ${server.origin} (this machine only). Service log: ${core.log.path}. Press Ctrl-C to stop.`);
        await new Promise<void>((resolve) => {
          if (ctx.signal.aborted) return resolve();
          ctx.signal.addEventListener('abort', () => resolve(), { once: true });
        });
        await server.close();
        await core.close();
        return { data: { url: server.url, stopped: true }, human: ['Stopped.'] };
      },
    },
  ],
};
