// Reuses the KV of earlier prompts: when the user types one more character, the new prompt
// shares a long token prefix with the previous one and only the tail is recomputed.
//
// Entries are batch-1 KVStates without padding, LRU-bounded. KVState is immutable (forward
// returns new tensors), so a cached state can be handed to callers, who may extend it freely;
// the returned state is pinned (its dispose() is a no-op) because the cache owns it. On webgpu/cuda
// a returned state stays valid until the cache evicts it (eviction frees its device buffers).

import { BytefillError } from '../core/types';
import { KVState } from './kv-state';
import { OnnxModel } from './onnx-model';

interface Entry {
  tokens: number[];
  state: KVState;
  lastLogits: Float32Array;
}

export interface PrefillResult {
  state: KVState;
  lastLogits: Float32Array;
  /** Tokens whose KV came from the cache. */
  reused: number;
}

function commonPrefix(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

export class PrefixCache {
  readonly maxEntries: number;
  /** Most recently used last. */
  private entries: Entry[] = [];

  constructor(
    readonly model: OnnxModel,
    opts: { maxEntries?: number } = {},
  ) {
    this.maxEntries = Math.max(1, opts.maxEntries ?? 4);
  }

  get size(): number {
    return this.entries.length;
  }

  async prefill(tokens: number[], signal?: AbortSignal): Promise<PrefillResult> {
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
    if (best && bestLen === tokens.length && best.tokens.length === tokens.length) {
      this.touch(best);
      return { state: best.state, lastLogits: best.lastLogits.slice(), reused: bestLen };
    }
    // Keep at least one token to run, so the last position's logits exist.
    const keep = Math.min(bestLen, tokens.length - 1);
    let past: KVState | null = null;
    if (best && keep > 0) {
      // On a GPU provider the truncated copy is made on the device (no download).
      past = await best.state.truncateAsync(keep);
      this.touch(best);
    }
    const { state, logits } = await this.model.forward(past, [tokens.slice(keep)], { signal });
    const lastLogits = logits[0][0];
    state.pinned = true;
    // An entry whose tokens are a prefix of the new prompt is dominated by the new entry.
    this.entries = this.entries.filter((e) => {
      const dominated = e.tokens.length < tokens.length && commonPrefix(e.tokens, tokens) === e.tokens.length;
      if (dominated) e.state.release();
      return !dominated;
    });
    this.entries.push({ tokens: tokens.slice(), state, lastLogits });
    while (this.entries.length > this.maxEntries) this.entries.shift()!.state.release();
    // Copies of the logits: callers may transform them in place.
    return { state, lastLogits: lastLogits.slice(), reused: past ? keep : 0 };
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
  }
}
