/**
 * A device in MCUboot serial recovery, modelled on boot/boot_serial/src/
 * boot_serial.c at the commit the shared transcripts were recorded from
 * (../shared/vectors/smp-mcuboot-serial/README.md is the spec; every rule
 * below is a recorded behaviour). Variants: 1 or 2 images, direct image
 * upload, ZCBOR_CANONICAL, receive size.
 */
import { NorFlash, sectorsFromRuns } from '../flash.ts';
import type { FlashTiming } from '../flash.ts';
import { SmpDevice, type Reply } from '../smp/device.ts';
import { mcubootFrame } from '../smp/console.ts';
import { bulk, parseRequest, responsePacket, zcbor, zmap } from '../smp/request.ts';
import { bootGo, eraseRange, setPending, swapType, PowerLoss, type ImageSlots, type SlotArea, type SwapType } from '../smp/boot.ts';
import { versionText, type ImageChecker } from '../smp/image-check.ts';
import type { CborItem, CborValue } from '../../smp/cbor.ts';
import { OP, type SmpHeader } from '../../smp/header.ts';
import { commandOf, requestFields, type SmpCommandName } from '../../smp/messages.ts';

export interface McubootOptions {
  /** MCUBOOT_IMAGE_NUMBER (1 or 2). */
  images?: number;
  slotSize?: number;
  sectorSize?: number;
  /** Flash write alignment. */
  writeAlign?: number;
  /** MCUBOOT_SERIAL_MAX_RECEIVE_SIZE (1024 Zephyr default, 512 built-in default). */
  maxReceive?: number;
  /**
   * Line buffers of boot_serial's serial adapter (8 in MCUboot's Zephyr port): lines received while a
   * request's flash work runs wait in them, and more are dropped. The shared MCUboot peer answers
   * back-to-back frames without this limit; a frame waits for the answer before the next, so
   * stop-and-wait uploads see no difference.
   */
  lineBuffers?: number;
  directUpload?: boolean;
  /** ZCBOR_CANONICAL: definite-length responses (slot info then fails with rc 2). */
  canonical?: boolean;
  checker: ImageChecker;
  timing?: FlashTiming;
  /** After a reset: 'always' re-enters recovery (button held); 'no-valid-app' boots a valid app (and goes quiet). */
  recovery?: 'always' | 'no-valid-app';
  /** Extra boot time after the 250 ms reset sleep. */
  bootMs?: number;
  /** Fault injection: stop a swap at boot after this many sectors, once. */
  powerLossAfterSectors?: number;
  /** Fault injection: reset the device once an upload has reached this offset. */
  resetAtUploadOffset?: number;
}

const RC = { OK: 0, EUNKNOWN: 1, ENOMEM: 2, EINVAL: 3, ENOENT: 5, ENOTSUP: 8 } as const;
/** boot_serial_input switches on group and id only, except for image state and slot info (and the storage erase, write only). */
const MCUBOOT_ANY_OP: ReadonlySet<SmpCommandName> = new Set(['echo', 'consoleEcho', 'reset', 'params', 'imageUpload', 'slotInfo']);
const STORAGE_SIZE = 0x8000;
/** Output buffer: 212 bytes of CBOR per image in the recorded build (A07: 206-char echo fits, 207 does not). */
const OBUF_PER_IMAGE = 212;

export class McubootDevice extends SmpDevice {
  readonly flash: NorFlash;
  readonly slots: ImageSlots[];
  readonly storage: SlotArea;
  readonly opts: Required<Omit<McubootOptions, 'timing' | 'powerLossAfterSectors' | 'resetAtUploadOffset'>> & Pick<McubootOptions, 'powerLossAfterSectors' | 'resetAtUploadOffset'>;
  /** 'recovery' answers SMP; 'app' means MCUboot booted the application and left. */
  state: 'recovery' | 'app' = 'recovery';
  lastBoot?: { swapped: SwapType; bootable: boolean; reason?: string };
  private upload: { area?: SlotArea; size: number; off: number; notErased: number } = { size: 0, off: 0, notErased: 0 };

  constructor(options: McubootOptions) {
    const maxReceive = options.maxReceive ?? 1024;
    super({ lineMax: 128, lineBufs: options.lineBuffers ?? 8, mode: 'inline', packetBufs: 1, uartBaud: 115200, maxDecoded: maxReceive + 1, style: 'mcuboot' });
    this.opts = {
      images: options.images ?? 1,
      slotSize: options.slotSize ?? 0x70000,
      sectorSize: options.sectorSize ?? 4096,
      writeAlign: options.writeAlign ?? 4,
      maxReceive,
      lineBuffers: options.lineBuffers ?? 8,
      directUpload: options.directUpload ?? false,
      canonical: options.canonical ?? false,
      checker: options.checker,
      recovery: options.recovery ?? 'always',
      bootMs: options.bootMs ?? 0,
      powerLossAfterSectors: options.powerLossAfterSectors,
      resetAtUploadOffset: options.resetAtUploadOffset,
    };
    const { slotSize, sectorSize, images } = this.opts;
    const total = slotSize * 2 * images + STORAGE_SIZE;
    this.flash = new NorFlash(sectorsFromRuns([[total / sectorSize, sectorSize]]), 0xff, options.timing);
    this.slots = Array.from({ length: images }, (_, i) => ({
      primary: { offset: slotSize * 2 * i, size: slotSize },
      secondary: { offset: slotSize * (2 * i + 1), size: slotSize },
    }));
    this.storage = { offset: slotSize * 2 * images, size: STORAGE_SIZE };
  }

  /** Largest image that can still be swapped (swap-move keeps two sectors). */
  get maxImageSize(): number {
    return this.opts.slotSize - 2 * this.opts.sectorSize;
  }

  /** Places an image in a slot, as a factory programmer would. */
  program(image: number, slot: 0 | 1, bytes: Uint8Array): void {
    const area = slot === 0 ? this.slots[image]!.primary : this.slots[image]!.secondary;
    eraseRange(this.flash, area.offset, area.size);
    this.flash.program(area.offset, bytes);
  }

  protected boot(): number {
    this.upload = { size: 0, off: 0, notErased: 0 };
    if (this.opts.recovery === 'always') {
      this.state = 'recovery';
      return 0;
    }
    let ms = 0;
    let bootable = true;
    for (const s of this.slots) {
      try {
        const out = bootGo(this.flash, s, this.opts.checker, { powerLossAfter: this.opts.powerLossAfterSectors });
        ms += out.ms;
        bootable &&= out.bootable;
        this.lastBoot = out;
      } catch (e) {
        if (!(e instanceof PowerLoss)) throw e;
        // Power came back: the next boot resumes the swap. Fault fires once.
        this.opts.powerLossAfterSectors = undefined;
        this.lastBoot = { swapped: 'none', bootable: false, reason: 'power lost during swap' };
        return ms + e.ms + this.boot();
      }
    }
    this.state = bootable ? 'app' : 'recovery';
    return ms;
  }

  private out(h: SmpHeader, body: CborValue, delayMs = 0, after?: () => void): Reply {
    const cbor = zcbor(body, this.opts.canonical);
    return { wire: mcubootFrame(responsePacket(h, cbor)), delayMs, ...(after ? { after } : {}) };
  }

  private rc(h: SmpHeader, rc: number, delayMs = 0): Reply {
    return this.out(h, zmap([['rc', rc]], this.opts.canonical), delayMs);
  }

  protected handle(packet: Uint8Array): Reply {
    if (this.state !== 'recovery') return {};
    const req = parseRequest(packet);
    if (!req) return {};
    const h = req.header;
    // boot_serial_input: only read/write requests, and a header length not shorter than the CBOR.
    if ((h.op !== OP.read && h.op !== OP.write) || h.len < req.cbor.length) return {};
    switch (commandOf(h, MCUBOOT_ANY_OP)) {
      case 'imageList':
        return this.list(h);
      case 'imageState':
        return this.setState(h, req.body);
      case 'imageUpload':
        return this.doUpload(h, req.body);
      case 'slotInfo':
        return h.op === OP.read ? this.slotInfo(h) : this.slotInfoAsWrite(h);
      case 'echo':
        return this.echo(h, req.body);
      case 'consoleEcho':
        return this.rc(h, RC.OK);
      case 'reset':
        return this.out(h, zmap([['rc', 0]], this.opts.canonical), 0, () => this.reset(250 + this.opts.bootMs));
      case 'params':
        return this.out(h, zmap([['buf_size', this.opts.maxReceive], ['buf_count', 1]], this.opts.canonical));
      case 'storageErase': {
        // Zephyr per-user extension (CONFIG_BOOT_MGMT_CUSTOM_STORAGE_ERASE), write only.
        const ms = eraseRange(this.flash, this.storage.offset, this.storage.size);
        return this.rc(h, RC.OK, ms);
      }
      default:
        return this.rc(h, RC.ENOTSUP);
    }
  }

  private echo(h: SmpHeader, body: CborItem | undefined): Reply {
    const f = bulk(body, requestFields('echo'));
    if (!f || f.d === undefined) return this.rc(h, RC.EINVAL);
    const cbor = zcbor(zmap([['r', f.d]], this.opts.canonical), this.opts.canonical);
    if (cbor.length > OBUF_PER_IMAGE * this.opts.images) return this.rc(h, RC.ENOMEM);
    return { wire: mcubootFrame(responsePacket(h, cbor)) };
  }

  private slotInfo(h: SmpHeader): Reply {
    // C01: the canonical encoder runs out of zcbor states on this nested answer;
    // the error answer is then sent twice (bs_slot_info outputs again after bs_rc_rsp).
    if (this.opts.canonical) {
      const rc = zcbor(zmap([['rc', RC.ENOMEM]], true), true);
      return { wire: Buffer.concat([mcubootFrame(responsePacket(h, rc)), this.secondOutput(h, rc)]) };
    }
    return this.out(h, this.slotInfoBody());
  }

  private slotInfoBody(): CborValue {
    const images = this.slots.map((_, i) =>
      zmap([
        ['image', i],
        [
          'slots',
          [0, 1].map((slot) =>
            zmap([
              ['slot', slot],
              ['size', this.opts.slotSize],
              ...(this.opts.directUpload ? [['upload_image_id', i * 2 + slot + 1] as [string, CborValue]] : slot === 1 ? [['upload_image_id', i] as [string, CborValue]] : []),
            ]),
          ),
        ],
        ['max_image_size', this.maxImageSize],
      ]),
    );
    return zmap([['images', images]]);
  }

  /**
   * bs_slot_info answers rc 8 to a write but then carries on: it encodes the
   * slot info after the rc map in the same buffer and sends a second frame
   * whose op was incremented and group byte-swapped twice over (A12 "slot info as WRITE").
   */
  private slotInfoAsWrite(h: SmpHeader): Reply {
    const first = this.rc(h, RC.ENOTSUP);
    if (this.opts.canonical) return first;
    const cbor = Buffer.concat([zcbor(zmap([['rc', RC.ENOTSUP]])), zcbor(this.slotInfoBody())]);
    return { wire: Buffer.concat([first.wire!, this.secondOutput(h, cbor)]) };
  }

  /** A second boot_serial_output for one request: the header was already turned into a response once. */
  private secondOutput(h: SmpHeader, cbor: Uint8Array): Uint8Array {
    return mcubootFrame(responsePacket(h, cbor, { op: h.op + 2, group: ((h.group & 0xff) << 8) | (h.group >> 8) }));
  }

  /** Valid images per slot, with the flags bs_list reports. */
  private entries(): Array<{ image: number; slot: number; hash: Uint8Array; entry: CborValue }> {
    const out: Array<{ image: number; slot: number; hash: Uint8Array; entry: CborValue }> = [];
    this.slots.forEach((s, image) => {
      const type = swapType(this.flash, s);
      [s.primary, s.secondary].forEach((area, slot) => {
        const img = this.opts.checker.check(this.flash.read(area.offset, area.size));
        if (!img.valid || !img.hash) return;
        const primary = slot === 0;
        const flags = {
          confirmed: (primary && type !== 'revert') || (!primary && type === 'revert'),
          // Unverified for 'revert': the recordings never reached it; the running image is the primary one.
          active: primary && (type === 'none' || type === 'revert'),
          pending: !primary && (type === 'test' || type === 'perm'),
          permanent: !primary && type === 'perm',
        };
        const e: Array<[string, CborValue]> = [];
        if (this.opts.images > 1) e.push(['image', image]);
        if (!(img.flags & 0x10)) e.push(['bootable', true]);
        for (const k of ['confirmed', 'active', 'pending', 'permanent'] as const) if (flags[k]) e.push([k, true]);
        e.push(['slot', slot], ['hash', img.hash], ['version', versionText(img.version)]);
        out.push({ image, slot, hash: img.hash, entry: zmap(e, this.opts.canonical) });
      });
    });
    return out;
  }

  private list(h: SmpHeader): Reply {
    return this.out(h, zmap([['images', this.entries().map((e) => e.entry)]], this.opts.canonical));
  }

  private setState(h: SmpHeader, body: CborItem | undefined): Reply {
    const f = bulk(body, requestFields('imageState'));
    if (!f) return this.rc(h, RC.EINVAL);
    const hash = f.hash ?? new Uint8Array(0);
    if ((hash.length !== 32 && hash.length !== 0) || (hash.length === 0 && this.opts.images > 1)) return this.rc(h, RC.EINVAL);
    let image = 0;
    if (hash.length) {
      const hit = this.entries().find((e) => Buffer.compare(Buffer.from(e.hash), Buffer.from(hash)) === 0);
      if (!hit) return this.rc(h, RC.ENOENT);
      image = hit.image;
    }
    // The recorded build marks the secondary slot's trailer of that image (boot_set_pending_multi).
    const r = setPending(this.flash, this.slots[image]!, !!f.confirm);
    if (!r.ok) return this.rc(h, RC.EUNKNOWN, r.ms);
    const list = this.list(h);
    return { ...list, delayMs: r.ms };
  }

  private doUpload(h: SmpHeader, body: CborItem | undefined): Reply {
    const f = bulk(body, requestFields('imageUpload'));
    if (!f || f.off === undefined || f.data === undefined) return this.rc(h, RC.EINVAL);
    let ms = 0;
    if (f.off === 0) {
      if (f.len === undefined) return this.rc(h, RC.EINVAL);
      const area = this.uploadArea(f.image ?? 0);
      if (!area || f.len > area.size) return this.rc(h, RC.EINVAL);
      this.upload = { area, size: f.len, off: 0, notErased: area.offset };
    }
    const cur = this.upload;
    if (f.off !== cur.off || !cur.area) return this.out(h, zmap([['rc', 0], ['off', cur.off]], this.opts.canonical));
    let data = f.data;
    if (cur.off + data.length > cur.size) return this.rc(h, RC.EINVAL);
    const align = this.opts.writeAlign;
    const last = cur.off + data.length >= cur.size;
    if (!last) data = data.subarray(0, data.length - (data.length % align));
    else if (data.length % align) {
      const padded = new Uint8Array(data.length + align - (data.length % align)).fill(0xff);
      padded.set(data);
      data = padded;
    }
    if (data.length) {
      const start = cur.area.offset + cur.off;
      // MCUBOOT_ERASE_PROGRESSIVELY: erase the sectors this write reaches, once.
      const end = start + data.length;
      if (end > cur.notErased) {
        const from = cur.notErased;
        const lastSec = this.flash.sectors[this.flash.sectorAt(end - 1)]!;
        ms += eraseRange(this.flash, from, lastSec.offset + lastSec.size - from);
        cur.notErased = lastSec.offset + lastSec.size;
      }
      ms += this.flash.program(start, data);
      cur.off = Math.min(cur.off + data.length, cur.size);
    }
    if (cur.off === cur.size) {
      // Make sure the trailer sector holds no stale state from an earlier image.
      const trailer = this.flash.sectors[this.flash.sectorAt(cur.area.offset + cur.area.size - 1)]!;
      if (cur.notErased <= trailer.offset) ms += eraseRange(this.flash, trailer.offset, trailer.size);
    }
    const reply = this.out(h, zmap([['rc', 0], ['off', cur.off]], this.opts.canonical), ms);
    const at = this.opts.resetAtUploadOffset;
    if (at !== undefined && cur.off >= at) {
      this.opts.resetAtUploadOffset = undefined;
      return { delayMs: ms, after: () => this.reset(this.opts.bootMs) };
    }
    return reply;
  }

  private uploadArea(image: number): SlotArea | undefined {
    if (!this.opts.directUpload) return this.slots[image]?.primary;
    // Direct upload: 0 and 1 = image 0 primary, then image * 2 + slot + 1.
    const n = Math.max(image, 1) - 1;
    const s = this.slots[n >> 1];
    return s ? (n & 1 ? s.secondary : s.primary) : undefined;
  }
}
