/** `unbrick smp …`: SMP (mcumgr) over a serial port: MCUboot serial recovery and Zephyr SMP apps. */
import { writeFileSync } from 'node:fs';
import type { Command, CommandContext, CommandGroup, OptionSpec } from '../framework.ts';
import { intOpt, readUserFile, requireString, TRACE_OPTIONS } from '../framework.ts';
import { usageError, UnbrickError } from '../../core/errors.ts';
import { formatBytes } from '../../core/bytes.ts';
import { formatOsInfo, formatVersion } from '../../api/format.ts';
import type { Progress } from '../../core/progress.ts';
import { openSerial } from '../../transport/serial.ts';
import { SmpClient } from '../../smp/client.ts';
import { bootloaderInfo, echo, info, params, reset } from '../../smp/groups/os.ts';
import { erase, list, setState, slotInfo, stateNote, type SlotState, type StateRequest } from '../../smp/groups/image.ts';
import { eraseStorage } from '../../smp/groups/storage.ts';
import * as settingsGroup from '../../smp/groups/settings.ts';
import * as fsGroup from '../../smp/groups/fs.ts';
import * as statsGroup from '../../smp/groups/stats.ts';
import { uploadImage, type UploadOptions, type UploadResult } from '../../smp/upload.ts';
import { traceLink } from '../../transport/trace.ts';

const PORT_OPTIONS: Record<string, OptionSpec> = {
  port: { type: 'string', value: 'PATH', description: 'serial port (e.g. /dev/ttyUSB0, or a simulator pty)' },
  baud: { type: 'string', value: 'N', description: 'baud rate, 8N1', default: '115200' },
  timeout: { type: 'string', value: 'MS', description: 'answer timeout per try', default: '1500' },
  'smp-v2': { type: 'boolean', description: 'send SMP version 2 headers (group errors come back as err maps)' },
  ...TRACE_OPTIONS,
};

async function connect(ctx: CommandContext): Promise<SmpClient> {
  const baud = intOpt(ctx, 'baud', 115200)!;
  const path = requireString(ctx, 'port');
  const transport = traceLink(await openSerial({ path, baudRate: baud }), 'smp');
  // No pacing here: the upload engine learns what the device's receive side takes (src/smp/link-learner.ts).
  return new SmpClient(transport, { baud, timeoutMs: intOpt(ctx, 'timeout', 1500)!, version: ctx.values['smp-v2'] ? 1 : 0 });
}

async function withClient<T>(ctx: CommandContext, fn: (c: SmpClient) => Promise<T>): Promise<T> {
  const client = await connect(ctx);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/**
 * Upload that survives the port going away (USB-serial adapter pulled and
 * plugged back): it waits up to a minute for the port, reopens it and
 * continues the same upload from the last offset the device confirmed.
 */
async function uploadWithReconnect(ctx: CommandContext, bytes: Uint8Array, opts: UploadOptions): Promise<UploadResult> {
  let giveUpAt: number | undefined;
  let resumeFrom = 0;
  for (;;) {
    let client: SmpClient | undefined;
    try {
      client = await connect(ctx);
      return await uploadImage(client, bytes, { ...opts, resumeFrom });
    } catch (e) {
      const stalled = e instanceof UnbrickError && (e.code === 'smp.upload-stalled' || e.code === 'io.open-failed');
      if (!stalled || ctx.signal.aborted) throw e;
      const offset = e.code === 'smp.upload-stalled' ? Number(e.details?.offset ?? resumeFrom) : resumeFrom;
      if (offset > resumeFrom) giveUpAt = undefined; // it made progress since the last loss: a fresh minute
      resumeFrom = offset;
      giveUpAt ??= Date.now() + 60_000;
      if (Date.now() > giveUpAt) throw e;
      ctx.warn(`Lost the device at byte ${resumeFrom}; retrying the port until ${new Date(giveUpAt).toLocaleTimeString()}...`);
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      await client?.close().catch(() => {});
    }
  }
}

/** Runs a query, turning "not supported" into undefined so `info` can show what the device offers. */
async function optional<T>(p: Promise<T>): Promise<T | { unsupported: true }> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof UnbrickError && (e.code === 'smp.unsupported' || e.code === 'smp.einval')) return { unsupported: true };
    throw e;
  }
}

const NOT_SUPPORTED = 'not supported by this device';
const unsupported = <T,>(v: T | { unsupported: true }): v is { unsupported: true } => !!v && typeof v === 'object' && 'unsupported' in v;

/** MCUboot's modes as os_mgmt's bootloader-info "mode" query numbers them (Zephyr docs, SMP OS management group). */
const BOOTLOADER_MODES = ['single application', 'swap using scratch', 'overwrite only', 'swap without scratch', 'direct XIP without revert', 'direct XIP with revert', 'RAM loader'];
const bootloaderMode = (m: number) => BOOTLOADER_MODES[m] ?? (m < 0 ? 'mode unknown' : `mode ${m}`);

function slotLines(slots: SlotState[]): string[] {
  if (!slots.length) return ['No valid image on the device.'];
  return slots.map((s) => {
    const flags = (['active', 'confirmed', 'pending', 'permanent', 'bootable'] as const).filter((k) => s[k]);
    return `image ${s.image} slot ${s.slot}  ${formatVersion(s.version)}  ${s.hash}  ${flags.join(' ')}`;
  });
}

/**
 * A test or confirm's answer; `warning` when the device's own list does not show the asked state,
 * and then exit 1 (a check failed) unless the note is only that nothing needed doing.
 */
function stateResult(ctx: CommandContext, req: StateRequest, slots: SlotState[]) {
  const note = stateNote(slots, req);
  if (note) ctx.warn(`${note.applied ? 'note' : 'warning'}: ${note.text}`);
  const applied = note?.applied ?? true;
  return { data: { slots, applied, ...(note ? { warning: note.text } : {}) }, human: slotLines(slots), exitCode: applied ? 0 : 1 };
}

function progressPrinter(ctx: CommandContext): (p: Progress) => void {
  let lastTenth = -1;
  let lastDraw = 0;
  return (p) => {
    const frac = p.total ? p.done / p.total : 0;
    const rate = p.rate ? `${formatBytes(Math.round(p.rate))}/s` : '';
    const eta = p.eta !== undefined ? `ETA ${Math.ceil(p.eta)} s` : '';
    if (ctx.tty && !ctx.json) {
      const now = performance.now();
      if (now - lastDraw < 100 && p.done < p.total) return;
      lastDraw = now;
      const w = 30;
      const bar = '#'.repeat(Math.round(frac * w)).padEnd(w, '.');
      process.stderr.write(`\r[${bar}] ${(frac * 100).toFixed(0).padStart(3)}%  ${formatBytes(p.done)} / ${formatBytes(p.total)}  ${rate}  ${eta}   `);
      if (p.done >= p.total) process.stderr.write('\n');
      return;
    }
    const tenth = Math.floor(frac * 10);
    if (tenth !== lastTenth) {
      lastTenth = tenth;
      ctx.warn(`${p.phase}: ${(frac * 100).toFixed(0)}% (${p.done}/${p.total} bytes) ${rate} ${eta}`.trim());
    }
  };
}

const portCommand = (c: Omit<Command, 'options'> & { options?: Record<string, OptionSpec> }): Command => ({ ...c, options: { ...PORT_OPTIONS, ...c.options } });

function needYes(ctx: CommandContext, what: string): void {
  if (!ctx.values.yes) throw usageError('usage.confirm-required', `${what} cannot be undone. Add --yes to go ahead.`);
}

const commands: Command[] = [
  portCommand({
    name: 'info',
    summary: 'what the device is and offers: MCUmgr parameters, OS and bootloader info, slots',
    async run(ctx) {
      const data = await withClient(ctx, async (c) => {
        const p = await params(c);
        return {
          params: p ?? { unsupported: true as const },
          os: await optional(info(c, 'a')),
          bootloader: await optional(bootloaderInfo(c)),
          slotInfo: await optional(slotInfo(c)),
          images: await list(c),
          // Whether the firmware has the groups at all (a name it does not know still proves the group is there).
          settingsGroup: await settingsGroup.hasSettings(c, 'unbrick/probe'),
          fileGroup: await fsGroup.hasFileSystem(c, '/unbrick-probe'),
        };
      });
      return {
        data,
        human: [
          `MCUmgr params: ${unsupported(data.params) ? NOT_SUPPORTED : `buffer ${formatBytes(data.params.bufSize)} × ${data.params.bufCount}`}`,
          `OS: ${unsupported(data.os) ? NOT_SUPPORTED : formatOsInfo(data.os)}`,
          `Bootloader: ${unsupported(data.bootloader) ? NOT_SUPPORTED : `${data.bootloader.bootloader}${data.bootloader.mode !== undefined ? `, ${bootloaderMode(data.bootloader.mode)}` : ''}`}`,
          ...(unsupported(data.slotInfo)
            ? [`Slot info: ${NOT_SUPPORTED}`]
            : data.slotInfo.flatMap((i) => [
                `Image ${i.image}: ${i.slots.map((s) => `slot ${s.slot} ${formatBytes(s.size)}`).join(', ')}${i.maxImageSize !== undefined ? `; largest image ${formatBytes(i.maxImageSize)}` : ''}`,
              ])),
          `Settings group: ${data.settingsGroup ? 'offered' : 'not supported by this device'}; file group: ${data.fileGroup ? 'offered' : 'not supported by this device'}`,
          ...slotLines(data.images),
        ],
      };
    },
  }),
  portCommand({
    name: 'echo',
    summary: 'echo a text through the device (link check)',
    args: 'TEXT',
    async run(ctx) {
      const text = ctx.positionals.join(' ') || 'unbrick';
      const r = await withClient(ctx, (c) => echo(c, text));
      return { data: { echo: r }, human: [r] };
    },
  }),
  portCommand({
    name: 'params',
    summary: 'MCUmgr buffer size and count',
    async run(ctx) {
      const p = await withClient(ctx, (c) => params(c));
      if (!p) return { data: { supported: false }, human: ['This device does not support MCUmgr parameters (assume a 512-byte buffer).'] };
      return { data: { supported: true, bufSize: p.bufSize, bufCount: p.bufCount }, human: [`buffer ${p.bufSize} bytes x ${p.bufCount}`] };
    },
  }),
  portCommand({
    name: 'slots',
    summary: 'list images with slot, version, hash and flags',
    async run(ctx) {
      const slots = await withClient(ctx, (c) => list(c));
      return { data: { slots }, human: slotLines(slots) };
    },
  }),
  portCommand({
    name: 'upload',
    summary: 'upload an MCUboot image (resumes where the device allows), then check the device lists its hash',
    args: 'FILE',
    options: {
      image: { type: 'string', value: 'N', description: 'image number (multi-image or direct-upload slot id)' },
      'no-verify': { type: 'boolean', description: 'do not check the image list afterwards' },
    },
    async run(ctx) {
      const file = ctx.positionals[0];
      if (!file) throw usageError('usage.missing-argument', 'FILE (the signed image) is required.');
      const bytes = readUserFile(file, 'Image');
      const image = intOpt(ctx, 'image');
      const r = await uploadWithReconnect(ctx, bytes, { ...(image !== undefined ? { image } : {}), onProgress: progressPrinter(ctx), signal: ctx.signal, noVerify: !!ctx.values['no-verify'] });
      const rate = r.bytes / r.seconds;
      return {
        data: { bytesSent: r.bytesSent, bytes: r.bytes, seconds: Number(r.seconds.toFixed(3)), hash: r.reportedHash ?? null, imageHash: r.hash, restarts: r.restarts, ...(r.match !== undefined ? { match: r.match } : {}), chunk: r.plan, link: r.link },
        human: [
          `Uploaded ${formatBytes(r.bytes)} in ${r.seconds.toFixed(1)} s (${formatBytes(Math.round(rate))}/s).`,
          `Link: ${r.link.frameSize}-byte frames (${r.link.lines} lines), window ${r.link.window}, ${r.link.gridPaced ? `lines paced to the device's ${r.link.gridMs} ms read grid` : `${r.link.lineGapMs} ms between lines`}; ${r.link.framesLost} frames lost.`, r.reportedHash ? `The device lists the image: hash ${r.reportedHash}.` : `Image hash ${r.hash} (not checked).`],
      };
    },
  }),
  portCommand({
    name: 'test',
    summary: 'mark an image for one test boot (reverted at the next reset unless confirmed)',
    args: 'HASH',
    async run(ctx) {
      const hash = ctx.positionals[0];
      if (!hash) throw usageError('usage.missing-argument', 'HASH (from `unbrick smp slots`) is required.');
      return stateResult(ctx, { hash, confirm: false }, await withClient(ctx, (c) => setState(c, { hash, confirm: false })));
    },
  }),
  portCommand({
    name: 'confirm',
    summary: 'make an image permanent (no HASH: the running image)',
    args: '[HASH]',
    async run(ctx) {
      const hash = ctx.positionals[0];
      const req = { ...(hash ? { hash } : {}), confirm: true };
      return stateResult(ctx, req, await withClient(ctx, (c) => setState(c, req)));
    },
  }),
  portCommand({
    name: 'erase',
    summary: 'erase an image slot (default the secondary) or, with --storage, the storage partition',
    options: {
      slot: { type: 'string', value: 'N', description: 'slot to erase' },
      storage: { type: 'boolean', description: 'erase the storage partition instead (settings, logs)' },
      yes: { type: 'boolean', description: 'confirm the erase' },
    },
    async run(ctx) {
      const storage = !!ctx.values.storage;
      const slot = intOpt(ctx, 'slot');
      needYes(ctx, storage ? 'Erasing the storage partition' : `Erasing slot ${slot ?? 1}`);
      await withClient(ctx, (c) => (storage ? eraseStorage(c) : erase(c, slot)));
      return { data: { erased: storage ? 'storage' : `slot ${slot ?? 1}` }, human: [storage ? 'Storage partition erased.' : `Slot ${slot ?? 1} erased.`] };
    },
  }),
  portCommand({
    name: 'reset',
    summary: 'reset the device (MCUboot swaps or reverts images at boot)',
    options: { force: { type: 'boolean', description: 'ask the app to reset even if it would refuse' } },
    async run(ctx) {
      await withClient(ctx, (c) => reset(c, !!ctx.values.force));
      return { data: { reset: true }, human: ['The device is resetting.'] };
    },
  }),
];

/** A value as text when it is printable UTF-8, always as hex. */
function showValue(b: Uint8Array): { hex: string; text?: string } {
  const text = Buffer.from(b).toString('utf8');
  const printable = [...text].every((ch) => ch !== '\ufffd' && (ch >= ' ' || ch === '\t' || ch === '\n' || ch === '\r'));
  return { hex: Buffer.from(b).toString('hex'), ...(printable ? { text } : {}) };
}

function valueArg(ctx: CommandContext, v: string | undefined): Uint8Array {
  if (v === undefined) throw usageError('usage.missing-argument', 'VALUE is required (text, or hex with --hex).');
  if (!ctx.values.hex) return new TextEncoder().encode(v);
  if (!/^([0-9a-fA-F]{2})*$/.test(v)) throw usageError('usage.bad-hex', `"${v}" is not hex bytes.`);
  return new Uint8Array(Buffer.from(v, 'hex'));
}

commands.push(
  portCommand({
    name: 'stats',
    summary: 'statistics group: list the groups, or show one group\'s counters (battery, restarts, ...)',
    args: '[GROUP]',
    async run(ctx) {
      const [group] = ctx.positionals;
      if (!group) {
        const groups = await withClient(ctx, (c) => statsGroup.listGroups(c));
        return { data: { groups }, human: groups.length ? groups : ['The device registers no statistics groups.'] };
      }
      const fields = await withClient(ctx, (c) => statsGroup.readGroup(c, group));
      return { data: { group, fields }, human: Object.entries(fields).map(([k, v]) => `${group}/${k} = ${v}`) };
    },
  }),
  portCommand({
    name: 'settings',
    summary: 'settings group: read NAME | write NAME VALUE [--save] | delete NAME | save | load | commit',
    args: 'ACTION [NAME] [VALUE]',
    options: {
      hex: { type: 'boolean', description: 'VALUE is hex bytes' },
      save: { type: 'boolean', description: 'after write: save, so the value survives a reset' },
      max: { type: 'string', value: 'N', description: 'read: at most N bytes' },
    },
    async run(ctx) {
      const [action, name, value] = ctx.positionals;
      const need = () => {
        if (!name) throw usageError('usage.missing-argument', `settings ${action} needs NAME.`);
        return name;
      };
      switch (action) {
        case 'read': {
          const max = intOpt(ctx, 'max');
          const v = await withClient(ctx, (c) => settingsGroup.readSetting(c, need(), max));
          const shown = showValue(v.value);
          const clamp = v.deviceMaxSize !== undefined ? ` (the device returns at most ${v.deviceMaxSize} bytes)` : '';
          return { data: { name, ...shown, ...(v.deviceMaxSize !== undefined ? { deviceMaxSize: v.deviceMaxSize } : {}) }, human: [`${name} = ${shown.text !== undefined ? JSON.stringify(shown.text) : shown.hex}${clamp}`] };
        }
        case 'write': {
          const bytes = valueArg(ctx, value);
          await withClient(ctx, async (c) => {
            await settingsGroup.writeSetting(c, need(), bytes);
            if (ctx.values.save) await settingsGroup.saveSettings(c);
          });
          return { data: { name, written: bytes.length, saved: !!ctx.values.save }, human: [`${name} set (${bytes.length} bytes)${ctx.values.save ? ' and saved' : '; not saved yet: run `settings save` to keep it across a reset'}.`] };
        }
        case 'delete':
          await withClient(ctx, (c) => settingsGroup.deleteSetting(c, need()));
          return { data: { name, deleted: true }, human: [`${name} deleted from storage.`] };
        case 'save':
        case 'load':
        case 'commit': {
          const fn = { save: settingsGroup.saveSettings, load: settingsGroup.loadSettings, commit: settingsGroup.commitSettings }[action];
          await withClient(ctx, (c) => fn(c));
          return { data: { [action]: true }, human: [`Settings ${action === 'save' ? 'saved' : action === 'load' ? 'loaded from storage' : 'committed'}.`] };
        }
        default:
          throw usageError('usage.bad-action', 'ACTION must be read, write, delete, save, load or commit.');
      }
    },
  }),
  portCommand({
    name: 'file',
    summary: 'file group: put LOCAL REMOTE | get REMOTE [--out FILE] | stat REMOTE | hash REMOTE [--type sha256] | close',
    args: 'ACTION [PATH...]',
    options: {
      out: { type: 'string', value: 'FILE', description: 'get: write the file here (default: print it)' },
      type: { type: 'string', value: 'NAME', description: 'hash: crc32 or sha256 (default: the device\'s)' },
    },
    async run(ctx) {
      const [action, a, b] = ctx.positionals;
      const remote = (p: string | undefined) => {
        if (!p) throw usageError('usage.missing-argument', `file ${action} needs the device path (e.g. /lfs1/unit.json).`);
        return p;
      };
      switch (action) {
        case 'put': {
          if (!a) throw usageError('usage.missing-argument', 'file put needs LOCAL and REMOTE.');
          const bytes = readUserFile(a, 'File');
          const r = await withClient(ctx, (c) => fsGroup.uploadFile(c, remote(b), bytes, { signal: ctx.signal, onProgress: progressPrinter(ctx) }));
          return { data: { path: b, bytes: r.bytes, chunks: r.chunks }, human: [`Wrote ${formatBytes(r.bytes)} to ${b} in ${r.chunks} chunks.`] };
        }
        case 'get': {
          const bytes = await withClient(ctx, (c) => fsGroup.downloadFile(c, remote(a), { signal: ctx.signal }));
          const out = typeof ctx.values.out === 'string' ? ctx.values.out : undefined;
          if (out) writeFileSync(out, bytes);
          return { data: { path: a, bytes: bytes.length, ...(out ? { out } : showValue(bytes)) }, human: out ? [`Saved ${formatBytes(bytes.length)} to ${out}.`] : [Buffer.from(bytes).toString('utf8')] };
        }
        case 'stat': {
          const st = await withClient(ctx, (c) => fsGroup.fileStatus(c, remote(a)));
          return { data: { path: a, len: st.len }, human: [`${a}: ${st.len} bytes`] };
        }
        case 'hash': {
          const type = typeof ctx.values.type === 'string' ? ctx.values.type : undefined;
          const h = await withClient(ctx, (c) => fsGroup.fileHash(c, remote(a), type ? { type } : {}));
          const out = typeof h.output === 'number' ? h.output.toString(16).padStart(8, '0') : h.output;
          return { data: { path: a, ...h, output: out }, human: [`${a}: ${h.type} ${out} over ${h.len} bytes`] };
        }
        case 'close':
          await withClient(ctx, (c) => fsGroup.closeFile(c));
          return { data: { closed: true }, human: ['The device closed its open file.'] };
        default:
          throw usageError('usage.bad-action', 'ACTION must be put, get, stat, hash or close.');
      }
    },
  }),
);

export const smpGroup: CommandGroup = {
  name: 'smp',
  summary: 'SMP (mcumgr) over serial: MCUboot serial recovery and Zephyr apps: info, echo, params, slots, upload, test, confirm, erase, reset, settings, file',
  commands,
};
