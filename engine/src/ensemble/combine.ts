// Combining next-byte distributions of several models (docs/DESIGN.md, "Ensembles across vocabularies").
// Every distribution has 257 entries (bytes 0..255 and END = 256) and sums to 1.
//   mixture: p(b) = Σ_k w_k p_k(b)                      (weights normalised to sum 1)
//   product: p(b) ∝ Π_k p_k(b)^{w_k}                    (weighted geometric mean, renormalised)
// Members with weight 0 take no part (so weights (1, 0) reproduce the first model exactly).
import { BytefillError, EnsembleMode } from '../core/types';

export const DIST_SIZE = 257;

/** Weights normalised to sum 1 (equal weights when none are given). */
export function normalizeWeights(weights: readonly number[] | undefined, n: number): number[] {
  const w = weights && weights.length > 0 ? weights.slice() : new Array<number>(n).fill(1);
  if (w.length !== n) throw new BytefillError('BAD_ARGUMENT', `${w.length} ensemble weights given for ${n} models`);
  if (w.some((x) => !(x >= 0) || !Number.isFinite(x))) throw new BytefillError('BAD_ARGUMENT', 'ensemble weights must be finite non-negative numbers');
  const s = w.reduce((a, b) => a + b, 0);
  if (!(s > 0)) throw new BytefillError('BAD_ARGUMENT', 'ensemble weights must not all be zero');
  return w.map((x) => x / s);
}

/** Weighted average of probabilities. */
export function combineMixture(dists: readonly Float64Array[], weights: readonly number[]): Float64Array {
  const w = normalizeWeights(weights, dists.length);
  const out = new Float64Array(DIST_SIZE);
  dists.forEach((d, k) => {
    if (w[k] === 0) return;
    for (let b = 0; b < DIST_SIZE; b++) out[b] += w[k] * d[b];
  });
  return renormalize(out);
}

/**
 * Weighted geometric mean, renormalised. Computed in log space. A byte that any member with
 * positive weight gives probability 0 gets 0. If the members' supports are disjoint (every byte
 * gets 0), there is no geometric mean to take and the mixture is returned instead.
 */
export function combineProduct(dists: readonly Float64Array[], weights: readonly number[]): Float64Array {
  const w = normalizeWeights(weights, dists.length);
  const logs = new Float64Array(DIST_SIZE);
  for (let b = 0; b < DIST_SIZE; b++) {
    let s = 0;
    for (let k = 0; k < dists.length; k++) {
      if (w[k] === 0) continue;
      const p = dists[k][b];
      if (!(p > 0)) {
        s = -Infinity;
        break;
      }
      s += w[k] * Math.log(p);
    }
    logs[b] = s;
  }
  let max = -Infinity;
  for (let b = 0; b < DIST_SIZE; b++) if (logs[b] > max) max = logs[b];
  if (max === -Infinity) return combineMixture(dists, w);
  const out = new Float64Array(DIST_SIZE);
  for (let b = 0; b < DIST_SIZE; b++) out[b] = logs[b] === -Infinity ? 0 : Math.exp(logs[b] - max);
  return renormalize(out);
}

export function combine(mode: EnsembleMode, dists: readonly Float64Array[], weights: readonly number[]): Float64Array {
  if (dists.length === 1) return dists[0];
  return mode === 'product' ? combineProduct(dists, weights) : combineMixture(dists, weights);
}

function renormalize(d: Float64Array): Float64Array {
  let s = 0;
  for (let b = 0; b < d.length; b++) s += d[b];
  if (s > 0) for (let b = 0; b < d.length; b++) d[b] /= s;
  return d;
}
