// Token choice from a probability vector: greedy, or temperature / top-k / top-p sampling with a seed.
import { SamplingOptions } from '../core/types';
import { mulberry32 } from '../core/rng';

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
    let idx: number[] = [];
    for (let i = 0; i < n; i++) if (probs[i] > 0 && (!allowed || allowed(i))) idx.push(i);
    if (idx.length === 0) return -1;
    idx.sort((a, b) => probs[b] - probs[a]);
    if (this.opts.topK && this.opts.topK > 0) idx = idx.slice(0, this.opts.topK);
    let total = 0;
    for (const i of idx) total += probs[i];
    if (this.opts.topP && this.opts.topP < 1) {
      let acc = 0;
      let cut = idx.length;
      for (let k = 0; k < idx.length; k++) {
        acc += probs[idx[k]] / total;
        if (acc >= this.opts.topP) {
          cut = k + 1;
          break;
        }
      }
      idx = idx.slice(0, cut);
      total = 0;
      for (const i of idx) total += probs[i];
    }
    let r = this.rand() * total;
    for (const i of idx) {
      r -= probs[i];
      if (r <= 0) return i;
    }
    return idx[idx.length - 1];
  }
}
