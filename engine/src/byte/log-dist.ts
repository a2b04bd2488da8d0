// A next-token log-distribution as the byte layer's LM interface hands it out (byte/lm.ts): the
// logits, their max and Σ exp(logits - max), so log p(id) = logits[id] - max - log(sum). The exact
// next-byte path reads a few ids (at) and sums probabilities straight off the logits
// (VocabIndex.cumulativeMass), so a vocabulary-size array of log-probabilities (1.2 MB at 151k
// ids: fresh pages and garbage per scored position) is made only for a caller that asks (array).
import { expSums, shiftedBy, sumExp } from '../decode/distribution';

/** Where an LM takes the blocks it sums its probabilities into (see LogDist.blockSums). */
export interface MassPlan {
  blockOf: Uint16Array | null;
  /** Blocks, counting the one for ids outside the order. */
  count: number;
}

export class LogDist {
  /** log Σ exp(logits): log p(id) = logits[id] - lse (computed as the log-softmax always was). */
  private readonly lse: number;
  private full: Float64Array | null = null;

  /**
   * blockSums: Σ exp(logits - max) by block of `blockOf` (by token id its block: VocabIndex's
   * PrefixMass blocks), summed in the same exp pass as `sum` when the LM had been given the
   * blocks. plan: the LM's blocks for its next positions (the byte layer sets them on first use).
   */
  constructor(
    readonly logits: Float32Array | Float64Array,
    readonly max: number,
    readonly sum: number,
    readonly blockSums?: Float64Array,
    readonly blockOf?: Uint16Array,
    readonly plan?: MassPlan,
  ) {
    this.lse = max + Math.log(sum);
  }

  /** From logits: one pass for the max, one exp pass for the sum (and the plan's block sums once set). */
  static fromLogits(logits: Float32Array, plan?: MassPlan): LogDist {
    const blockOf = plan?.blockOf ?? undefined;
    const { max, sum, binSums } = expSums(logits, blockOf, plan?.count ?? 0);
    return new LogDist(logits, max, sum, binSums, blockOf, plan);
  }

  /** From log-probabilities themselves (an LM without logits): read as logits whose log Σ exp is 0. */
  static fromLogp(logp: Float64Array): LogDist {
    return new LogDist(logp, 0, 1);
  }

  get length(): number {
    return this.logits.length;
  }

  /** log p(id). */
  at(id: number): number {
    return this.logits[id] - this.lse;
  }

  /** log Σ exp(logits): at(id) is logits[id] - logSumExp (for a loop that reads the logits itself). */
  get logSumExp(): number {
    return this.lse;
  }

  /** log p of every id, made on the first call and kept. */
  array(): Float64Array {
    if (!this.full) this.full = shiftedBy(this.logits, this.lse);
    return this.full;
  }

  /** Whether array() has been made (the exact next-byte path never needs it). */
  get materialised(): boolean {
    return this.full !== null;
  }
}
