/** Deterministic mutations of valid images for the fuzz test and the benchmark. */

/** xorshift32: reproducible pseudo-random numbers from a seed. */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/**
 * One mutation: byte flips anywhere, hits on header fields and TLV headers,
 * truncation, extension, or random splices. Returns a new array.
 */
export function mutate(src: Uint8Array, rnd: () => number, tlvStart: number): Uint8Array {
  const pick = (n: number) => (n <= 0 ? 0 : rnd() % n);
  const kind = pick(8);
  let b = src.slice();
  switch (kind) {
    case 0: // flip 1..4 random bits anywhere
      for (let i = 0, n = 1 + pick(4); i < n; i++) b[pick(b.length)]! ^= 1 << pick(8);
      break;
    case 1: // random byte in the header
      b[pick(32)] = pick(256);
      break;
    case 2: // random byte in the TLV area (types, lengths, info headers)
      b[tlvStart + pick(Math.max(1, b.length - tlvStart))] = pick(256);
      break;
    case 3: // truncate
      b = b.slice(0, pick(b.length));
      break;
    case 4: // extend with random bytes
      b = Uint8Array.from([...b, ...Array.from({ length: 1 + pick(64) }, () => pick(256))]);
      break;
    case 5: // random 16-bit value at a TLV-ish offset (length/type fields)
      {
        const off = tlvStart + pick(Math.max(1, b.length - tlvStart - 1));
        b[off] = pick(256);
        if (off + 1 < b.length) b[off + 1] = pick(256);
      }
      break;
    case 6: // huge sizes in the header
      new DataView(b.buffer).setUint32(12, rnd(), true);
      if (pick(2)) new DataView(b.buffer).setUint16(10, rnd() & 0xffff, true);
      break;
    default: // overwrite a random run with random bytes
      for (let i = pick(b.length), n = pick(48); n > 0 && i < b.length; n--, i++) b[i] = pick(256);
  }
  return b;
}
