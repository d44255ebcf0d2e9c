/** The real electron/main.ts started on the Electron double, with a renderer folder of its own (removed after the test). */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startDesktop } from '../../../electron/main.ts';
import { createElectronDouble } from './electron-double.ts';

/** `files`: more files to write, by path inside the folder (the renderer's are under renderer/). */
export async function bootDesktop(t: { after(fn: () => unknown): void }, prefix: string, files: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const rendererDir = join(dir, 'renderer') + '/';
  for (const [path, text] of Object.entries({ 'renderer/index.html': '<!doctype html><title>Unbrick</title>', ...files })) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const double = createElectronDouble();
  const desktop = await startDesktop(double.electron as never, { rendererDir, preloadPath: join(dir, 'preload.cjs'), dataDir: join(dir, 'data'), lab: true, ports: false });
  t.after(async () => {
    await desktop.core.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, double, win: double.created[0]! };
}
