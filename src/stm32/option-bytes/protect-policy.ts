/**
 * The protection policy of `unbrick stm32 protect --policy`: which pages to
 * write-protect and whether to turn on readout protection (level 1 at most:
 * level 2 is permanent and only reachable through `ob set` with its own
 * confirmation).
 */
import { anyOf, arr, num, obj, opt, refine, str } from '../../core/schema.ts';

export const ProtectPolicySchema = obj({
  /** "0-3,8" or a list of page numbers; "none" clears write protection. */
  wrpPages: opt(anyOf(str({ max: 1000 }), arr(num({ int: true, min: 0, max: 0xffff }), { max: 4096 }))),
  rdp: opt(refine(num({ int: true }), (n) => (n === 0 || n === 1 ? undefined : '0 or 1 (level 2 is only reachable through "ob set" with its own confirmation)'))),
});
