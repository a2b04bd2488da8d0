// Scores token branches that all start from one shared context: the log-probability of each
// branch's tokens and the next-token log-distribution after it. The ONNX implementation runs all
// branches as one left-padded batch on top of the context's KV cache; tests use a synthetic LM.
import { KVState } from '../model/kv-state';
import { OnnxModel } from '../model/onnx-model';
import { logSoftmax } from '../decode/distribution';

export interface BranchScore {
  /** log p(branch[k] | context, branch[<k]) for each token. */
  stepLogp: number[];
  /** log p(next token | context, branch). */
  next: Float64Array;
}

export interface BranchScorer {
  readonly vocabSize: number;
  score(branches: number[][], signal?: AbortSignal): Promise<BranchScore[]>;
  /** KV state + last logits after context ++ branches[i] ++ extra (for continuing decoding). */
  extend(branchIndex: number, extra: number[], signal?: AbortSignal): Promise<{ state: KVState; logits: Float32Array }>;
}

export class OnnxBranchScorer implements BranchScorer {
  private batch: KVState | null = null;
  private branches: number[][] = [];
  private readonly ctxLogp: Float64Array;

  constructor(
    readonly model: OnnxModel,
    readonly ctxState: KVState,
    readonly ctxLogits: Float32Array,
  ) {
    this.ctxLogp = logSoftmax(ctxLogits);
  }

  get vocabSize(): number {
    return this.ctxLogits.length;
  }

  async score(branches: number[][], signal?: AbortSignal): Promise<BranchScore[]> {
    const nonEmpty = branches.filter((b) => b.length > 0);
    let logits: Float32Array[][] = [];
    if (nonEmpty.length > 0) {
      const past = this.ctxState.expand(nonEmpty.length);
      const r = await this.model.forward(past, nonEmpty, { allLogits: true, signal });
      this.batch = r.state;
      logits = r.logits;
    }
    this.branches = branches;
    let k = 0;
    return branches.map((b) => {
      if (b.length === 0) return { stepLogp: [], next: this.ctxLogp };
      const rowLogits = logits[k++];
      const lps = rowLogits.map(logSoftmax);
      const stepLogp = b.map((id, i) => (i === 0 ? this.ctxLogp[id] : lps[i - 1][id]));
      return { stepLogp, next: lps[lps.length - 1] };
    });
  }

  async extend(branchIndex: number, extra: number[], signal?: AbortSignal): Promise<{ state: KVState; logits: Float32Array }> {
    // branchIndex refers to the branches of the last score() call; an empty branch is the context.
    if (extra.length === 0) throw new Error('extend needs at least one token');
    const branch = this.branches[branchIndex];
    let base: KVState;
    if (branch.length === 0) base = this.ctxState;
    else {
      const row = this.branches.slice(0, branchIndex).filter((b) => b.length > 0).length;
      const batch = this.batch!.onDevice ? await this.batch!.toHost() : this.batch!;
      base = batch.select([row]);
    }
    const r = await this.model.forward(base, [extra], { signal });
    return { state: r.state, logits: r.logits[0][0] };
  }
}
