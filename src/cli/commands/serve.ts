/**
 * `unbrick serve`: the app's UI and contract on localhost, for stations without
 * a desktop. Prints the URL (with its one-time token) as the first line.
 */
import { intOpt, stringList, stringOpt, type CommandGroup } from '../framework.ts';
import { hardwareAttached } from '../../workflows/ports.ts';
import { dataDir } from '../../core/paths.ts';
import { AppCore } from '../../workflows/app-core.ts';
import { DemoLab } from '../../sim/lab/lab.ts';
import { startServer } from '../../server/server.ts';
import { ensureRendererBuilt } from '../../server/build-ui.ts';
import { DEFAULT_RENDERER_DIR } from '../../server/static.ts';
import { usageError } from '../../core/errors.ts';

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
        port: { type: 'string', value: 'PATH', multiple: true, description: 'also watch this serial port (a built-in UART or a pty)' },
      },
      async run(ctx) {
        const port = intOpt(ctx, 'listen', 0)!;
        if (port < 0 || port > 65535) throw usageError('usage.bad-port', `--listen must be 0..65535, got ${port}.`);
        const dir = stringOpt(ctx, 'data-dir') ?? dataDir();
        await ensureRendererBuilt(DEFAULT_RENDERER_DIR, ctx.warn);
        // The demo lab is the default when no hardware is attached.
        const lab = ctx.values['no-lab'] ? false : ctx.values.lab ? true : !(await hardwareAttached());
        const core = new AppCore({ dataDir: dir, ports: { extraPaths: stringList(ctx, 'port') }, ...(lab ? { lab: new DemoLab() } : {}) });
        const server = await startServer({ core, rendererDir: DEFAULT_RENDERER_DIR, port });
        // First line of output, always (also with --json): scripts and tests read it.
        process.stdout.write(server.url + '\n');
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
