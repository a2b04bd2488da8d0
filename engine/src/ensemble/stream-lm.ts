// The language-model side of a byte stream: a fixed context (KV state + next-token distribution)
// and short token branches scored on top of it. Every branch runs as its own batch-1 forward on
// the context's KV state (no copy of the context: forward's present outputs are fresh tensors and
// KVState is immutable), with the logits of every branch position, so all prefixes of a branch
// are scored at once. A branch can be turned into a new context (commit) without another
// forward: the branch's KV state with the slots after the kept tokens masked out.
import * as ort from '../model/ort';
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
      past = compact(past.onDevice ? await past.toHost() : past);
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
        const view = new KVState(state.shape, 1, state.length, mask, Int32Array.of(past.nextPos[0] + m), state.tensors);
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

/** Batch-1 state without its masked slots (positions are unchanged: they live in the keys). */
export function compact(st: KVState): KVState {
  const S = st.length;
  const keep: number[] = [];
  for (let s = 0; s < S; s++) if (st.mask[s]) keep.push(s);
  if (keep.length === S) return st;
  const { numKvHeads: H, headDim: D, dtype } = st.shape;
  const N = keep.length;
  const tensors = st.tensors.map((t) => {
    const src = t.data as Float32Array | Uint16Array;
    const dst = dtype === 'float16' ? new Uint16Array(H * N * D) : new Float32Array(H * N * D);
    for (let h = 0; h < H; h++) {
      let o = h * N * D;
      for (const s of keep) {
        const i = (h * S + s) * D;
        dst.set(src.subarray(i, i + D), o);
        o += D;
      }
    }
    return new ort.Tensor(dtype, dst, [1, H, N, D]);
  });
  return new KVState(st.shape, 1, N, new Uint8Array(N).fill(1), Int32Array.of(st.nextPos[0]), tensors);
}
