// Scores token branches that all start from one shared context: the log-probability of each
// branch's tokens and the next-token log-distribution after it. The ONNX implementation runs the
// branches as one left-padded batch on top of the context's KV cache; a branch that is a prefix of
// another is read off the longer one's logits instead of getting a row. Tests use a synthetic LM.
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
  /** log p(next token | context): no model call. */
  contextLogp(): Float64Array;
  score(branches: number[][], signal?: AbortSignal): Promise<BranchScore[]>;
  /** KV state + last logits after context ++ branches[i] ++ extra (branches of the last score()). */
  extend(branchIndex: number, extra: number[], signal?: AbortSignal): Promise<{ state: KVState; logits: Float32Array }>;
}

function isPrefix(a: number[], b: number[]): boolean {
  if (a.length > b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class OnnxBranchScorer implements BranchScorer {
  private batch: KVState | null = null;
  private branches: number[][] = [];
  /** For each branch of the last score(): the batch row that holds it (-1: the context itself). */
  private rowOfBranch: number[] = [];
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

  contextLogp(): Float64Array {
    return this.ctxLogp;
  }

  async score(branches: number[][], signal?: AbortSignal): Promise<BranchScore[]> {
    // Rows: branches that are not a prefix of another branch (each distinct sequence once).
    const rows: number[][] = [];
    for (const b of branches) {
      if (b.length === 0) continue;
      if (branches.some((o) => o.length > b.length && isPrefix(b, o))) continue;
      if (rows.some((r) => r.length === b.length && isPrefix(b, r))) continue;
      rows.push(b);
    }
    this.branches = branches;
    this.rowOfBranch = branches.map((b) => (b.length === 0 ? -1 : rows.findIndex((r) => isPrefix(b, r))));
    let lps: Float64Array[][] = [];
    if (rows.length > 0) {
      const r = await this.model.forward(this.ctxState.expand(rows.length), rows, { allLogits: true, signal });
      this.batch = r.state;
      lps = r.logits.map((row) => row.map(logSoftmax));
    }
    return branches.map((b, i) => {
      if (b.length === 0) return { stepLogp: [], next: this.ctxLogp };
      const row = lps[this.rowOfBranch[i]];
      const stepLogp = b.map((id, k) => (k === 0 ? this.ctxLogp[id] : row[k - 1][id]));
      return { stepLogp, next: row[b.length - 1] };
    });
  }

  async extend(branchIndex: number, extra: number[], signal?: AbortSignal): Promise<{ state: KVState; logits: Float32Array }> {
    if (extra.length === 0) throw new Error('extend needs at least one token');
    const branch = this.branches[branchIndex];
    const row = this.rowOfBranch[branchIndex];
    let base: KVState;
    if (row < 0) base = this.ctxState;
    else {
      const batch = this.batch!.onDevice ? await this.batch!.toHost() : this.batch!;
      base = batch.select([row]);
      // The row may hold a longer branch: keep only this branch's slots (padding sits before them).
      let real = 0;
      let slots = 0;
      const need = this.ctxState.nextPos[0] + branch.length;
      while (real < need) real += base.mask[slots++];
      if (slots < base.length) base = base.truncate(slots);
    }
    const r = await this.model.forward(base, [extra], { signal });
    return { state: r.state, logits: r.logits[0][0] };
  }
}
