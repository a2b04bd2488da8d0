// Small seeded PRNG for the evaluation harness (sampling cases, bootstrap resamples).
// mulberry32: 32-bit state, fast, good enough for resampling; NOT for cryptography.

export type Rng = () => number;

/** Uniform floats in [0, 1), fully determined by `seed` (the decoder's mulberry32). */
export { mulberry32 } from '../decode/rng';

/** Uniform integer in [0, n). */
export function randInt(rng: Rng, n: number): number {
  return Math.floor(rng() * n);
}

/** Fisher-Yates shuffle of a copy. */
export function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = randInt(rng, i + 1);
    const tmp = out[i];
    out[i] = out[j];
    out[j] = tmp;
  }
  return out;
}
