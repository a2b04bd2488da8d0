// Token choice from a probability vector: greedy, or temperature / top-k / top-p sampling with a seed.
//
// No pass sorts the vocabulary (151,936 ids for Qwen): one pass files each probability into a
// bucket by its binary exponent (a factor of 2 per bucket, read from the float's bits), the
// buckets are walked from the top until they hold the top-k ids or the top-p mass, and only the
// values in those buckets are sorted (a native typed-array sort, no comparator, no objects) to
// find the kept set's threshold. The kept set is exactly the one sorting every id gives; the
// sample walks it in id order.
import { SamplingOptions } from '../core/types';
import { mulberry32 } from '../core/rng';

const BUCKETS = 2048; // float64 exponents

// Scratch space reused between calls (sampling runs on one thread).
const bucketMass = new Float64Array(BUCKETS);
const bucketCount = new Int32Array(BUCKETS);
let vals = new Float64Array(1024);

/** probs as a Float64Array (no copy when it already is one). */
function asFloat64(probs: ArrayLike<number>): Float64Array {
  if (probs instanceof Float64Array) return probs;
  return Float64Array.from(probs as ArrayLike<number>);
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export class Sampler {
  private readonly rand: () => number;
  constructor(readonly opts: SamplingOptions = {}) {
    this.rand = mulberry32(opts.seed ?? 0x5eed);
  }

  get greedy(): boolean {
    return !this.opts.temperature || this.opts.temperature <= 0;
  }

  /** Uniform number in [0,1) from the seeded stream (for callers that sample themselves). */
  random(): number {
    return this.rand();
  }

  /**
   * Picks an index from `probs` (already temperature-scaled and normalised over the allowed set).
   * Entries where allowed(i) is false are never picked. Returns -1 if nothing is allowed.
   */
  pick(probs: ArrayLike<number>, allowed?: (i: number) => boolean): number {
    const n = probs.length;
    if (this.greedy) {
      let best = -1;
      for (let i = 0; i < n; i++) if (probs[i] > 0 && (!allowed || allowed(i)) && (best < 0 || probs[i] > probs[best])) best = i;
      return best;
    }
    const p = asFloat64(probs);
    const topK = this.opts.topK && this.opts.topK > 0 ? Math.floor(this.opts.topK) : 0;
    const topP = this.opts.topP && this.opts.topP > 0 && this.opts.topP < 1 ? this.opts.topP : 1;
    const ok = (i: number) => p[i] > 0 && (!allowed || allowed(i));
    if (n === 0) return -1;

    if (!topK && topP >= 1) {
      // Plain temperature sampling: no order needed, one pass for the mass and one to pick.
      let total = 0;
      let lastOk = -1;
      for (let i = 0; i < n; i++) if (ok(i)) (total += p[i]), (lastOk = i);
      if (lastOk < 0) return -1;
      let r = this.rand() * total;
      for (let i = 0; i < n; i++) {
        if (!ok(i)) continue;
        r -= p[i];
        if (r <= 0) return i;
      }
      return lastOk;
    }

    // 1. Mass and count per exponent bucket.
    const hi = new Uint32Array(p.buffer, p.byteOffset, 2 * n);
    const w = littleEndian ? 1 : 0;
    bucketMass.fill(0);
    bucketCount.fill(0);
    let total = 0;
    let count = 0;
    for (let i = 0; i < n; i++) {
      const v = p[i];
      if (!(v > 0) || (allowed && !allowed(i))) continue;
      const e = (hi[2 * i + w] >>> 20) & 0x7ff;
      bucketMass[e] += v;
      bucketCount[e]++;
      total += v;
      count++;
    }
    if (count === 0) return -1;

    // 2. Lowest bucket still needed: top-k ids (when k is set), else the top-p mass.
    let cut = 0;
    let need = 0;
    let mass = 0;
    for (let e = BUCKETS - 1; e >= 0; e--) {
      if (!bucketCount[e]) continue;
      need += bucketCount[e];
      mass += bucketMass[e];
      cut = e;
      if (topK ? need >= topK : mass >= topP * total) break;
    }

    // 3. The candidates' values (buckets >= cut), sorted natively (no comparator, no objects).
    if (vals.length < need) vals = new Float64Array(Math.max(need, 2 * vals.length));
    let m = 0;
    for (let i = 0; i < n; i++) {
      const v = p[i];
      if (v > 0 && ((hi[2 * i + w] >>> 20) & 0x7ff) >= cut && (!allowed || allowed(i))) vals[m++] = v;
    }
    const sorted = vals.subarray(0, m).sort(); // ascending: the best is last

    // 4. How many of the best to keep: top-k, then top-p relative to what top-k kept.
    let len = topK ? Math.min(topK, m) : m;
    let kept = topK ? 0 : total; // top-p alone is relative to the whole allowed mass
    if (topK) for (let k = 0; k < len; k++) kept += sorted[m - 1 - k];
    if (topP < 1) {
      let acc = 0;
      for (let k = 0; k < len; k++) {
        acc += sorted[m - 1 - k] / kept;
        if (acc >= topP) {
          len = k + 1;
          break;
        }
      }
    }
    // The kept set is every id above the len-th best value, plus ties at it by lowest id (as a
    // stable sort would order them).
    const thr = sorted[m - len];
    let ties = 0;
    for (let k = m - len; k < m && sorted[k] === thr; k++) ties++;
    let keptMass = 0;
    for (let k = m - len; k < m; k++) keptMass += sorted[k];

    // 5. Sample over the kept ids in id order (a distribution does not depend on the walk order).
    let r = this.rand() * keptMass;
    let last = -1;
    let t = ties;
    for (let i = 0; i < n; i++) {
      const v = p[i];
      if (v < thr || !(v > 0) || (allowed && !allowed(i))) continue;
      if (v === thr) {
        if (t === 0) continue;
        t--;
      }
      last = i;
      r -= v;
      if (r <= 0) return i;
    }
    return last;
  }
}

/** The reference implementation's kept ids, best first (sorts every candidate): for tests and the benchmark only. */
export function keptBySorting(opts: SamplingOptions, probs: ArrayLike<number>, allowed?: (i: number) => boolean): number[] {
  let idx: number[] = [];
  for (let i = 0; i < probs.length; i++) if (probs[i] > 0 && (!allowed || allowed(i))) idx.push(i);
  idx.sort((a, b) => probs[b] - probs[a] || a - b);
  if (opts.topK && opts.topK > 0) idx = idx.slice(0, opts.topK);
  let total = 0;
  for (const i of idx) total += probs[i];
  if (opts.topP && opts.topP < 1) {
    let acc = 0;
    for (let k = 0; k < idx.length; k++) {
      acc += probs[idx[k]] / total;
      if (acc >= opts.topP) return idx.slice(0, k + 1);
    }
  }
  return idx;
}

/** Samples from kept ids (best first) with the uniform number u. */
export function pickFromKept(kept: number[], probs: ArrayLike<number>, u: number): number {
  if (kept.length === 0) return -1;
  let total = 0;
  for (const i of kept) total += probs[i];
  let r = u * total;
  for (const i of kept) {
    r -= probs[i];
    if (r <= 0) return i;
  }
  return kept[kept.length - 1];
}

/** The reference implementation: sort everything, cut, sample. */
export function pickBySorting(opts: SamplingOptions, u: number, probs: ArrayLike<number>, allowed?: (i: number) => boolean): number {
  return pickFromKept(keptBySorting(opts, probs, allowed), probs, u);
}
