/**
 * The DFU suffix CRC (DFU 1.1, appendix B): CRC-32 with the IEEE polynomial,
 * initial value 0xFFFFFFFF and no final inversion, over every byte of the file
 * except the dwCRC field itself. dfu-util and dfu-suffix compute the same.
 */
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function dfuCrc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return crc >>> 0;
}
