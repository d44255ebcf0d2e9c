/** What a simulated management group decides; the device turns it into a v1 or v2 answer. */
import type { CborValue } from '../../smp/cbor.ts';

export type GroupAnswer =
  /** Success (or a body the handler built itself). */
  | { body: CborValue; delayMs?: number }
  /** A group error (smp_add_cmd_err): `{err: {group, rc}}` for v2, translated `rc` for v1. */
  | { err: number; delayMs?: number; /** v2 only: fields after the `err` map. */ extra?: Array<[string, CborValue]> }
  /** A plain MGMT_ERR (returned from the handler): `{rc}` in v1 and v2 alike. */
  | { rc: number };

/** MGMT_ERR codes the groups return directly. */
export const MGMT = { EUNKNOWN: 1, ENOMEM: 2, EINVAL: 3, ENOENT: 5, EBUSY: 10 } as const;
