// Reuses the KV of earlier prompts: when the user types one more character, the new prompt
// shares a long token prefix with the previous one and only the tail is recomputed.
//
// Entries are batch-1 KVStates without padding, LRU-bounded in entries and in bytes (the bytes
// follow from the model's shape: layers x KV heads x head size x 2 (key, value) x bytes per
// element, per token). KVState is immutable (forward returns new tensors), so a cached state can
// be handed to callers, who may extend it freely; the returned state is pinned (its dispose() is
// a no-op) because the cache owns it. On webgpu/cuda a returned state stays valid until the cache
// evicts it (eviction frees its device buffers).
//
// Prefill runs in chunks of `chunkTokens` and yields to the event loop between chunks, so a
// cancellation (a newer keystroke) lands within one chunk. The KV computed before the cancel is
// kept as an entry: the next prompt that still starts with those tokens continues from it.

import { BytefillError } from '../core/types';
import { DEFAULT_KV_CACHE_MB, DEFAULT_PREFILL_CHUNK } from '../core/defaults';
import { KVState, KVShape } from './kv-state';
import { OnnxModel } from './onnx-model';
import { yieldToEventLoop } from './event-loop';

interface Entry {
  tokens: number[];
  state: KVState;
  lastLogits: Float32Array;
  bytes: number;
}

export interface PrefillResult {
  state: KVState;
  lastLogits: Float32Array;
  /** Tokens whose KV came from the cache. */
  reused: number;
  /** Tokens run through the model by this call. */
  computed: number;
}

export interface PrefillOptions {
  signal?: AbortSignal;
  /** Called after each chunk with the prompt tokens done so far (progress, tests). */
  onChunk?: (done: number, total: number) => void;
}

export interface PrefixCacheStats {
  entries: number;
  /** Bytes held by the entries (KV + last logits). */
  bytes: number;
  maxBytes: number;
  maxEntries: number;
  /** KV bytes one token of context costs in this model. */
  bytesPerToken: number;
  chunkTokens: number;
  /** Since load: prefill calls, those that ran nothing (whole prompt cached), prompt tokens reused from the cache and computed. */
  prefills: number;
  fullHits: number;
  reusedTokens: number;
  computedTokens: number;
}


/** KV bytes per token of context: layers x KV heads x head size x 2 (key and value) x element size. */
export function kvBytesPerToken(shape: Pick<KVShape, 'numLayers' | 'numKvHeads' | 'headDim' | 'dtype'>): number {
  return shape.numLayers * shape.numKvHeads * shape.headDim * 2 * (shape.dtype === 'float16' ? 2 : 4);
}

function commonPrefix(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

export class PrefixCache {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly chunkTokens: number;
  readonly bytesPerToken: number;
  /** Most recently used last. */
  private entries: Entry[] = [];
  private totalBytes = 0;
  /** Hit counters (see PrefixCacheStats). */
  private counters = { prefills: 0, fullHits: 0, reusedTokens: 0, computedTokens: 0 };

  constructor(
    readonly model: OnnxModel,
    opts: { maxEntries?: number; maxBytes?: number; chunkTokens?: number } = {},
  ) {
    this.maxEntries = Math.max(1, opts.maxEntries ?? 4);
    this.maxBytes = Math.max(0, opts.maxBytes ?? DEFAULT_KV_CACHE_MB * 2 ** 20);
    this.chunkTokens = Math.max(1, Math.floor(opts.chunkTokens ?? DEFAULT_PREFILL_CHUNK));
    const c = model.config;
    this.bytesPerToken = kvBytesPerToken({ numLayers: c.numLayers, numKvHeads: c.numKvHeads, headDim: c.headDim, dtype: model.kvDType });
  }

  get size(): number {
    return this.entries.length;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  stats(): PrefixCacheStats {
    return {
      entries: this.entries.length,
      bytes: this.totalBytes,
      maxBytes: this.maxBytes,
      maxEntries: this.maxEntries,
      bytesPerToken: this.bytesPerToken,
      chunkTokens: this.chunkTokens,
      ...this.counters,
    };
  }

  /** Bytes an entry of `tokens` costs: its KV plus the saved last-position logits. */
  entryBytes(tokens: number): number {
    return tokens * this.bytesPerToken + this.model.config.vocabSize * 4;
  }

  async prefill(tokens: number[], opts: PrefillOptions | AbortSignal = {}): Promise<PrefillResult> {
    const o: PrefillOptions = opts instanceof AbortSignal ? { signal: opts } : opts;
    const signal = o.signal;
    if (tokens.length === 0) throw new BytefillError('BAD_ARGUMENT', 'PrefixCache.prefill needs at least one token');
    if (signal?.aborted) throw new BytefillError('ABORTED', 'Prefill aborted before it ran');
    let best: Entry | undefined;
    let bestLen = 0;
    for (const e of this.entries) {
      const l = commonPrefix(e.tokens, tokens);
      if (l > bestLen) {
        best = e;
        bestLen = l;
      }
    }
    // Same prompt again: nothing to compute.
    this.counters.prefills++;
    if (best && bestLen === tokens.length && best.tokens.length === tokens.length) {
      this.counters.fullHits++;
      this.counters.reusedTokens += bestLen;
      this.touch(best);
      return { state: best.state, lastLogits: best.lastLogits.slice(), reused: bestLen, computed: 0 };
    }
    // Keep at least one token to run, so the last position's logits exist.
    const keep = Math.min(bestLen, tokens.length - 1);
    let past: KVState | null = null;
    if (best && keep > 0) {
      // On a GPU provider the truncated copy is made on the device (no download).
      past = await best.state.truncateAsync(keep);
      this.touch(best);
      this.counters.reusedTokens += keep;
    }
    let state = past;
    let lastLogits: Float32Array | null = null;
    let done = keep;
    while (done < tokens.length) {
      if (signal?.aborted) {
        // Keep what was computed: the next keystroke's prompt most likely starts with it.
        if (state && lastLogits && done > keep) this.store(tokens.slice(0, done), state, lastLogits);
        throw new BytefillError('ABORTED', `Prefill aborted after ${done - keep} of ${tokens.length - keep} tokens`);
      }
      const end = Math.min(tokens.length, done + this.chunkTokens);
      const r = await this.model.forward(state, [tokens.slice(done, end)]);
      this.counters.computedTokens += end - done;
      if (state && state !== past) state.dispose();
      state = r.state;
      lastLogits = r.logits[0][0];
      done = end;
      o.onChunk?.(done, tokens.length);
      if (done < tokens.length) await yieldToEventLoop();
    }
    this.store(tokens.slice(), state!, lastLogits!);
    // Copies of the logits: callers may transform them in place.
    return { state: state!, lastLogits: lastLogits!.slice(), reused: past ? keep : 0, computed: tokens.length - keep };
  }

  private store(tokens: number[], state: KVState, lastLogits: Float32Array): void {
    state.pinned = true;
    const bytes = this.entryBytes(tokens.length);
    // An entry whose tokens are a prefix of the new prompt is dominated by the new entry.
    this.entries = this.entries.filter((e) => {
      const dominated = e.tokens.length < tokens.length && commonPrefix(e.tokens, tokens) === e.tokens.length;
      if (dominated) this.drop(e);
      return !dominated;
    });
    // Larger than the whole budget: not kept (the caller still gets its state).
    if (bytes > this.maxBytes) return;
    this.entries.push({ tokens, state, lastLogits, bytes });
    this.totalBytes += bytes;
    while (this.entries.length > this.maxEntries || this.totalBytes > this.maxBytes) this.drop(this.entries.shift()!);
  }

  private drop(e: Entry): void {
    this.totalBytes -= e.bytes;
    e.state.release();
  }

  private touch(e: Entry): void {
    const i = this.entries.indexOf(e);
    if (i >= 0 && i !== this.entries.length - 1) {
      this.entries.splice(i, 1);
      this.entries.push(e);
    }
  }

  clear(): void {
    for (const e of this.entries) e.state.release();
    this.entries = [];
    this.totalBytes = 0;
  }
}
