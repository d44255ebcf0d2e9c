/**
 * The folder direction of docs/architecture.md, checked by dependency-cruiser
 * (`node scripts/check-deps.js`, part of `npm test`; `npx depcruise src electron renderer`
 * reads this file too). A folder may import itself and the folders listed for it, nothing else.
 * The table must stay acyclic: scripts/check-deps.js refuses one with a cycle.
 */

/** Folder -> the folders it may import. `src/<name>` unless it is a top-level folder. */
export const MAY_IMPORT = {
  core: [],
  // The contract: methods, events, schemas, wire protocol. Only core below it, so
  // every layer may share its data shapes (DeviceSummary, Diagnosis, JobSnapshot).
  api: ['core'],
  crypto: ['core'],
  transport: ['core'],
  formats: ['core', 'crypto'],
  stm32: ['core', 'transport'],
  smp: ['core', 'transport', 'formats', 'crypto'],
  dfu: ['core', 'transport', 'formats', 'stm32'],
  trust: ['core', 'crypto', 'formats'],
  records: ['core', 'api', 'crypto'],
  // Simulators: codecs, formats and chip facts only (the client modules are excluded below).
  sim: ['core', 'crypto', 'transport', 'formats', 'trust', 'smp', 'stm32', 'dfu'],
  devices: ['core', 'api', 'transport', 'formats', 'crypto', 'smp', 'stm32', 'dfu', 'records'],
  workflows: ['core', 'api', 'crypto', 'transport', 'formats', 'smp', 'stm32', 'dfu', 'trust', 'records', 'devices'],
  station: ['core', 'api', 'crypto', 'transport', 'formats', 'smp', 'stm32', 'dfu', 'trust', 'records', 'devices', 'workflows'],
  // The composition root: the only place (with the CLI's simulator commands) that wires simulators in.
  app: ['core', 'api', 'crypto', 'transport', 'formats', 'smp', 'stm32', 'dfu', 'trust', 'records', 'devices', 'workflows', 'station', 'sim'],
  server: ['core', 'api', 'app'],
  cli: ['core', 'api', 'crypto', 'transport', 'formats', 'smp', 'stm32', 'dfu', 'trust', 'records', 'devices', 'workflows', 'station', 'sim', 'app', 'server'],
  electron: ['core', 'api', 'app', 'server'],
  renderer: ['api'],
};

/** Modules that talk to a device (clients, sessions, operations): a simulator must not use them. */
export const CLIENT_MODULES = '^src/(smp/(client|upload|groups/)|stm32/(an3155/client|session|operations|entry)\\.ts|dfu/(client|session|operations)\\.ts)';

export const folderOf = (path) => {
  const m = /^(?:src\/([^/]+)\/|(electron|renderer)\/)/.exec(path);
  return m ? (m[1] ?? m[2]) : undefined;
};

const where = (f) => (f === 'electron' || f === 'renderer' ? `^${f}/` : `^src/${f}/`);
const anyFolder = '^(src/[^/]+|electron|renderer)/';

export default {
  forbidden: [
    ...Object.entries(MAY_IMPORT).map(([from, allowed]) => ({
      name: `${from}-direction`,
      comment: `${from}/ may import only ${[from, ...allowed].join(', ')} (docs/architecture.md)`,
      severity: 'error',
      from: { path: where(from) },
      to: { path: anyFolder, pathNot: [from, ...allowed].map(where) },
    })),
    {
      name: 'sim-no-clients',
      comment: 'simulators must not use the clients they are tested against (docs/architecture.md)',
      severity: 'error',
      from: { path: '^src/sim/' },
      to: { path: CLIENT_MODULES },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
    tsPreCompilationDeps: true,
  },
};
