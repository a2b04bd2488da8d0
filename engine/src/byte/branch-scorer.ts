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
  /** Scores several branches in one batched call; result[i].handle identifies branch i for extend(). */
  score(branches: number[][], signal?: AbortSignal): Promise<Array<BranchScore & { handle: number }>>;
  /** Scores one branch on its own (batch 1). */
  scoreOne(branch: number[], signal?: AbortSignal): Promise<BranchScore & { handle: number }>;
  /** KV state + last logits after context ++ branch(handle) ++ extra (for continuing decoding). */
  extend(handle: number, extra: number[], signal?: AbortSignal): Promise<{ state: KVState; logits: Float32Array }>;
}

function isPrefix(a: number[], b: number[]): boolean {
  if (a.length > b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

interface Scored {
  branch: number[];
  /** The batch holding it (null: the branch is empty, i.e. the context itself). */
  batch: KVState | null;
  row: number;
}

export class OnnxBranchScorer implements BranchScorer {
  private readonly scored: Scored[] = [];
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

  async scoreOne(branch: number[], signal?: AbortSignal): Promise<BranchScore & { handle: number }> {
    return (await this.score([branch], signal))[0];
  }

  async score(branches: number[][], signal?: AbortSignal): Promise<Array<BranchScore & { handle: number }>> {
    // Rows: branches that are not a prefix of another branch (each distinct sequence once).
    const rows: number[][] = [];
    for (const b of branches) {
      if (b.length === 0) continue;
      if (branches.some((o) => o.length > b.length && isPrefix(b, o))) continue;
      if (rows.some((r) => r.length === b.length && isPrefix(b, r))) continue;
      rows.push(b);
    }
    let lps: Float64Array[][] = [];
    let batch: KVState | null = null;
    if (rows.length > 0) {
      const r = await this.model.forward(await this.ctxState.expandAsync(rows.length), rows, { allLogits: true, signal });
      batch = r.state;
      lps = r.logits.map((row) => row.map(logSoftmax));
    }
    return branches.map((b) => {
      const handle = this.scored.length;
      if (b.length === 0) {
        this.scored.push({ branch: b, batch: null, row: -1 });
        return { stepLogp: [], next: this.ctxLogp, handle };
      }
      const row = rows.findIndex((r) => isPrefix(b, r));
      this.scored.push({ branch: b, batch, row });
      const stepLogp = b.map((id, k) => (k === 0 ? this.ctxLogp[id] : lps[row][k - 1][id]));
      return { stepLogp, next: lps[row][b.length - 1], handle };
    });
  }

  async extend(handle: number, extra: number[], signal?: AbortSignal): Promise<{ state: KVState; logits: Float32Array }> {
    if (extra.length === 0) throw new Error('extend needs at least one token');
    const { branch, batch, row } = this.scored[handle];
    let base: KVState;
    if (!batch) base = this.ctxState;
    else {
      base = batch.batch === 1 ? batch : await batch.selectAsync([row]);
      // The row may hold a longer branch: keep only this branch's slots (padding sits before them).
      let real = 0;
      let slots = 0;
      const need = this.ctxState.nextPos[0] + branch.length;
      while (real < need) real += base.mask[slots++];
      if (slots < base.length) base = await base.truncateAsync(slots);
    }
    const r = await this.model.forward(base, [extra], { signal });
    return { state: r.state, logits: r.logits[0][0] };
  }
}
