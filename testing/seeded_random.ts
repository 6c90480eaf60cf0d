/**
 * Small seeded pseudo-random generators for tests that must be replayable: the same seed gives the
 * same sequence (mulberry32: fast, 32-bit state, good enough to pick faults and kill moments).
 */

/** A generator of uniform numbers in [0, 1). */
export type Random = () => number;

/** A generator seeded with `seed` (any integer; only its low 32 bits count). */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit hash of `text` mixed with `seed` (FNV-1a), to derive independent seeds from names. */
export function hashSeed(seed: number, text: string): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** A fresh seed for a run that was not given one (print it so the run can be replayed). */
export function newSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}
