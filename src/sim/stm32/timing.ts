/**
 * Flash timing for the simulated STM32 chips, from the chip table's datasheet
 * figures (chips.json `flashTiming`, source "datasheets"; the first number of
 * each range is the typical value, used here). Where the table has no program
 * time, the figure and its source are named below.
 */
import type { ChipInfo } from '../../stm32/chips/index.ts';
import type { FlashTiming } from '../flash.ts';

export interface ChipTiming extends FlashTiming {
  massEraseMs(): number;
  /** Plain words for `sim stm32` to print. */
  text: string;
}

export function chipTiming(chip: ChipInfo, scale = 1): ChipTiming {
  const t = chip.flashTiming;
  if (t?.x32) {
    // F2/F4 at 2.7-3.6 V (x32). Word program 16 us typ: STM32F405/407 datasheet (DS8626)
    // "Flash memory programming" t_prog, recalled; chips.json records no program time for F4.
    const x = t.x32;
    const sector = (size: number) => (size <= 16384 ? x.sector16KMs[0] : size <= 65536 ? x.sector64KMs[0] : x.sector128KMs[0] * (size / 131072));
    return {
      eraseMs: (size) => sector(size) * scale,
      programMs: (n) => ((Math.ceil(n / 4) * 16) / 1000) * scale,
      massEraseMs: () => x.massEraseMs[0] * scale,
      text: `F4 x32: sector erase 16K ${x.sector16KMs[0]} ms / 64K ${x.sector64KMs[0]} ms / 128K ${x.sector128KMs[0]} ms, mass erase ${x.massEraseMs[0]} ms, 16 us per word`,
    };
  }
  const page = t?.pageEraseMs?.[0] ?? 20;
  const mass = t?.massEraseMs?.[0] ?? page;
  const pageSize = chip.flash.layout === 'uniform' ? chip.flash.pageSize : 2048;
  let perByteUs = 0;
  let unit = '';
  if (t?.halfwordProgramUs) {
    perByteUs = t.halfwordProgramUs[0] / 2;
    unit = `${t.halfwordProgramUs[0]} us per half-word`;
  } else if (t?.doublewordProgramUs) {
    perByteUs = t.doublewordProgramUs[0] / 8;
    unit = `${t.doublewordProgramUs[0]} us per double word`;
  } else if (t?.wordProgramMs) {
    // L0/L1 program a whole half-page at once; per 4-byte word here.
    perByteUs = (t.wordProgramMs[0] * 1000) / 64;
    unit = `${t.wordProgramMs[0]} ms per half-page`;
  }
  return {
    eraseMs: (size) => page * (size / pageSize) * scale,
    programMs: (n) => ((n * perByteUs) / 1000) * scale,
    massEraseMs: () => mass * scale,
    text: `page erase ${page} ms, mass erase ${mass} ms, ${unit || 'instant programming'}${scale !== 1 ? ` (times x${scale})` : ''}`,
  };
}
