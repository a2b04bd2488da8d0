// Operations on next-token logits / probability vectors.

export function softmax(logits: Float32Array, temperature = 1): Float64Array {
  const n = logits.length;
  const out = new Float64Array(n);
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp((logits[i] - max) / temperature);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < n; i++) out[i] /= sum;
  return out;
}

export function logSoftmax(logits: Float32Array): Float64Array {
  const n = logits.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(logits[i] - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = logits[i] - lse;
  return out;
}

/**
 * logSoftmax and the probabilities themselves from the same exp pass (for a caller that needs
 * both: the byte layer sums probabilities over vocabulary ranges).
 */
export function logSoftmaxWithProbs(logits: Float32Array): { logp: Float64Array; p: Float64Array } {
  const n = logits.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logits[i] > max) max = logits[i];
  const p = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += p[i] = Math.exp(logits[i] - max);
  const lse = max + Math.log(sum);
  const logp = new Float64Array(n);
  const inv = 1 / sum;
  for (let i = 0; i < n; i++) {
    logp[i] = logits[i] - lse;
    p[i] *= inv;
  }
  return { logp, p };
}

export function argmax(v: ArrayLike<number>, allowed?: (i: number) => boolean): number {
  let best = -1;
  let bv = -Infinity;
  for (let i = 0; i < v.length; i++) {
    if (v[i] > bv && (!allowed || allowed(i))) {
      bv = v[i];
      best = i;
    }
  }
  return best;
}

/** Normalised entropy H(p)/log(V) in [0,1]: a spread measure independent of vocabulary size. */
export function normalizedEntropy(p: ArrayLike<number>): number {
  let h = 0;
  for (let i = 0; i < p.length; i++) if (p[i] > 0) h -= p[i] * Math.log(p[i]);
  return h / Math.log(p.length);
}
