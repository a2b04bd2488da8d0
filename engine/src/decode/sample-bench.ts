// Times one sampled token at a model's vocabulary size: softmax with temperature, then the
// sampler's pick (top-k / top-p), against the reference that sorts every id.
import { SamplingOptions } from '../core/types';
import { softmax } from './distribution';
import { pickBySorting, Sampler } from './sampler';

export interface SamplingBench {
  vocab: number;
  /** softmax + pick, median ms per token. */
  sampleMs: number;
  /** softmax + sort-everything pick, median ms per token. */
  sortingMs: number;
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[s.length >> 1];
}

export function measureSampling(logits: Float32Array, opts: SamplingOptions = { temperature: 0.8, topK: 40, topP: 0.95 }, reps = 15): SamplingBench {
  const sampler = new Sampler({ ...opts, seed: 1 });
  const t = opts.temperature && opts.temperature > 0 ? opts.temperature : 1;
  const fast: number[] = [];
  const slow: number[] = [];
  for (let r = 0; r < reps; r++) {
    let t0 = performance.now();
    sampler.pick(softmax(logits, t));
    fast.push(performance.now() - t0);
    t0 = performance.now();
    pickBySorting(opts, 0.5, softmax(logits, t));
    slow.push(performance.now() - t0);
  }
  return { vocab: logits.length, sampleMs: median(fast), sortingMs: median(slow) };
}
