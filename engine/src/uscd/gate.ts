// USCD's uncertainty gate: contrast only the steps where the standard prompt's distribution is
// spread out.
//
// Measure: normalised entropy u = H(p_std) / log |V|, in [0, 1] (0 = one token has all the mass,
// 1 = uniform). Unlike the published code's std(p) over the vocabulary, whose useful range moves
// with |V| (at |V| = 49,152 and t = 0.005 its gate is open at every step), u means the same for a
// 4K and a 150K vocabulary: u = 0.2 means "as spread as a uniform choice among |V|^0.2 tokens"
// (about 5 tokens at |V| = 4096, 11 at 150K; exp(H) is the perplexity of the step).
//
// The gate is open (contrast the step) when u >= threshold. threshold 0 contrasts every step;
// threshold 1 contrasts none (1 is treated as "off" so float rounding on a uniform p cannot open it).
import { DEFAULT_USCD } from '../core/defaults';
import { normalizedEntropy } from '../decode/distribution';

/** Default threshold (0.2; how it was measured: core/defaults.ts). */
export const DEFAULT_USCD_THRESHOLD: number = DEFAULT_USCD.threshold;

export function uncertainty(p: ArrayLike<number>): number {
  return normalizedEntropy(p);
}

export function gateOpen(u: number, threshold: number): boolean {
  return threshold < 1 && u >= threshold;
}
