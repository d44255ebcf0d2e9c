/**
 * Developer tool, never run by the product: regenerates table.ts from the
 * reference data ../shared/vectors/stm32/chips.json.
 *   node --import tsx src/stm32/chips/generate-table.ts
 * The unit test chip-table.test.ts fails whenever the two drift apart.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseChip } from './parse-source.ts';
import type { ChipInfo } from './types.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const src = JSON.parse(readFileSync(`${here}../../../../shared/vectors/stm32/chips.json`, 'utf8')) as { chips: unknown[] };
const chips: ChipInfo[] = src.chips.map((c) => parseChip(c as Record<string, unknown>));

const hexKeys = new Set(['pid', 'start', 'end', 'freeStart', 'endInclusive', 'eraseCommand', 'usartProtocolVersion']);
function lit(v: unknown, key = ''): string {
  if (v === null) return 'null';
  if (typeof v === 'number') return hexKeys.has(key) ? `0x${v.toString(16)}` : String(v);
  if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map((x) => (key === 'typicalGetCommands' ? `0x${(x as number).toString(16).padStart(2, '0')}` : lit(x))).join(', ')}]`;
  const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
  return `{ ${entries.map(([k, x]) => `${k}: ${lit(x, k)}`).join(', ')} }`;
}

const body = chips.map((c) => `  ${lit(c)},`).join('\n');
writeFileSync(
  `${here}table.ts`,
  `/**
 * The STM32 chip table, generated from ../shared/vectors/stm32/chips.json by
 * generate-table.ts (do not edit by hand; regenerate). Sources and confidence
 * marks for each fact are in that file.
 */
import type { ChipInfo } from './types.ts';

export const CHIPS: readonly ChipInfo[] = [
${body}
];
`,
);
console.log(`wrote ${chips.length} chips`);
