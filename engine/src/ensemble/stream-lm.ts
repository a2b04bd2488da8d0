// The language-model side of a byte stream: a fixed context (KV state + next-token distribution)
// and short token branches scored on top of it. Every branch runs as its own batch-1 forward on
// the context's KV state (no copy of the context: forward's present outputs are fresh tensors and
// KVState is immutable), with the logits of every branch position, so all prefixes of a branch
// are scored at once. A branch can be turned into a new context (commit) without another
// forward: the branch's KV state with the slots after the kept tokens masked out.
import { logSoftmax } from '../decode/distribution';
import { KVState } from '../model/kv-state';
import { OnnxModel } from '../model/onnx-model';

export interface LMContext {
  /** log p(next token | context). */
  readonly next: Float64Array;
  /** Positions used (real tokens). */
  readonly length: number;
}

export interface BranchOut {
  /** log p(ids[i] | context, ids[<i]). */
  stepLogp: number[];
  /** nexts[i] = log p(next token | context, ids[0..i]). */
  nexts: Float64Array[];
  /** The context followed by the first m tokens of the branch (1 <= m <= ids.length); no forward. */
  extend(m: number): LMContext;
}

export interface LMStats {
  forwards: number;
  forwardTokens: number;
  forwardMs: number;
}

export interface StreamLM {
  readonly vocabSize: number;
  readonly maxPositions: number;
  readonly stats: LMStats;
  /** A fresh context from token ids (a prefill, no cache). */
  start(ids: number[], signal?: AbortSignal): Promise<LMContext>;
  branch(ctx: LMContext, ids: number[], signal?: AbortSignal): Promise<BranchOut>;
  /** Window restart: a context of `ids`, the last tokens of `ctx` (default: start(ids)). */
  restart?(ctx: LMContext, ids: number[], signal?: AbortSignal): Promise<LMContext>;
}

export function newStats(): LMStats {
  return { forwards: 0, forwardTokens: 0, forwardMs: 0 };
}

interface OnnxContext extends LMContext {
  state: KVState;
}

/** Masked slots kept in a context before it is compacted (copied without them). */
const MAX_DEAD_SLOTS = 32;

export class OnnxStreamLM implements StreamLM {
  readonly stats = newStats();

  constructor(readonly model: OnnxModel) {}

  get vocabSize(): number {
    return this.model.config.vocabSize;
  }

  get maxPositions(): number {
    return this.model.config.maxPositions;
  }

  /** Wraps an already computed state (e.g. from PrefixCache.prefill). */
  context(state: KVState, lastLogits: Float32Array): LMContext {
    const ctx: OnnxContext = { state, next: logSoftmax(lastLogits), length: state.nextPos[0] };
    return ctx;
  }

  async start(ids: number[], signal?: AbortSignal): Promise<LMContext> {
    const t0 = performance.now();
    const r = await this.model.forward(null, [ids], { signal });
    this.count(ids.length, t0);
    return this.context(r.state, r.logits[0][0]);
  }

  async branch(ctx: LMContext, ids: number[], signal?: AbortSignal): Promise<BranchOut> {
    const c = ctx as OnnxContext;
    let past = c.state;
    if (past.length - past.nextPos[0] > MAX_DEAD_SLOTS) {
      past = await past.compactAsync();
      c.state = past; // same tokens, fewer slots
    }
    const t0 = performance.now();
    const r = await this.model.forward(past, [ids], { allLogits: true, signal });
    this.count(ids.length, t0);
    const nexts = r.logits[0].map((l) => logSoftmax(l));
    const stepLogp = ids.map((id, i) => (i === 0 ? c.next[id] : nexts[i - 1][id]));
    const S = past.length;
    const state = r.state;
    return {
      stepLogp,
      nexts,
      extend: (m: number): LMContext => {
        if (!(m >= 1 && m <= ids.length)) throw new Error(`extend(${m}) outside 1..${ids.length}`);
        if (m === ids.length) return { state, next: nexts[m - 1], length: c.length + m } as OnnxContext;
        // Keep the first m branch tokens; mask out the rest (they stay as dead slots).
        const mask = state.mask.slice();
        mask.fill(0, S + m, S + ids.length);
        const view = state.withMask(mask, Int32Array.of(past.nextPos[0] + m));
        return { state: view, next: nexts[m - 1], length: c.length + m } as OnnxContext;
      },
    };
  }

  private count(tokens: number, t0: number): void {
    this.stats.forwards++;
    this.stats.forwardTokens += tokens;
    this.stats.forwardMs += performance.now() - t0;
  }
}
