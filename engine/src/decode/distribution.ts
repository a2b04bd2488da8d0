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
  const { max, sum } = expSums(logits);
  return shiftedBy(logits, max + Math.log(sum));
}

/** values[i] - shift as a fresh array (the log-softmax with shift = log Σ exp(values)). */
export function shiftedBy(values: Float32Array | Float64Array, shift: number): Float64Array {
  const n = values.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = values[i] - shift;
  return out;
}

/**
 * What gives the log-softmax without its array: logp[i] = logits[i] - max - log(sum), p[i] =
 * exp(logits[i] - max) / sum (for a caller that reads a few ids or sums probabilities in its own
 * order: the byte layer, over vocabulary ranges). A fresh 150k-entry array costs more in page
 * faults than the pass that fills it. With bins, the exp pass also sums exp(logits[i] - max) by
 * bins[i] (see sumExp).
 */
export function expSums(logits: Float32Array, bins?: Uint16Array, binCount = 0): { max: number; sum: number; binSums?: Float64Array } {
  const n = logits.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logits[i] > max) max = logits[i];
  const binSums = bins ? new Float64Array(binCount) : undefined;
  const sum = sumExp(logits, max, 0, n, undefined, bins, binSums);
  return { max, sum, binSums };
}

// sumExp: exp(x) for x <= 0 as 2^(n/256) * exp(r), r = x - n ln2/256 in (-ln2/256, 0]: a table of
// 2^(k/256), one of 2^-m and a degree-4 polynomial. Relative error below 1e-13 (the polynomial's is
// 1.2e-15, the rest is the rounding of x itself); faster than Math.exp, which the log-softmax of a
// 150k vocabulary spends most of its time in (a 256-entry table needs two terms fewer than 64 entries).
const EXP_STEPS = 256;
const EXP_FRAC = Float64Array.from({ length: EXP_STEPS }, (_, k) => Math.pow(2, k / EXP_STEPS));
const EXP_POW2 = new Float64Array(1100).map((_, m) => Math.pow(2, -m));
const EXP_SCALE = EXP_STEPS / Math.LN2;
/** ln2/256 in two parts: n * EXP_LN2_HI is exact for every n used (|n| < 2^19, 24-bit part). */
const EXP_LN2_HI = Math.fround(Math.LN2 / EXP_STEPS);
const EXP_LN2_LO = Math.LN2 / EXP_STEPS - EXP_LN2_HI;

/**
 * exp(x) for x <= 0 with sumExp's arithmetic (the same bits as its terms, 0 below exp(-700)), for
 * a loop that uses each term as it goes; 0 for NaN.
 */
export function expTerm(x: number): number {
  if (!(x > -700)) return 0;
  const m = (x * EXP_SCALE) | 0;
  const r = x - m * EXP_LN2_HI - m * EXP_LN2_LO;
  return EXP_FRAC[m & (EXP_STEPS - 1)] * EXP_POW2[-(m >> 8)] * (1 + r * (1 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24)))));
}

/**
 * Σ exp(values[i] - shift) over i = ids[k] (or k itself without ids) for k in [from, to), every
 * term at most 1 (shift at least every value read); ids beyond values count 0. With `bins`, each
 * term is also added to binSums[bins[i]] (i within bins). NaN for a NaN term; a term below
 * exp(-700) counts 0. One loop with the exp written in it: a call per term is not reliably
 * inlined, and a call that is not returns a boxed number (garbage per token).
 */
export function sumExp(values: Float32Array | Float64Array, shift: number, from: number, to: number, ids?: Int32Array, bins?: Uint16Array, binSums?: Float64Array): number {
  const n = values.length;
  let s = 0;
  for (let k = from; k < to; k++) {
    const id = ids ? ids[k] : k;
    if (id >= n) continue;
    const x = values[id] - shift;
    if (!(x > -700)) {
      if (x !== x) return NaN;
      continue;
    }
    const m = (x * EXP_SCALE) | 0; // truncation: m <= 0, r <= 0
    const r = x - m * EXP_LN2_HI - m * EXP_LN2_LO;
    const e = EXP_FRAC[m & (EXP_STEPS - 1)] * EXP_POW2[-(m >> 8)] * (1 + r * (1 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24)))));
    s += e;
    if (bins && id < bins.length) binSums![bins[id]] += e;
  }
  return s;
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
