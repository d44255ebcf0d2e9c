/**
 * The device side of SMP over a console UART, shared by the simulators:
 * line buffers, per-line base64 decoding, frame reassembly with the device's
 * size limit, and the two ways devices write frames back.
 *
 * Receive rules (shared READMEs "Framing, client to device" and Zephyr
 * serial_util.c mcumgr_serial_process_frag): a line is at most `lineMax`
 * bytes including its LF, longer lines are lost; a start line restarts
 * reassembly; continuation lines without a start are dropped; a frame is
 * accepted only when the decoded length matches and the CRC over packet+CRC
 * is zero. Everything else is dropped silently: devices never answer a frame
 * they cannot decode.
 */
import { crc16xmodem, decodeLineBase64, encodeFrame, frameBody } from '../../smp/frame.ts';

export interface AssemblerOptions {
  /** Largest decoded frame (length field + packet + CRC) the device can hold. */
  maxDecoded: number;
  /**
   * 'mcuboot': a frame whose data outgrows its length field keeps waiting for
   * a new start line (boot_serial_in_dec). 'zephyr': it is discarded at once.
   */
  style: 'mcuboot' | 'zephyr';
}

/** Reassembles decoded frames from whole lines (LF already removed). */
export class FrameAssembler {
  private parts: Uint8Array[] = [];
  private len = 0;
  private active = false;

  constructor(private readonly opts: AssemblerOptions) {}

  reset(): void {
    this.parts = [];
    this.len = 0;
    this.active = false;
  }

  /** Feeds one line; returns a packet (header + CBOR) when a frame completes. */
  line(line: Uint8Array): Uint8Array | undefined {
    if (line.length < 2) return undefined;
    const start = line[0] === 0x06 && line[1] === 0x09;
    const cont = line[0] === 0x04 && line[1] === 0x14;
    if (!start && !cont) return undefined;
    if (start) this.reset();
    else if (!this.active) return undefined;
    const dec = decodeLineBase64(line.subarray(2));
    if (!dec || this.len + dec.length > this.opts.maxDecoded) {
      this.reset();
      return undefined;
    }
    this.active = true;
    this.parts.push(dec);
    this.len += dec.length;
    if (this.len <= 2) return undefined;
    const all = Buffer.concat(this.parts);
    const want = (all[0]! << 8) | all[1]!;
    if (want !== this.len - 2) {
      if (this.opts.style === 'zephyr' && this.len - 2 > want) this.reset();
      return undefined;
    }
    const payload = new Uint8Array(all.subarray(2));
    this.reset();
    if (payload.length <= 2 || crc16xmodem(payload) !== 0) return undefined;
    return payload.slice(0, payload.length - 2);
  }
}

/** MCUboot's boot_serial_output: base64 of the whole frame cut every 124 characters. */
export function mcubootFrame(packet: Uint8Array): Uint8Array {
  return encodeFrame(packet, 124);
}

/**
 * Zephyr's mcumgr_serial_tx_pkt: the first line carries the length field
 * with the first packet byte, then 3-byte groups; lines take at most 93 raw
 * bytes and continuation lines 90 (the budget is not reset after the first
 * line), and the CRC is never split from the last data so one byte may move
 * to an extra line. Reproduced from the recorded responses and
 * subsys/mgmt/mcumgr/transport/src/serial_util.c.
 */
export function zephyrFrame(data: Uint8Array): Uint8Array {
  const out: number[] = [];
  const b64 = (bytes: number[]) => {
    for (const c of Buffer.from(bytes).toString('base64')) out.push(c.charCodeAt(0));
  };
  const crc = crc16xmodem(data);
  const len = data.length;
  let maxInput = ((128 - 3) >> 2) * 3;
  let off = 0;
  let first = true;
  while (off < len) {
    out.push(...(first ? [0x06, 0x09] : [0x04, 0x14]));
    if (first) {
      b64([(len + 2) >> 8, (len + 2) & 0xff, data[0]!]);
      off++;
      maxInput -= 3;
    }
    let toProcess = Math.min(maxInput, len - off);
    const reminder = maxInput - (len - off);
    let last = false;
    if (reminder === 0 || reminder === 1) toProcess -= 1;
    else if (reminder >= 2) last = true;
    while (toProcess >= 3) {
      b64([data[off]!, data[off + 1]!, data[off + 2]!]);
      off += 3;
      toProcess -= 3;
    }
    if (last) {
      const hi = crc >> 8;
      const lo = crc & 0xff;
      const left = len - off;
      if (left === 0) b64([hi, lo]);
      else if (left === 1) b64([data[off++]!, hi, lo]);
      else if (left === 2) {
        b64([data[off]!, data[off + 1]!, hi]);
        off += 2;
        b64([lo]);
      }
    }
    out.push(0x0a);
    first = false;
  }
  return Uint8Array.from(out);
}

export { frameBody };
