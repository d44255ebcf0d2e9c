/**
 * Fleet release files a technician is handed: Mender artifacts (tar of
 * gzip-compressed tars), AWS IoT OTA job documents, Azure Device Update
 * import manifests. Every mutated input must end in a typed refusal or a
 * result, never a crash or a hang.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAduManifest } from '../../../src/formats/fleet/adu.ts';
import { readAwsJobDocument } from '../../../src/formats/fleet/aws-ota.ts';
import { readMenderArtifact } from '../../../src/formats/fleet/mender.ts';
import type { FuzzTarget } from '../engine.ts';

const te = new TextEncoder();
let menderCorpus: Uint8Array[] = [];

/** Two artifacts made by Debian's mender-artifact (none if it is not installed: generated inputs only). */
function makeArtifacts(): Uint8Array[] {
  const dir = mkdtempSync(join(tmpdir(), 'unbrick-fuzz-mender-'));
  try {
    writeFileSync(join(dir, 'app.bin'), new Uint8Array(3000).map((_, i) => i & 0xff));
    const out: Uint8Array[] = [];
    for (const [name, types] of [
      ['a', ['gw-revA']],
      ['b', ['gw-revA', 'gw-revB']],
    ] as const) {
      const args = ['write', 'module-image', '-T', 'mcuboot', '-n', `fw-${name}`, '-o', join(dir, `${name}.mender`), '-f', join(dir, 'app.bin'), '--provides', 'rootfs-image.version:1.2.3'];
      for (const t of types) args.push('-t', t);
      execFileSync('mender-artifact', args, { stdio: 'ignore' });
      out.push(new Uint8Array(readFileSync(join(dir, `${name}.mender`))));
    }
    return out;
  } catch {
    return [];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const mender: FuzzTarget = {
  name: 'mender-artifact',
  weight: 2,
  setup: async () => {
    menderCorpus = makeArtifacts();
  },
  corpus: () => menderCorpus,
  run(input) {
    readMenderArtifact(input, { keys: [], allowUnsigned: true });
  },
};

const awsDoc = JSON.stringify({
  execution: {
    jobId: 'ota-1',
    thingName: 'gw-1',
    jobDocument: { afr_ota: { protocols: ['MQTT'], streamname: 's', files: [{ filepath: '/fw/app.bin', filesize: 1234, fileid: 0, certfile: 'c.crt', 'sig-sha256-ecdsa': 'MEUCIQDabcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH' }] } },
  },
});
const aduDoc = JSON.stringify({
  updateId: { provider: 'Acme', name: 'Gateway', version: '1.2.3' },
  compatibility: [{ manufacturer: 'acme', model: 'gw' }],
  instructions: { steps: [{ handler: 'microsoft/swupdate:2', files: ['app.bin'] }] },
  files: [{ filename: 'app.bin', sizeInBytes: 10, hashes: { sha256: 'A'.repeat(43) + '=' } }],
  manifestVersion: '5.0',
  createdDateTime: '2026-12-01T10:00:00Z',
});

const fleetJson: FuzzTarget = {
  name: 'fleet-json',
  weight: 2,
  corpus: () => [te.encode(awsDoc), te.encode(aduDoc)],
  run(input) {
    const text = Buffer.from(input).toString('utf8');
    // Each document reader is tried on every input: a job document given as a manifest is refused, not crashed on.
    for (const read of [readAwsJobDocument, readAduManifest]) {
      try {
        read(text);
      } catch (e) {
        if (!(e instanceof Error && 'kind' in e)) throw e;
      }
    }
  },
};

export const FLEET_TARGETS: FuzzTarget[] = [mender, fleetJson];
