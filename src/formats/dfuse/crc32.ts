/**
 * The DFU suffix CRC (DFU 1.1, appendix B): CRC-32 with the IEEE polynomial,
 * initial value 0xFFFFFFFF and no final inversion, over every byte of the file
 * except the dwCRC field itself. dfu-util and dfu-suffix compute the same.
 * That is zlib's CRC-32 without its final inversion.
 */
import { crc32 } from 'node:zlib';

export function dfuCrc32(bytes: Uint8Array): number {
  return ~crc32(bytes) >>> 0;
}
