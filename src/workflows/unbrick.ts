/**
 * Full unbrick through the STM32 ROM bootloader, for a unit whose MCUboot is
 * gone: readout-unprotect if needed (explicit confirmation: it erases the
 * chip), lift write protection over the sectors to rewrite (confirmation),
 * write every flash region of the product's golden bundle (MCUboot and the
 * application; confirmation), verify, restore the protection policy, and reset.
 * The protection policy restored: the sectors holding the bootloader, plus any
 * sector that was write-protected before and had to be lifted (a unit never
 * leaves less protected than it came).
 *
 * Resumable: the write keeps a checkpoint (sectors erased, blocks the
 * bootloader acknowledged); after a cancel or a lost link, resume reconnects
 * and continues from the next block. Blocks are rewritten with the same data
 * at most once, which NOR flash tolerates; verify reads everything back.
 */
import { deviceError, UnbrickError } from '../core/errors.ts';
import * as imageGroup from '../smp/groups/image.ts';
import { openSmp } from '../devices/smp-link.ts';
import { identifySmp } from '../devices/probes.ts';
import { eraseUnits, unitsCovering } from '../stm32/chips/index.ts';
import { formatRuns } from '../stm32/option-bytes/index.ts';
import { erasePages, probeReadout, protectPages, readOptionBytes, readoutUnprotect, verifyImage, writeImage, writeUnprotect } from '../stm32/operations.ts';
import type { Stm32Session } from '../stm32/session.ts';
import type { DeviceRegistry } from '../devices/registry.ts';
import type { JobDefinition, StepContext } from './job.ts';
import { openStm32, type Stm32Link } from '../devices/stm32-link.ts';
import { firmwareSource, goldenForStm32, recordInputs, type GoldenSet } from './firmware.ts';

const BLOCK = 256;
const TRANSIENT = new Set(['stm32.timeout', 'stm32.garbled', 'stm32.nack', 'stm32.write-failed']);

/** Writes one block, resyncing and retrying after line noise (a lost or garbled byte). */
async function writeBlock(s: Stm32Session, b: { address: number; data: Uint8Array }): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await s.client.writeMemory(b.address, b.data);
    } catch (e) {
      if (attempt >= 3 || !(e instanceof UnbrickError && TRANSIENT.has(e.code))) throw e;
      await s.client.resync();
    }
  }
}

export interface UnbrickState {
  golden?: GoldenSet;
  rdpRemoved?: boolean;
  wrpLifted?: number[];
  /** Checkpoint: sectors already erased, and how many blocks of the plan are written. */
  erased: number[];
  blocksDone: number;
  verified?: 'checksum' | 'read-back';
  protectedAgain?: number[];
  /** What the unit listed over SMP after it started (its running image), when it answered. */
  answered?: { kind: 'zephyr-smp' | 'mcuboot-serial'; version: string };
}

export function unbrickJob(registry: DeviceRegistry, deviceId: string, dataDir: string, options: { bundleId?: string } = {}): JobDefinition<UnbrickState> {
  const entry = () => registry.get(deviceId);
  let link: Stm32Link | undefined;
  let linkSignal: AbortSignal | undefined;
  const state: UnbrickState = { erased: [], blocksDone: 0 };

  async function session(ctx: StepContext<UnbrickState>) {
    // After a cancel or a cut cable the old link is gone: reconnect (the bootloader resyncs).
    // The client is bound to one run's cancel signal: a resumed run gets a fresh connection.
    if (link && linkSignal !== ctx.signal) {
      await link.close().catch(() => {});
      link = undefined;
    }
    if (!link) {
      link = await openStm32(entry().handle, ctx.signal);
      linkSignal = ctx.signal;
    }
    return link.session;
  }

  /** Any failure may have left the link unusable: drop it so a resume reconnects. */
  const guarded = (steps: JobDefinition<UnbrickState>['steps']) =>
    steps.map((st) => ({
      ...st,
      async run(ctx: StepContext<UnbrickState>) {
        try {
          return await st.run(ctx);
        } catch (e) {
          const l = link;
          link = undefined;
          await l?.close().catch(() => {});
          throw e;
        }
      },
    }));

  const plan = (g: GoldenSet) =>
    g.regions.flatMap((p) => {
      const blocks: { address: number; data: Uint8Array }[] = [];
      for (let off = 0; off < p.data.length; off += BLOCK) {
        const data = p.data.subarray(off, off + BLOCK);
        if (!data.every((b) => b === 0xff)) blocks.push({ address: p.address + off, data });
      }
      return blocks;
    });

  return {
    workflow: 'unbrick',
    deviceId,
    state,
    precheck() {
      const e = entry();
      if (e.kind !== 'stm32-rom')
        return e.kind === 'identifying'
          ? 'The device is still being identified. Wait a moment, then start again.'
          : `Full unbrick works through the STM32 ROM bootloader, but this device answers as: ${e.summary}. Hold BOOT0 high (or use the adapter's bootloader wiring), reset the unit, run Detect, then try again.`;
      return undefined;
    },
    steps: guarded([
      {
        id: 'connect',
        title: 'Connect and find the golden images',
        async run(ctx) {
          const s = await session(ctx);
          const g = await goldenForStm32(await firmwareSource(entry().handle, dataDir), s.info.pid, options.bundleId);
          ctx.state.golden = g;
          ctx.log(`${s.chip.name}; golden bundle ${g.origin.product} ${g.origin.version} [${g.origin.bundleId.slice(0, 12)}]: ${g.regions.map((r) => r.name).join(', ')}.`);
        },
      },
      {
        id: 'readout-unprotect',
        title: 'Remove readout protection (if set)',
        async run(ctx) {
          const s = await session(ctx);
          if ((await probeReadout(s)) === 0) return { skipped: 'Readout protection is off.' };
          await ctx.confirm({
            title: 'Erase the whole chip to remove readout protection?',
            message:
              'Readout protection is at level 1. Removing it erases ALL flash on the unit (bootloader, application and any data on it). The golden bootloader and application are written back afterwards; data stored on the unit is lost.',
            confirmLabel: 'Erase chip and remove protection',
          });
          const meter = ctx.progress('Mass erase (readout unprotect)', 1);
          await readoutUnprotect(s, { signal: ctx.signal });
          meter.update(1);
          ctx.state.rdpRemoved = true;
          ctx.state.erased = []; // everything is erased now, but the sector plan below re-erases safely
        },
      },
      {
        id: 'lift-wrp',
        title: 'Lift write protection over the sectors to rewrite',
        async run(ctx) {
          const s = await session(ctx);
          const g = ctx.state.golden!;
          const ob = await readOptionBytes(s, { signal: ctx.signal });
          const needed = [...new Set(g.regions.flatMap((p) => unitsCovering(s.chip, p.address, p.data.length).map((u) => u.index)))];
          const hit = needed.filter((i) => ob.wrpPages.includes(i));
          if (!hit.length) return { skipped: 'None of the sectors to rewrite is write-protected.' };
          await ctx.confirm({
            title: `Lift write protection on sectors ${formatRuns(hit)}?`,
            message: `Sectors ${formatRuns(hit)} are write-protected, so nothing can be written there. The bootloader lifts write protection on every sector at once (${formatRuns(ob.wrpPages)} now); Unbrick protects all of them again at the end, with the bootloader's sectors.`,
            confirmLabel: 'Lift write protection',
          });
          await writeUnprotect(s);
          ctx.state.wrpLifted = ob.wrpPages; // write-unprotect clears every sector's protection, not just these
        },
      },
      {
        id: 'write',
        title: 'Write MCUboot and the golden application',
        async run(ctx) {
          const s = await session(ctx);
          const g = ctx.state.golden!;
          const sectors = [...new Set(g.regions.flatMap((p) => unitsCovering(s.chip, p.address, p.data.length).map((u) => u.index)))].sort((a, b) => a - b);
          const todo = sectors.filter((i) => !ctx.state.erased.includes(i));
          if (ctx.state.blocksDone === 0 && todo.length === sectors.length)
            await ctx.confirm({
              title: `Erase sectors ${formatRuns(sectors)} and write the golden images?`,
              message: `Writes ${g.regions.map((r) => `${r.name} (${r.data.length} bytes) at 0x${r.address.toString(16)}`).join(', ')}, from golden bundle ${g.origin.product} ${g.origin.version}. What those sectors hold now is replaced.`,
              confirmLabel: 'Erase and write',
            });
          if (todo.length) {
            const m = ctx.progress('Erasing', todo.length);
            for (const [n, i] of todo.entries()) {
              await erasePages(s, [i], { signal: ctx.signal });
              ctx.state.erased.push(i);
              m.update(n + 1);
            }
          }
          const blocks = plan(g);
          const total = blocks.reduce((n, b) => n + b.data.length, 0);
          let done = blocks.slice(0, ctx.state.blocksDone).reduce((n, b) => n + b.data.length, 0);
          if (ctx.state.blocksDone > 0) ctx.log(`Resuming the write at block ${ctx.state.blocksDone} of ${blocks.length} (${done} bytes already written).`);
          const meter = ctx.progress('Writing', total);
          meter.update(done);
          for (let i = ctx.state.blocksDone; i < blocks.length; i++) {
            if (ctx.signal.aborted) return;
            const b = blocks[i]!;
            await writeBlock(s, b);
            ctx.state.blocksDone = i + 1;
            done += b.data.length;
            meter.update(done);
          }
        },
      },
      {
        id: 'verify',
        title: 'Verify what was written',
        async run(ctx) {
          const s = await session(ctx);
          const g = ctx.state.golden!;
          // Verify what was programmed (the plan's blocks, merged into runs); the padding between them
          // is erased flash, which the sector erase before the write guaranteed.
          const runs: { address: number; data: Uint8Array }[] = [];
          for (const b of plan(g)) {
            const last = runs.at(-1);
            if (last && last.address + last.data.length === b.address) last.data = Uint8Array.from([...last.data, ...b.data]);
            else runs.push({ address: b.address, data: b.data });
          }
          const total = runs.reduce((n, r) => n + r.data.length, 0);
          const meter = ctx.progress('Verifying', total);
          let done = 0;
          const bad: number[] = [];
          for (const r of runs) {
            try {
              ctx.state.verified = await verifyImage(s, [r], { signal: ctx.signal, onProgress: (p) => p.phase === 'Reading' && meter.update(done + p.done) });
            } catch (e) {
              if (!(e instanceof UnbrickError && e.code === 'stm32.verify-failed')) throw e;
              bad.push(...((e.details?.units as number[] | undefined) ?? []));
            }
            meter.update((done += r.data.length));
          }
          if (bad.length) {
            // A block garbled on the line can pass the bootloader's XOR check and program junk;
            // flash cannot be fixed without an erase: rewrite the sectors concerned (erase, write, verify).
            ctx.log(`Sectors ${formatRuns(bad)} do not hold the image: rewriting them.`, 'warn');
            const units = eraseUnits(s.chip).filter((u) => bad.includes(u.index));
            const segments = g.regions.flatMap((p) =>
              units
                .map((u) => {
                  const from = Math.max(p.address, u.address);
                  const to = Math.min(p.address + p.data.length, u.address + u.size);
                  return from < to ? { address: from, data: p.data.subarray(from - p.address, to - p.address) } : undefined;
                })
                .filter((x): x is { address: number; data: Uint8Array } => !!x),
            );
            const r = await writeImage(s, segments, { signal: ctx.signal, skipProtectionCheck: true });
            ctx.state.verified = r.verify === 'none' ? 'read-back' : r.verify;
          }
          ctx.log(`Verified by ${ctx.state.verified}.`);
        },
      },
      {
        id: 'protect',
        title: 'Restore the protection policy',
        async run(ctx) {
          const s = await session(ctx);
          const g = ctx.state.golden!;
          const boot = unitsCovering(s.chip, g.bootloader.address, g.bootloader.data.length).map((u) => u.index);
          const want = [...new Set([...boot, ...(ctx.state.wrpLifted ?? [])])].sort((a, b) => a - b);
          const back = await protectPages(s, want);
          ctx.state.protectedAgain = back.wrpPages;
          ctx.log(`Write protection restored on sectors ${formatRuns(back.wrpPages)}.`);
        },
      },
      {
        id: 'reset',
        title: 'Start the unit',
        async run(ctx) {
          const s = await session(ctx);
          await s.client.go(ctx.state.golden!.bootloader.address);
          ctx.log('Jumped to MCUboot.');
          await link?.close();
          link = undefined;
          registry.update(deviceId, { kind: 'unknown', summary: 'Restarted after a full unbrick.' });
        },
      },
      {
        id: 'answers',
        title: 'Check the unit answers',
        async run(ctx) {
          const app = ctx.state.golden!.regions.find((r) => r.imageHash);
          if (!app) return { skipped: 'The golden bundle holds no MCUboot image to look for.' };
          // MCUboot checks the image and starts the application on the same UART; give it a few tries.
          for (let i = 0; i < 8 && !ctx.signal.aborted; i++) {
            await new Promise((r) => setTimeout(r, 750));
            const smp = await openSmp(entry().handle).catch(() => undefined);
            if (!smp) continue;
            try {
              const listed = await smp.guard(ctx.signal, () => imageGroup.list(smp.client));
              const s0 = listed.find((x) => x.image === 0 && x.slot === 0 && x.hash === app.imageHash);
              if (!s0) throw deviceError('unbrick.wrong-image', `The unit answers but does not list the golden image in slot 0. Run Diagnose.`);
              const now = await identifySmp(smp.client);
              const kind = now.kind === 'zephyr-smp' ? 'zephyr-smp' : 'mcuboot-serial';
              ctx.state.answered = { kind, version: s0.version };
              registry.update(deviceId, { kind, summary: now.summary });
              ctx.log(`The unit answers: ${kind === 'zephyr-smp' ? `its application ${s0.version} runs` : 'MCUboot is in serial recovery'}, with the golden image in slot 0.`);
              return;
            } catch (e) {
              if (e instanceof UnbrickError && e.code === 'unbrick.wrong-image') throw e;
            } finally {
              await smp.close().catch(() => {});
            }
          }
          // Units whose application talks on another port (USB) or whose boot pin stays high are silent here: not a failure.
          ctx.log('The unit did not answer over SMP on this port. If its application uses another port (USB), or its BOOT0 pin is held high, power-cycle it and run Detect.', 'warn');
          return { skipped: 'The unit did not answer over SMP on this port.' };
        },
      },
    ]),
    record(s) {
      const g = s.golden;
      return {
        ...(g ? { inputs: recordInputs(g.origin, g.regions.map((r) => ({ name: `${r.name} @ 0x${r.address.toString(16)}`, sha256: r.sha256, bytes: r.data.length }))) } : {}),
        facts: {
          ...(s.rdpRemoved ? { readoutProtectionRemoved: true } : {}),
          ...(s.wrpLifted ? { writeProtectionLifted: s.wrpLifted } : {}),
          ...(s.protectedAgain ? { writeProtectedAfter: s.protectedAgain } : {}),
          ...(s.verified ? { verifiedBy: s.verified } : {}),
          ...(s.answered ? { answeredAfter: s.answered } : {}),
        },
      };
    },
    result(s) {
      const g = s.golden;
      if (!g || !s.verified) return { summary: `Stopped before the images were verified (${s.blocksDone} blocks written). Resume to continue.` };
      return {
        summary: `Golden bundle ${g.origin.product} ${g.origin.version} written and verified (${s.verified})${s.protectedAgain ? `; sectors ${formatRuns(s.protectedAgain)} protected again` : ''}${s.rdpRemoved ? '; readout protection was removed' : ''}${s.answered ? `; the unit answers: ${s.answered.kind === 'zephyr-smp' ? `its application ${s.answered.version} runs` : 'MCUboot is in serial recovery'}` : ''}.`,
        findings: [],
      };
    },
  };
}
