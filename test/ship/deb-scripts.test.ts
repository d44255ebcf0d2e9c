/**
 * The deb's maintainer scripts (build/linux/*.tpl, electron-builder fills in the names) run against a
 * temporary root (DPKG_ROOT, as `dpkg --root` sets it): install puts the udev rules and the command link in
 * place; remove and purge take them away; an upgrade leaves them for the new version.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RULES = '/usr/lib/udev/rules.d/60-unbrick.rules';

/** A script as electron-builder writes it into the deb: its ${name} macros filled in. */
function render(template: string, dir: string): string {
  const names: Record<string, string> = { executable: 'unbrick-desktop', sanitizedProductName: 'Unbrick' };
  const text = readFileSync(join(ROOT, 'build', 'linux', template), 'utf8').replace(/\$\{([a-zA-Z]+)\}/g, (_m, k: string) => {
    assert.ok(k in names, `macro ${k} is one electron-builder defines`);
    return names[k]!;
  });
  const path = join(dir, template.replace('.tpl', '.sh'));
  writeFileSync(path, text, { mode: 0o755 });
  return path;
}

function fakeRoot(): { root: string; run(script: string, arg: string): void } {
  const root = mkdtempSync(join(tmpdir(), 'unbrick-dpkg-root-'));
  const scripts = mkdtempSync(join(tmpdir(), 'unbrick-dpkg-scripts-'));
  const rules = spawnSync(process.execPath, [join(ROOT, 'bin', 'unbrick.js'), 'udev-rules'], { encoding: 'utf8' }).stdout;
  mkdirSync(join(root, 'opt', 'Unbrick', 'resources', 'linux'), { recursive: true });
  writeFileSync(join(root, 'opt', 'Unbrick', 'resources', 'linux', '60-unbrick.rules'), rules);
  writeFileSync(join(root, 'opt', 'Unbrick', 'unbrick-desktop'), '#!/bin/sh\n', { mode: 0o755 });
  return {
    root,
    run(script, arg) {
      const r = spawnSync('bash', [render(script, scripts), arg], { encoding: 'utf8', env: { ...process.env, DPKG_ROOT: root } });
      assert.equal(r.status, 0, `${script} ${arg}: ${r.stderr}`);
    },
  };
}

test('install puts the udev rules and the command in place; remove takes them away', () => {
  const { root, run } = fakeRoot();
  try {
    run('after-install.tpl', 'configure');
    assert.equal(readFileSync(join(root, RULES), 'utf8'), readFileSync(join(root, 'opt/Unbrick/resources/linux/60-unbrick.rules'), 'utf8'));
    assert.match(readFileSync(join(root, RULES), 'utf8'), /idProduct\}=="df11"/);
    assert.equal(readlinkSync(join(root, 'usr/bin/unbrick-desktop')), '/opt/Unbrick/unbrick-desktop');
    run('after-install.tpl', 'configure'); // again (reinstall): same result, no error
    run('after-remove.tpl', 'upgrade');
    assert.ok(existsSync(join(root, RULES)), 'an upgrade keeps the rules for the new version');
    run('after-remove.tpl', 'remove');
    assert.ok(!existsSync(join(root, RULES)), 'remove takes the rules away');
    assert.ok(!existsSync(join(root, 'usr/bin/unbrick-desktop')), 'remove takes the command link away');
    run('after-remove.tpl', 'purge'); // after remove: nothing left to do, still succeeds
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('remove leaves a /usr/bin/unbrick-desktop that is not ours alone', () => {
  const { root, run } = fakeRoot();
  try {
    run('after-install.tpl', 'configure');
    rmSync(join(root, 'usr/bin/unbrick-desktop'));
    writeFileSync(join(root, 'usr/bin/unbrick-desktop'), '#!/bin/sh\n# put here by someone else\n');
    run('after-remove.tpl', 'remove');
    assert.match(readFileSync(join(root, 'usr/bin/unbrick-desktop'), 'utf8'), /someone else/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
