export { parseDfuFile, buildDfuFile, type DfuFile, type DfuTarget, type DfuElement } from './file.ts';
export { parseMemoryLayout, pageAt, layoutSize, type MemoryLayout, type MemorySegment } from './memory-layout.ts';
export { dfuCrc32 } from './crc32.ts';
