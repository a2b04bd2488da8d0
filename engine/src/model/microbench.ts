// Times one prefill and single-token decode steps of a model (median of a few repetitions).

import { mulberry32, randInt } from '../core/rng';
import { OnnxModel } from './onnx-model';

export interface MicrobenchOptions {
  promptTokens?: number;
  decodeSteps?: number;
  repetitions?: number;
}

export interface MicrobenchResult {
  prefillMs: number;
  decodeMsPerStep: number;
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export async function measureForward(model: OnnxModel, opts: MicrobenchOptions = {}): Promise<MicrobenchResult> {
  const V = model.config.vocabSize;
  const decodeSteps = Math.max(1, opts.decodeSteps ?? 32);
  const promptTokens = Math.max(1, Math.min(opts.promptTokens ?? 512, model.config.maxPositions - decodeSteps));
  const reps = Math.max(1, opts.repetitions ?? 3);
  // Deterministic pseudo-random ids above the special tokens.
  const rng = mulberry32(12345);
  const next = (): number => 6 + randInt(rng, Math.max(1, V - 6));
  const prompt = Array.from({ length: promptTokens }, next);
  const steps = Array.from({ length: decodeSteps }, next);

  await model.forward(null, [prompt.slice(0, 16)]); // warm-up (first run allocates)
  const prefill: number[] = [];
  const decode: number[] = [];
  for (let r = 0; r < reps; r++) {
    let t0 = performance.now();
    let { state } = await model.forward(null, [prompt]);
    prefill.push(performance.now() - t0);
    t0 = performance.now();
    for (const id of steps) state = (await model.forward(state, [[id]])).state;
    decode.push((performance.now() - t0) / decodeSteps);
  }
  return { prefillMs: median(prefill), decodeMsPerStep: median(decode) };
}
