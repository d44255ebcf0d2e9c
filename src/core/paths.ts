/**
 * Where Unbrick keeps its state (trust store, golden library, anti-rollback
 * state, service log). One place decides, so the CLI, the server and the
 * desktop app all see the same data. UNBRICK_DATA_DIR overrides it (tests,
 * portable installs on a USB stick).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.UNBRICK_DATA_DIR) return env.UNBRICK_DATA_DIR;
  switch (process.platform) {
    case 'win32':
      return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'Unbrick');
    case 'darwin':
      return join(homedir(), 'Library', 'Application Support', 'Unbrick');
    default:
      return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'unbrick');
  }
}
