/**
 * Bundle benchmark: time to verify a 64 MiB bundle (signatures, every payload
 * streamed and hashed, the MCUboot image checked by the image toolkit) as a
 * ratio to SHA-256 of the same file, and the peak memory (RSS) while doing it.
 * Each measurement runs in a fresh child process, so its peak RSS is its own;
 * a child that only loads the same modules gives the baseline.
 */
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateKey } from '../../src/crypto/keys.ts';
import { createBundle } from '../../src/formats/bundle/create.ts';
import { Lab, baseSpec, makeVendor, vectorImage, vectorKeyPath, T0, DAY } from '../unit/bundle/fixture.ts';

const MiB = 1024 * 1024;
const ROUNDS = 7;
const ROOT = resolve(import.meta.dirname, '../..');

interface Run {
  sha: number[];
  verify: number[];
  coldVerify: number;
  rssMiB: number;
}

function child<T>(script: string, env: NodeJS.ProcessEnv): T {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`bench child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as T;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(): Promise<void> {
  const lab = new Lab();
  const scratch = mkdtempSync(join(tmpdir(), 'unbrick-bench-'));
  try {
    const v = makeVendor({ releaseKeys: [generateKey('ed25519')] });
    lab.trust(v);
    // A raw region filling the bundle to 64 MiB, written in 1 MiB chunks of random bytes (incompressible).
    const image = vectorImage('ed25519_448k_pad_confirm');
    const rawSize = 64 * MiB - statSync(image).size - 4096;
    const raw = join(scratch, 'region.bin');
    const fd = openSync(raw, 'w');
    const chunk = Buffer.alloc(MiB);
    for (let done = 0; done < rawSize; done += MiB) writeSync(fd, randomFillSync(chunk), 0, Math.min(MiB, rawSize - done));
    closeSync(fd);
    const path = join(scratch, 'big.ubundle');
    await createBundle(
      baseSpec({
        payloads: [
          { file: image, name: 'app.bin', role: 'mcuboot-image', target: { kind: 'smp', image: 0, slot: 1 }, imageKey: vectorKeyPath('ed25519-a') },
          { file: raw, name: 'region.bin', role: 'stm32-region', target: { kind: 'address', address: 0x08100000 } },
        ],
      }),
      scratch,
      v.releaseKeys,
      path,
      { now: T0 },
    );
    const size = statSync(path).size;
    const env = { UNBRICK_DATA_DIR: lab.dataDir };
    // One fresh process: a cold verify first (JIT, crypto tables), then SHA-256 and verify
    // alternated, so both see the same machine load (the machine is shared while tests run).
    const script = `import { createHash } from 'node:crypto'; import { createReadStream } from 'node:fs';
      import { checkBundle } from '${ROOT}/src/trust/check.ts';
      const time = async (f) => { const t = performance.now(); await f(); return performance.now() - t; };
      const sha = async () => { const h = createHash('sha256'); for await (const c of createReadStream(${JSON.stringify(path)}, { highWaterMark: 1 << 20 })) h.update(c); h.digest(); };
      const verify = () => checkBundle(${JSON.stringify(path)}, { clock: ${T0 + DAY} });
      const coldVerify = await time(verify); const r = { sha: [], verify: [] };
      for (let i = 0; i < ${ROUNDS}; i++) { r.sha.push(await time(sha)); r.verify.push(await time(verify)); }
      console.log(JSON.stringify({ ...r, coldVerify, rssMiB: process.resourceUsage().maxRSS / 1024 }));`;
    const idle = `import '${ROOT}/src/trust/check.ts'; console.log(JSON.stringify({ rssMiB: process.resourceUsage().maxRSS / 1024 }));`;
    const r = child<Run>(script, env);
    const base = child<{ rssMiB: number }>(idle, env);
    const sha = median(r.sha);
    const ver = median(r.verify);
    console.log(`bundle: ${(size / MiB).toFixed(1)} MiB (a raw region + the 448 KiB MCUboot vector image), ${ROUNDS} rounds in one fresh process`);
    console.log(`  SHA-256 of the file (streamed, 1 MiB reads): median ${sha.toFixed(0)} ms (${(size / MiB / (sha / 1000)).toFixed(0)} MiB/s), best ${Math.min(...r.sha).toFixed(0)} ms`);
    console.log(`  verify (trust store, signatures, every payload hashed, MCUboot image check): median ${ver.toFixed(0)} ms, best ${Math.min(...r.verify).toFixed(0)} ms, first (cold) ${r.coldVerify.toFixed(0)} ms`);
    console.log(`  ratio verify / SHA-256: ${(ver / sha).toFixed(2)} (medians), ${(Math.min(...r.verify) / Math.min(...r.sha)).toFixed(2)} (best runs)`);
    console.log(`  peak RSS of the verifying process: ${r.rssMiB.toFixed(0)} MiB (idle with the same modules loaded: ${base.rssMiB.toFixed(0)} MiB)`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    lab.cleanup();
  }
}
