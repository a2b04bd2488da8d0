// The messages between an ensemble member's worker thread (member-worker.ts) and the BranchLM that
// speaks for it on the decoding thread (worker-lm.ts). Contexts and scored branch sets live in the
// worker; the decoding thread holds numbers (handles) for them, chosen by the decoding thread so
// that extend() can name its new context without waiting for a reply (messages arrive in order).
import { LMStats } from '../byte/lm';
import { LogDist, MassPlan } from '../byte/log-dist';
import type { PrefixCacheStats } from '../model/prefix-cache';

/** How the worker loads the member: the same ModelBundle.load options as the engine's bundle. */
export interface MemberLoad {
  dir: string;
  /** The bundle's ONNX file (a path), so that both load the same graph. */
  variant: string;
  threads?: number;
  int8Activations?: boolean;
  kvCacheMB?: number;
  prefillChunkTokens?: number;
}

export type MemberCall =
  /** A context from the prompt through the member's prefix cache. */
  | { op: 'prefill'; id: number; session: number; h: number; ids: number[] }
  | { op: 'start'; id: number; session: number; h: number; ids: number[] }
  /** Scores branches on context h; the scored set is kept as `set` for extend. */
  | { op: 'score'; id: number; session: number; h: number; set: number; branches: number[][] }
  /** Prefills the prompt into the worker's prefix cache (a warm-up); keeps no context. */
  | { op: 'warm'; id: number; ids: number[] }
  | { op: 'count'; id: number };

export type MemberNote =
  /** Context h = the first m tokens of branch i of scored set `set` (no reply). */
  | { op: 'extend'; session: number; set: number; i: number; m: number; h: number }
  /** Contexts and scored sets no longer referenced by the decoding thread (no reply). */
  | { op: 'release'; session: number; handles: number[] }
  /** Stops prefill or warm-up `id` between its prefill chunks (it then fails with ABORTED; no reply). */
  | { op: 'cancel'; id: number }
  /** Everything of a session: the completion ended (no reply). */
  | { op: 'close'; session: number }
  /** The byte layer's probability blocks (VocabIndex's, sent once): later distributions come with their sums. */
  | { op: 'plan'; blockOf: Uint16Array; count: number };

export type MemberRequest = MemberCall | MemberNote;

export type MemberReply =
  /** cache: the worker's prefix cache after the call (the engine's status reports it). */
  | { id: number; ok: true; stats: LMStats; cache?: PrefixCacheStats; next?: PackedDists; length?: number; reused?: number; computed?: number; scored?: ScoredSet; held?: number }
  | { id: number; ok: false; code: string; message: string };

/**
 * Next-token distributions in one transferable buffer: entry j is the logits
 * logits[j * vocab .. (j + 1) * vocab) with their max and Σ exp(logits - max) (byte/log-dist.ts):
 * half the bytes of the log-probabilities, and the decoding thread's mass pass reads the logits.
 */
export interface PackedDists {
  vocab: number;
  logits: Float32Array;
  max: Float64Array;
  sum: Float64Array;
  /**
   * Entry j's Σ exp(logits - max) by block of the plan the worker was sent:
   * blockSums[j * blockCount .. (j + 1) * blockCount), summed in the worker's exp pass (so the
   * decoding thread's PrefixMass makes no pass of its own). Absent when some entry lacks them
   * (computed before the plan arrived).
   */
  blockSums?: Float64Array;
  blockCount?: number;
}

/** A scored branch set: its distinct next-token distributions, packed once. */
export interface ScoredSet {
  dists: PackedDists;
  /** nexts[i][j]: index into dists of branch i's j-th next distribution. */
  nexts: number[][];
}

/** Packs an ONNX LM's distributions (Float32 logits, so nothing is rounded) with their block sums when all have them. */
export function packDists(dists: readonly LogDist[], vocab: number): PackedDists {
  const p: PackedDists = { vocab, logits: new Float32Array(dists.length * vocab), max: new Float64Array(dists.length), sum: new Float64Array(dists.length) };
  const count = dists[0]?.blockSums?.length ?? 0;
  const blocked = count > 0 && dists.every((d) => d.blockSums?.length === count);
  if (blocked) {
    p.blockSums = new Float64Array(dists.length * count);
    p.blockCount = count;
  }
  dists.forEach((d, j) => {
    p.logits.set(d.logits, j * vocab);
    p.max[j] = d.max;
    p.sum[j] = d.sum;
    if (blocked) p.blockSums!.set(d.blockSums!, j * count);
  });
  return p;
}

/** The transferable buffers of packed distributions. */
export function packedBuffers(p: PackedDists): ArrayBuffer[] {
  return p.blockSums ? [p.logits.buffer as ArrayBuffer, p.blockSums.buffer as ArrayBuffer] : [p.logits.buffer as ArrayBuffer];
}

/**
 * The distributions on the decoding thread. plan: the member's blocks there (what the byte layer
 * sets on first use, and the worker was sent); block sums are attached when they are by its blocks.
 */
export function unpackDists(p: PackedDists, plan?: MassPlan): LogDist[] {
  const sums = p.blockSums && plan?.blockOf && p.blockCount === plan.count ? p.blockSums : undefined;
  const c = p.blockCount ?? 0;
  const blockOf = sums ? plan!.blockOf! : undefined;
  return Array.from(p.max, (max, j) => new LogDist(p.logits.subarray(j * p.vocab, (j + 1) * p.vocab), max, p.sum[j], sums?.subarray(j * c, (j + 1) * c), blockOf, plan));
}

/** Sent once the model is loaded. */
export interface MemberReady {
  ready: true;
  vocabSize: number;
  maxPositions: number;
  cache: PrefixCacheStats;
}
