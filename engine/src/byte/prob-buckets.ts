// Candidates by log-probability bucket (bucket k holds log p in (-(k+1)/BUCKETS_PER_NAT,
// -k/BUCKETS_PER_NAT]): the byte layer leaves a row's lightest candidates unchecked (at most eps of
// its mass, byte/covers.ts) by whole buckets, heaviest buckets checked, so no sort of the candidates.
import { expTerm } from '../decode/distribution';
import { LogDist } from './log-dist';

export const BUCKETS_PER_NAT = 4;
export const N_BUCKETS = 40 * BUCKETS_PER_NAT + 1;

/** Log-probability bucket of a candidate (the last bucket holds everything below -40 nats). */
export function bucketOf(logp: number): number {
  // Truncation is the floor for t > 0 (an int32 result, no float-to-index conversion); NaN stays NaN.
  const t = -logp * BUCKETS_PER_NAT;
  return t >= N_BUCKETS ? N_BUCKETS - 1 : t > 0 ? t | 0 : t === t ? 0 : NaN;
}

/** The first bucket from which all lighter buckets together weigh at most `budget` (N_BUCKETS: none). */
export function uncheckedBucket(buckets: Float64Array, budget: number): number {
  let cum = 0;
  let k = N_BUCKETS;
  while (k > 0 && cum + buckets[k - 1] <= budget) cum += buckets[--k];
  return k;
}

let scratch = new Float64Array(0);
const bucketScratch = new Float64Array(N_BUCKETS);
let bucketOfScratch = new Uint8Array(0);

/** A vocabulary-size array for one pass's probabilities by id (checkedInRange), reused: no fresh pages per pass. */
export function probScratch(n: number): Float64Array {
  if (scratch.length < n) scratch = new Float64Array(n);
  return scratch;
}

/**
 * The candidates order[lo .. hi) (token ids) to check when at most eps of their mass may stay
 * unchecked: f(id, p(id), position) for each one in the buckets before the lightest ones that
 * together weigh at most eps of the range, less 1e-9 of it for rounding. Within the range, the
 * buckets order candidates by probability, so these are every candidate that taking the heaviest
 * first (until at most eps is left) checks, and the rest of the last bucket taken: the same
 * guarantee without a sort or an array of the range. NaN log-probabilities go to the first
 * bucket (checked). One pass of sumExp's exp over the range, its terms into the shared scratch array.
 */
export function checkedInRange(next: LogDist, order: Int32Array, lo: number, hi: number, eps: number, f: (id: number, p: number, k: number) => void): void {
  const probs = probScratch(next.length);
  const scale = 1 / next.sum;
  const buckets = bucketScratch.fill(0);
  // Each candidate's bucket, by position in the range, for the second pass.
  if (bucketOfScratch.length < hi - lo) bucketOfScratch = new Uint8Array(Math.max(hi - lo, 2 * bucketOfScratch.length));
  const bucketAt = bucketOfScratch;
  const logits = next.logits;
  const lse = next.logSumExp;
  const max = next.max;
  const n = next.length;
  let total = 0;
  for (let k = lo; k < hi; k++) {
    const id = order[k];
    if (id >= n) continue;
    const l = logits[id];
    const x = l - max;
    // sumExp's term, kept scaled for the second pass.
    const p = expTerm(x) * scale;
    probs[id] = p;
    const b = bucketOf(l - lse) || 0;
    bucketAt[k - lo] = b;
    buckets[b] += p;
    total += p;
  }
  // The range's mass summed by bucket here and in order by a caller differ far below 1e-9 of it.
  const skipFrom = uncheckedBucket(buckets, Math.max(0, eps - 1e-9) * total);
  if (skipFrom === 0) return;
  for (let k = lo; k < hi; k++) {
    const id = order[k];
    if (id < n && bucketAt[k - lo] < skipFrom) f(id, probs[id], k);
  }
}
