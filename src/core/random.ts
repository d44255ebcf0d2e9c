/**
 * A seeded pseudo-random source (mulberry32): small, fast, and the same
 * sequence for the same seed, so a fault run (noisy cable, cut point) can be
 * repeated exactly. Not for anything secret.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0 || 1;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
