// Paired bootstrap for comparing two modes on the same cases: resample case indices with
// replacement, recompute mean(B - A); the 2.5%/97.5% percentiles give a 95% interval.
import { mulberry32 } from '../core/rng';

export interface BootstrapOptions {
  /** Default 2000. */
  resamples?: number;
  /** Default 1. Same seed, same data -> identical interval. */
  seed?: number;
  /** Two-sided level; default 0.95. */
  confidence?: number;
}

export interface BootstrapResult {
  n: number;
  meanA: number;
  meanB: number;
  /** meanB - meanA (B is the mode being compared against baseline A). */
  diff: number;
  lo: number;
  hi: number;
}

function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return xs.length ? s / xs.length : NaN;
}

/** Percentile by linear interpolation between order statistics of a sorted array. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function pairedBootstrap(
  a: readonly number[],
  b: readonly number[],
  opts: BootstrapOptions = {},
): BootstrapResult {
  if (a.length !== b.length) throw new Error(`pairedBootstrap: lengths differ (${a.length} vs ${b.length})`);
  const n = a.length;
  const resamples = opts.resamples ?? 2000;
  const alpha = 1 - (opts.confidence ?? 0.95);
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = b[i] - a[i];
  const meanA = mean(a);
  const meanB = mean(b);
  if (n === 0) return { n, meanA, meanB, diff: NaN, lo: NaN, hi: NaN };
  const rng = mulberry32(opts.seed ?? 1);
  const stats = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += d[Math.floor(rng() * n)];
    stats[r] = s / n;
  }
  stats.sort();
  return {
    n,
    meanA,
    meanB,
    diff: mean(d),
    lo: quantileSorted(stats, alpha / 2),
    hi: quantileSorted(stats, 1 - alpha / 2),
  };
}
