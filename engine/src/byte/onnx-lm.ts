// The byte layer's LM (byte/lm.ts) on an ONNX model. A context is a KV state (no copy: forward's
// present outputs are fresh tensors and KVState is immutable) and the next-token distribution.
// score() runs all branches as ONE left-padded batch on top of the context's KV state, with the
// logits of every position, so a branch that is a prefix of another is read off the longer one and
// every prefix of a branch is scored at once. extend(m) masks the slots after the kept tokens (no
// forward); a row of a batch is gathered out of it only when the new context is first used.
// With `tree` (and a graph that takes a tree mask, model/tree-mask-rewrite.ts) the branches run
// instead as ONE sequence of their token trie on the context's past: no copy of the past per
// branch, which is what a padded batch costs on a long context (BENCHMARKS.md 17).
import { KVState } from '../model/kv-state';
import { OnnxModel } from '../model/onnx-model';
import { BranchLM, branchRows, LMContext, newStats, ScoredBranch, scoredBranch } from './lm';
import { LogDist, MassPlan } from './log-dist';

interface OnnxContext extends LMContext {
  /** The KV state; null until `row` has been gathered out of its batch. */
  state: KVState | null;
  row?: { batch: KVState; index: number; contextSlots: number; keep: number; nextPos: number };
}

/** Masked slots kept in a context before it is compacted (copied without them). */
const MAX_DEAD_SLOTS = 32;

export interface OnnxBranchLMOptions {
  /** Several branches as one token-tree forward where the model allows it (default false). */
  tree?: boolean;
}

/**
 * The token trie of rows: tokens in order with their parents, and each row's path of trie indices.
 * With `roots`, rows share tokens only with rows of the same roots[i] (they start from different
 * points of a past: OnnxModel.forwardTree's prefixSlots).
 */
export function tokenTrie(rows: readonly (readonly number[])[], roots?: readonly number[]): { tokens: number[]; parents: number[]; paths: number[][] } {
  const tokens: number[] = [];
  const parents: number[] = [];
  const child = new Map<string, number>();
  const paths = rows.map((r, i) => {
    let at = -1;
    return r.map((id) => {
      const key = at < 0 && roots ? `r${roots[i]}:${id}` : `${at}:${id}`;
      let t = child.get(key);
      if (t === undefined) {
        t = tokens.length;
        tokens.push(id);
        parents.push(at);
        child.set(key, t);
      }
      return (at = t);
    });
  });
  return { tokens, parents, paths };
}

export class OnnxBranchLM implements BranchLM {
  readonly stats = newStats();

  constructor(
    readonly model: OnnxModel,
    readonly opts: OnnxBranchLMOptions = {},
  ) {}

  get vocabSize(): number {
    return this.model.config.vocabSize;
  }

  get maxPositions(): number {
    return this.model.config.maxPositions;
  }

  /** Wraps an already computed state (e.g. from PrefixCache.prefill). */
  context(state: KVState, lastLogits: Float32Array): LMContext {
    return this.wrap(state, LogDist.fromLogits(lastLogits, this.plan));
  }

  /** A context from a state and its next-token log-distribution. */
  wrap(state: KVState, next: LogDist): LMContext {
    const ctx: OnnxContext = { state, next, length: state.nextPos[0] };
    return ctx;
  }

  async start(ids: number[], signal?: AbortSignal): Promise<LMContext> {
    const t0 = performance.now();
    const r = await this.model.forward(null, [ids], { signal });
    this.count(ids.length, t0);
    return this.context(r.state, r.logits[0][0]);
  }

  /** The context's KV state (batch 1), gathering a batch row on first use. */
  async stateOf(ctx: LMContext): Promise<KVState> {
    const c = ctx as OnnxContext;
    if (c.state) return c.state;
    const { batch, index, contextSlots, keep, nextPos } = c.row!;
    const one = batch.batch === 1 ? batch : await batch.selectAsync([index]);
    // Keep the first `keep` branch tokens of the row; mask out the rest (dead slots).
    const mask = one.mask.slice();
    let real = 0;
    for (let s = contextSlots; s < mask.length; s++) if (mask[s] && ++real > keep) mask[s] = 0;
    c.state = real > keep ? one.withMask(mask, Int32Array.of(nextPos)) : one;
    c.row = undefined;
    return c.state;
  }

  async score(ctx: LMContext, branches: number[][], signal?: AbortSignal): Promise<ScoredBranch[]> {
    const c = ctx as OnnxContext;
    const { rows, rowOf } = branchRows(branches);
    let nexts: LogDist[][] = [];
    let batch: KVState | null = null;
    let past: KVState | null = null;
    if (rows.length > 0) {
      past = await this.stateOf(c);
      if (past.length - past.nextPos[0] > MAX_DEAD_SLOTS) {
        past = await past.compactAsync();
        c.state = past; // same tokens, fewer slots
      }
      if (rows.length > 1 && this.opts.tree && !past.onDevice && (await this.model.treeSupported())) return this.scoreTree(c, past, branches, rows, rowOf, signal);
      const t0 = performance.now();
      const r = await this.model.forward(await past.expandAsync(rows.length), rows, { allLogits: true, signal });
      this.count(rows.reduce((a, b) => a + b.length, 0), t0);
      batch = r.state;
      const known = this.knownAfter(c);
      nexts = r.logits.map((row, k) => row.map((l, t) => known(rows[k].slice(0, t + 1).join(','), l)));
    }
    return branches.map((ids, i): ScoredBranch => {
      const k = rowOf[i];
      const own = k < 0 ? [] : nexts[k].slice(0, ids.length);
      return scoredBranch(ctx, ids, own, (m) => {
        const next: OnnxContext = { next: own[m - 1], length: ctx.length + m, state: null };
        if (batch!.batch === 1 && m === rows[k].length) next.state = batch;
        else next.row = { batch: batch!, index: k, contextSlots: past!.length, keep: m, nextPos: past!.nextPos[0] + m };
        return next;
      });
    });
  }

  /** score() as one forward of the rows' token trie; a context after a branch prefix is a masked view (no copy). */
  private async scoreTree(ctx: OnnxContext, past: KVState, branches: number[][], rows: number[][], rowOf: number[], signal?: AbortSignal): Promise<ScoredBranch[]> {
    const { tokens, parents, paths } = tokenTrie(rows);
    const t0 = performance.now();
    const r = await this.model.forwardTree(past, tokens, parents, { signal });
    this.count(tokens.length, t0);
    const known = this.knownAfter(ctx);
    const keys: string[] = [];
    tokens.forEach((id, t) => keys.push(parents[t] < 0 ? `${id}` : `${keys[parents[t]]},${id}`));
    const logp = (t: number): LogDist => known(keys[t], r.logits[t]);
    const S = past.length;
    return branches.map((ids, i): ScoredBranch => {
      const path = rowOf[i] < 0 ? [] : paths[rowOf[i]].slice(0, ids.length);
      const own = path.map(logp);
      return scoredBranch(ctx, ids, own, (m) => {
        const mask = r.state.mask.slice();
        for (let k = 0; k < m; k++) mask[S + path[k]] = 1;
        const next: OnnxContext = { next: own[m - 1], length: ctx.length + m, state: r.state.withMask(mask, Int32Array.of(past.nextPos[0] + m)) };
        return next;
      });
    });
  }

  /**
   * The log-distribution after the context and a branch prefix (its ids joined by commas): the one
   * computed by an earlier score() on this context when there was one, else from these logits.
   * Branches grow by a token or two per call and share their prefixes, so most positions of a
   * forward were normalized before (the same state, up to float rounding between forwards).
   */
  private knownAfter(ctx: LMContext): (prefix: string, logits: Float32Array) => LogDist {
    let m = this.known.get(ctx);
    if (!m) this.known.set(ctx, (m = new Map()));
    const seen = m;
    return (prefix, logits) => {
      let v = seen.get(prefix);
      if (!v) seen.set(prefix, (v = LogDist.fromLogits(logits, this.plan)));
      return v;
    };
  }

  private readonly known = new WeakMap<LMContext, Map<string, LogDist>>();

  /**
   * The vocabulary blocks the byte layer sums probabilities by (set by it on first use; in a
   * member worker, by the decoding thread's byte layer through a message).
   */
  readonly plan: MassPlan = { blockOf: null, count: 0 };

  /** KV state and last logits after the context ++ extra (for continuing token decoding). */
  async continueWith(ctx: LMContext, extra: number[], signal?: AbortSignal): Promise<{ state: KVState; logits: Float32Array }> {
    if (extra.length === 0) throw new Error('continueWith needs at least one token');
    const t0 = performance.now();
    const r = await this.model.forward(await this.stateOf(ctx), [extra], { signal });
    this.count(extra.length, t0);
    return { state: r.state, logits: r.logits[0][0] };
  }

  private count(tokens: number, t0: number): void {
    this.stats.forwards++;
    this.stats.forwardTokens += tokens;
    this.stats.forwardMs += performance.now() - t0;
  }
}
