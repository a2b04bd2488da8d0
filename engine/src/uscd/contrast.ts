// USCD's contrast on one step, in probability space as in the published code:
//   q ∝ max(0, p_std - alpha * p_lame) on the plausible set {i : p_std[i] >= beta * max p_std},
//   q = 0 elsewhere, renormalised.
// The plausibility cut (Li et al.'s adaptive cut, relative to the top token) keeps the subtraction
// from promoting tokens the standard prompt itself finds implausible; the published code's cut,
// filter_num * mean(p) = filter_num / |V|, is vocabulary-dependent and far looser.

/** Returns q (sums to 1), or null when the contrast leaves no mass (caller falls back to p_std). */
export function contrast(pStd: ArrayLike<number>, pLame: ArrayLike<number>, alpha: number, beta: number): Float64Array | null {
  const n = pStd.length;
  if (pLame.length !== n) throw new Error(`contrast: distributions of different sizes (${n} vs ${pLame.length})`);
  let max = 0;
  for (let i = 0; i < n; i++) if (pStd[i] > max) max = pStd[i];
  const cut = beta * max;
  const q = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const p = pStd[i];
    if (p > 0 && p >= cut) {
      const v = p - alpha * pLame[i];
      if (v > 0) {
        q[i] = v;
        sum += v;
      }
    }
  }
  if (!(sum > 0)) return null;
  for (let i = 0; i < n; i++) q[i] /= sum;
  return q;
}

/** q^(1/T), renormalised (temperature on a probability vector; T = 1 returns q). */
export function applyTemperature(q: Float64Array, temperature: number): Float64Array {
  if (temperature === 1) return q;
  const out = new Float64Array(q.length);
  let max = 0;
  for (let i = 0; i < q.length; i++) if (q[i] > max) max = q[i];
  let sum = 0;
  for (let i = 0; i < q.length; i++) {
    if (q[i] > 0) {
      const v = Math.pow(q[i] / max, 1 / temperature);
      out[i] = v;
      sum += v;
    }
  }
  for (let i = 0; i < q.length; i++) out[i] /= sum;
  return out;
}
