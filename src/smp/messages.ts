/**
 * The SMP commands this project speaks, declared once: group, command id, op,
 * what they are in words, and their request and response bodies as schemas
 * (src/core/schema.ts). The client (smp/groups/*, smp/upload.ts, the probes)
 * builds its requests from this table and reads answers through it; both
 * simulators (sim/zephyr, sim/mcuboot-serial) route the requests they receive
 * through it, so the two sides cannot disagree on an id.
 *
 * A pure codec module: no client, no transport (simulators may import it).
 * Sources: Zephyr's MCUmgr docs (smp_group_0, _1, _2, _3, _8, _63) and
 * MCUboot's boot_serial.c for the commands serial recovery answers.
 */
import { deviceError } from '../core/errors.ts';
import { bool, num, opt, SchemaError, str, type Infer, type ObjectOf, type Schema } from '../core/schema.ts';
import type { CborValue } from './cbor.ts';
import { OP } from './header.ts';

export const GROUP = { os: 0, image: 1, stat: 2, settings: 3, fs: 8, zephyrBasic: 63 } as const;

/** A field's CBOR type as firmware checks it (zcbor_map_decode_bulk): what a simulator decodes. */
export type CborType = 'uint' | 'int' | 'tstr' | 'bstr' | 'bool';
/** A body field: its schema, and its CBOR type on the wire. */
export type Field<T, C extends CborType = CborType> = Schema<T> & { readonly cbor: C };

const field = <T, C extends CborType>(schema: Schema<T>, cbor: C): Field<T, C> => Object.assign(schema, { cbor });
const bytes = (): Schema<Uint8Array> => ({
  describe: 'byte string',
  parse(v, path = '') {
    if (!(v instanceof Uint8Array)) throw new SchemaError(`${path || 'value'} must be a byte string.`, { path: path || '$' });
    return v;
  },
});
const uint = () => field(num({ int: true, min: 0, max: 0xffffffff }), 'uint');
const int = () => field(num({ int: true }), 'int');
const tstr = () => field(str(), 'tstr');
const bstr = () => field(bytes(), 'bstr');
const flag = () => field(bool(), 'bool');
/** An optional field that keeps its CBOR type. */
const maybe = <T, C extends CborType>(f: Field<T, C>): Field<T | undefined, C> => field(opt(f), f.cbor);

type Fields = Record<string, Field<unknown>>;
/**
 * A body: a CBOR map whose declared keys must have their types. Undeclared keys
 * are kept, not refused (unlike `obj`): devices skip keys they do not know
 * (zcbor_map_decode_bulk), and answers carry `rc`/`err` and vendor extras.
 */
export type Body<S extends Fields> = Schema<ObjectOf<S> & Record<string, unknown>> & { readonly shape: S };
function body<S extends Fields>(shape: S): Body<S> {
  return {
    shape,
    describe: 'CBOR map',
    parse(v, path = '') {
      if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) throw new SchemaError(`${path || 'body'} must be a map.`, { path: path || '$' });
      const out: Record<string, unknown> = { ...(v as Record<string, unknown>) };
      for (const [k, s] of Object.entries(shape)) {
        const parsed = s.parse(out[k], path ? `${path}.${k}` : k);
        if (parsed === undefined) delete out[k];
        else out[k] = parsed;
      }
      return out as ObjectOf<S> & Record<string, unknown>;
    },
  };
}

export interface SmpCommand<Req extends Fields = Fields, Rsp extends Fields = Fields> {
  group: number;
  id: number;
  op: 'read' | 'write';
  /** What it is, in words, for error messages. */
  what: string;
  request: Body<Req>;
  response: Body<Rsp>;
}

const cmd = <Req extends Fields, Rsp extends Fields>(group: number, id: number, op: 'read' | 'write', what: string, request: Req, response: Rsp): SmpCommand<Req, Rsp> => ({
  group,
  id,
  op,
  what,
  request: body(request),
  response: body(response),
});

const { os, image, stat, settings, fs, zephyrBasic } = GROUP;

/** Every command, by name. Lists (images, slots, tasks, hash types) are read by their group module. */
export const SMP_COMMANDS = {
  echo: cmd(os, 0, 'write', 'echo', { d: tstr() }, { r: maybe(tstr()) }),
  consoleEcho: cmd(os, 1, 'write', 'console echo control', { echo: maybe(uint()) }, {}),
  taskStats: cmd(os, 2, 'read', 'task statistics', {}, {}),
  reset: cmd(os, 5, 'write', 'reset', { force: maybe(uint()) }, {}),
  params: cmd(os, 6, 'read', 'MCUmgr parameters', {}, { buf_size: maybe(uint()), buf_count: maybe(uint()) }),
  info: cmd(os, 7, 'read', 'OS information', { format: maybe(tstr()) }, { output: maybe(tstr()) }),
  bootloaderInfo: cmd(os, 8, 'read', 'bootloader information', { query: maybe(tstr()) }, { bootloader: maybe(tstr()), mode: maybe(int()) }),
  imageList: cmd(image, 0, 'read', 'image list', {}, {}),
  imageState: cmd(image, 0, 'write', 'image state', { hash: maybe(bstr()), confirm: maybe(flag()) }, {}),
  imageUpload: cmd(image, 1, 'write', 'image upload', { image: maybe(uint()), data: bstr(), len: maybe(uint()), off: uint(), sha: maybe(bstr()), upgrade: maybe(flag()) }, { off: maybe(uint()), match: maybe(flag()) }),
  imageErase: cmd(image, 5, 'write', 'image erase', { slot: maybe(uint()) }, {}),
  slotInfo: cmd(image, 6, 'read', 'slot info', {}, {}),
  statShow: cmd(stat, 0, 'read', 'statistics', { name: tstr() }, {}),
  statList: cmd(stat, 1, 'read', 'statistics list', {}, {}),
  settingRead: cmd(settings, 0, 'read', 'setting read', { name: tstr(), max_size: maybe(uint()) }, { val: maybe(bstr()), max_size: maybe(uint()) }),
  settingWrite: cmd(settings, 0, 'write', 'setting write', { name: tstr(), val: bstr() }, {}),
  settingDelete: cmd(settings, 1, 'write', 'setting delete', { name: tstr() }, {}),
  settingsCommit: cmd(settings, 2, 'write', 'settings commit', {}, {}),
  settingsLoad: cmd(settings, 3, 'read', 'settings load', {}, {}),
  settingsSave: cmd(settings, 3, 'write', 'settings save', {}, {}),
  fileDownload: cmd(fs, 0, 'read', 'file download', { off: uint(), name: tstr() }, { off: maybe(uint()), data: maybe(bstr()), len: maybe(uint()) }),
  fileUpload: cmd(fs, 0, 'write', 'file upload', { off: uint(), name: tstr(), data: bstr(), len: maybe(uint()) }, { off: maybe(uint()) }),
  fileStatus: cmd(fs, 1, 'read', 'file status', { name: tstr() }, { len: maybe(uint()) }),
  fileHash: cmd(fs, 2, 'read', 'file hash', { type: maybe(tstr()), name: tstr(), off: maybe(uint()), len: maybe(uint()) }, {}),
  fileHashTypes: cmd(fs, 3, 'read', 'file hash types', {}, {}),
  fileClose: cmd(fs, 4, 'write', 'file close', {}, {}),
  storageErase: cmd(zephyrBasic, 0, 'write', 'storage erase', {}, {}),
} as const;

export type SmpCommandName = keyof typeof SMP_COMMANDS;
type Of<N extends SmpCommandName> = (typeof SMP_COMMANDS)[N];
export type RequestOf<N extends SmpCommandName> = Infer<Of<N>['request']>;
export type ResponseOf<N extends SmpCommandName> = Infer<Of<N>['response']>;

/** The client side: a request of a declared command (op, group, id, words, body), ready for `SmpClient.call`. */
export function smpRequest<N extends SmpCommandName>(name: N, reqBody?: RequestOf<N>): { op: 'read' | 'write'; group: number; id: number; what: string; body?: CborValue } {
  const c = SMP_COMMANDS[name];
  return { op: c.op, group: c.group, id: c.id, what: c.what, ...(reqBody === undefined ? {} : { body: reqBody as CborValue }) };
}

/** The client side: an answer read with the command's response schema; a wrongly typed field is `smp.bad-answer`. */
export function smpAnswer<N extends SmpCommandName>(name: N, answer: Record<string, unknown>, what: string = SMP_COMMANDS[name].what): ResponseOf<N> {
  try {
    return SMP_COMMANDS[name].response.parse(answer) as ResponseOf<N>;
  } catch (e) {
    if (!(e instanceof SchemaError)) throw e;
    throw deviceError('smp.bad-answer', `The device's answer to ${what} is malformed: ${e.reason}`);
  }
}

/** The device side: the CBOR types of a command's request fields, as firmware decodes them. */
export function requestFields<N extends SmpCommandName>(name: N): { [K in keyof Of<N>['request']['shape']]: Of<N>['request']['shape'][K] extends { cbor: infer C } ? C : never } {
  return Object.fromEntries(Object.entries(SMP_COMMANDS[name].request.shape).map(([k, f]) => [k, (f as Field<unknown>).cbor])) as never;
}

const keyOf = (group: number, id: number, op: number) => `${group}/${id}/${op}`;
const BY_KEY = new Map<string, SmpCommandName>(
  Object.entries(SMP_COMMANDS).map(([name, c]) => [keyOf(c.group, c.id, c.op === 'read' ? OP.read : OP.write), name as SmpCommandName]),
);

/**
 * The device side: the declared command a request header asks for, or
 * undefined (the device answers "not supported"). `anyOp` names the commands
 * a device runs whatever the op (MCUboot's boot_serial ignores it for most of
 * them; Zephyr registers echo for read and write).
 */
export function commandOf(h: { group: number; id: number; op: number }, anyOp: ReadonlySet<SmpCommandName> = new Set()): SmpCommandName | undefined {
  if (h.op !== OP.read && h.op !== OP.write) return undefined;
  const exact = BY_KEY.get(keyOf(h.group, h.id, h.op));
  if (exact) return exact;
  const other = BY_KEY.get(keyOf(h.group, h.id, h.op === OP.read ? OP.write : OP.read));
  return other && anyOp.has(other) ? other : undefined;
}
