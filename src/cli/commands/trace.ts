/** `unbrick trace show FILE`: the decoded view of a wire trace recorded with --trace. */
import { readFileSync, statSync } from 'node:fs';
import { inputError, ioError } from '../../core/errors.ts';
import { decodeTrace, formatTrace, readTrace } from '../../devices/wire-trace.ts';
import { type CommandGroup, intOpt, requirePositional } from '../framework.ts';

/** Largest trace read whole (a long upload is a few MiB of hex). */
const MAX_TRACE_BYTES = 256 << 20;

export const traceGroup: CommandGroup = {
  name: 'trace',
  summary: 'read wire traces recorded with --trace (for support)',
  commands: [
    {
      name: 'show',
      summary: 'print a wire trace: every exchange with its raw bytes and, where the protocol is known, what it means',
      args: 'FILE',
      options: { 'raw-bytes': { type: 'string', value: 'N', description: 'raw bytes shown per event (default 4096)' } },
      async run(ctx) {
        const path = requirePositional(ctx, 0, 'FILE');
        let text: string;
        try {
          if (statSync(path).size > MAX_TRACE_BYTES) throw inputError('trace.too-large', `${path} is larger than ${MAX_TRACE_BYTES} bytes.`);
          text = readFileSync(path, 'utf8');
        } catch (e) {
          if (e instanceof Error && 'kind' in e) throw e;
          throw ioError('io.read-failed', `Cannot read ${path}: ${(e as Error).message}`, { path }, e);
        }
        const lines = readTrace(text, path);
        const events = decodeTrace(lines).map((e) => ({ t: e.t, link: e.link, dir: e.dir, hex: Buffer.from(e.raw).toString('hex'), ...(e.decoded ? { decoded: e.decoded } : {}) }));
        return { data: { path, events }, human: formatTrace(lines, { rawLimit: intOpt(ctx, 'raw-bytes', 4096)! }) };
      },
    },
  ],
};
