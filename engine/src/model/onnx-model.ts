// A decoder model in the Hugging Face ONNX layout, run with onnxruntime-node.
//
// forward() appends one segment of tokens per row to a KVState and returns a new KVState (the
// `present.*` outputs) and logits. Rows of unequal length are left-padded inside the segment.
//
// Note: onnxruntime-node runs the graph synchronously on the calling JS thread (inside a
// setImmediate), so a forward blocks the event loop for its duration and an AbortSignal can only
// be honoured between calls. Run the engine in a worker_thread to keep a server responsive.

import * as path from 'node:path';
import * as ort from './ort';
import { BytefillError, Device, Logger, Provider } from '../core/types';
import { findOnnxFile, loadModelConfig, ModelConfig } from './config';
import { KVDType, KVShape, KVState } from './kv-state';
import { DeviceKV } from './device-kv';
import { prepareKeepLogitsGraph } from './logits-rewrite';
import { int8ActivationsOn, prepareInt8ActivationGraph } from './int8-activations';
import { mergeMatMulOn, prepareMergedMatMulGraph } from './merge-matmul';
import { CpuTuning, createSession } from './session';
import { prepareTreeMaskGraph, TREE_MASK_INPUT } from './tree-mask-rewrite';

export interface LoadOptions {
  device?: Device;
  /** ONNX file in onnx/: undefined (model.onnx), 'quantized', 'fp16', 'name.onnx' or a path. */
  variant?: string;
  threads?: number;
  log?: Logger;
  /** Display name (default: the folder's name). */
  name?: string;
  /**
   * Rewrite a graph that computes logits for every position so that it computes only the ones
   * asked for (see logits-rewrite.ts); the rewritten graph is cached. Default true
   * (environment BYTEFILL_REWRITE_LOGITS=0 turns it off).
   */
  rewriteLogits?: boolean;
  /**
   * On the CPU provider, load 4-bit MatMulNBits nodes at accuracy_level 4 (int8 activations, integer
   * kernels) where the graph leaves it at 0 (see int8-activations.ts); cached. Default true
   * (environment BYTEFILL_INT8_ACTIVATIONS=0 turns it off).
   */
  int8Activations?: boolean;
  /**
   * On the CPU provider, merge the small 4-bit MatMulNBits nodes that read the same input (q/k/v)
   * into one node and a Split (see merge-matmul.ts); cached. Default false (environment
   * BYTEFILL_MERGE_MATMUL=1 turns it on): a faster decode step, a larger peak RSS.
   */
  mergeMatMul?: boolean;
  /** Save onnxruntime's optimised graph and load it next time (optimized-cache.ts). Default true (BYTEFILL_CACHE_OPTIMIZED=0: off). */
  cacheOptimized?: boolean;
  /** Graph optimisation level (default 'all'); anything else loads without the optimised-graph cache. */
  optimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** onnxruntime CPU memory / thread-pool options. */
  cpu?: CpuTuning;
}

/** Input names of the "keep only the last k positions' logits" scalar that exports use. */
export const LOGITS_TO_KEEP_INPUTS = ['num_logits_to_keep', 'logits_to_keep'];

export interface ForwardOptions {
  /** Logits of every real token of each row (default: only the last real token's). */
  allLogits?: boolean;
  signal?: AbortSignal;
}

/** forwardTree's result: the state holds the past then the tree's tokens (slot S + t is token t). */
export interface TreeForwardResult {
  /** Batch 1, S + T slots; its mask is the past's (tree slots masked out): see pathState. */
  state: KVState;
  /** logits[t]: after the past and the path from the root to token t. */
  logits: Float32Array[];
}

export interface ForwardResult {
  state: KVState;
  /** logits[b]: one Float32Array(V) per real token of row b (allLogits) or just the last; [] for an empty row. */
  logits: Float32Array[][];
}

type IntType = 'int64' | 'int32';

// float16 -> float32 through a 64K-entry table (logits of fp16 models).
let halfTable: Float32Array | undefined;
function halfToFloat(src: Uint16Array, dst: Float32Array): void {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) {
      const s = h & 0x8000 ? -1 : 1;
      const e = (h >> 10) & 0x1f;
      const m = h & 0x3ff;
      halfTable[h] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
    }
  }
  for (let i = 0; i < src.length; i++) dst[i] = halfTable[src[i]];
}

/**
 * The CPU provider's rewrites of a graph derived from the model file `source` (integer
 * activations, then merged MatMulNBits nodes), or undefined when both are off.
 */
function cpuGraph(source: string, opts: LoadOptions): ((file: string) => string) | undefined {
  const int8 = int8ActivationsOn(opts.int8Activations);
  const merge = mergeMatMulOn(opts.mergeMatMul);
  if (!int8 && !merge) return undefined;
  return (f) => {
    const a = int8 ? prepareInt8ActivationGraph(f, opts.log, source).file : f;
    return merge ? prepareMergedMatMulGraph(a, opts.log, source).file : a;
  };
}

function errMsg(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 300);
}

export class OnnxModel {
  private readonly kvShape: KVShape;
  private readonly idType: IntType;
  private readonly maskType: IntType;
  private readonly hasPositionIds: boolean;
  private readonly hasCacheBranch: boolean;
  private readonly logitsType: KVDType;
  /** Operations on device-resident KV (GPU providers only). */
  private readonly deviceKV?: DeviceKV;
  /** The graph's input that limits the positions whose logits are computed, if it has one. */
  private readonly keepInput?: { name: string; type: IntType; dims: number[] };
  /** The graph computes logits for its last position only ([B,1,V]): all-position requests run token by token. */
  private lastOnly: boolean;
  /** Ids whose logits are forced to -Infinity (padding rows of the embedding: no token). */
  private banned = new Int32Array(0);
  private disposed = false;
  /** The tree-mask session (forwardTree): loaded on first use; null when the graph cannot take one. */
  private tree?: Promise<ort.InferenceSession | null>;
  /** How load() made the session, for the tree-mask one. */
  private treeSource?: { threads?: number; log?: Logger; cpu?: CpuTuning; cpuFile?: (file: string) => string };

  private constructor(
    readonly dir: string,
    readonly name: string,
    readonly config: ModelConfig,
    readonly provider: Provider,
    readonly file: string,
    private readonly session: ort.InferenceSession,
  ) {
    const meta = new Map<string, ort.InferenceSession.ValueMetadata>();
    for (const m of [...session.inputMetadata, ...session.outputMetadata]) meta.set(m.name, m);
    const typeOf = (n: string): string | undefined => {
      const m = meta.get(n);
      return m && m.isTensor ? m.type : undefined;
    };

    // Check the layout against the config and name what differs.
    const L = config.numLayers;
    const needIn = ['input_ids', 'attention_mask'];
    const needOut = ['logits'];
    for (let i = 0; i < L; i++) {
      needIn.push(`past_key_values.${i}.key`, `past_key_values.${i}.value`);
      needOut.push(`present.${i}.key`, `present.${i}.value`);
    }
    const missIn = needIn.filter((n) => !session.inputNames.includes(n));
    const missOut = needOut.filter((n) => !session.outputNames.includes(n));
    const known = new Set([...needIn, 'position_ids', 'use_cache_branch', ...LOGITS_TO_KEEP_INPUTS]);
    const extraIn = session.inputNames.filter((n) => !known.has(n));
    if (missIn.length || missOut.length || extraIn.length) {
      const parts: string[] = [];
      if (missIn.length) parts.push(`missing inputs ${missIn.slice(0, 6).join(', ')}${missIn.length > 6 ? ', ...' : ''}`);
      if (missOut.length) parts.push(`missing outputs ${missOut.slice(0, 6).join(', ')}${missOut.length > 6 ? ', ...' : ''}`);
      if (extraIn.length) parts.push(`unexpected inputs ${extraIn.join(', ')}`);
      throw new BytefillError('MODEL_INVALID', `Model layout not supported: ${file} (${config.numLayers} layers in config.json): ${parts.join('; ')}`);
    }
    this.hasPositionIds = session.inputNames.includes('position_ids');
    this.hasCacheBranch = session.inputNames.includes('use_cache_branch');
    const intType = (n: string): IntType => (typeOf(n) === 'int32' ? 'int32' : 'int64');
    this.idType = intType('input_ids');
    this.maskType = intType('attention_mask');

    const pastType = typeOf('past_key_values.0.key');
    if (pastType !== 'float32' && pastType !== 'float16') {
      throw new BytefillError('MODEL_INVALID', `Model layout not supported: ${file}: past_key_values dtype ${pastType} (float32 or float16 expected)`);
    }
    const lt = typeOf('logits');
    if (lt !== 'float32' && lt !== 'float16') throw new BytefillError('MODEL_INVALID', `Model layout not supported: ${file}: logits dtype ${lt}`);
    this.logitsType = lt;

    // (The logits width is checked against config.json's vocab_size below and at run time.)
    const ldims = (meta.get('logits') as { shape?: ReadonlyArray<number | string> } | undefined)?.shape ?? [];
    this.lastOnly = ldims[1] === 1;
    const keepName = LOGITS_TO_KEEP_INPUTS.find((n) => session.inputNames.includes(n));
    if (keepName) {
      const kd = (meta.get(keepName) as { shape?: ReadonlyArray<number | string> } | undefined)?.shape ?? [];
      this.keepInput = { name: keepName, type: intType(keepName), dims: kd.length === 1 ? [1] : [] };
    }

    // Where the graph states fixed KV dims, they must agree with config.json.
    const shp = meta.get('past_key_values.0.key') as { shape?: ReadonlyArray<number | string> } | undefined;
    const dims = shp?.shape ?? [];
    if (typeof dims[1] === 'number' && dims[1] !== config.numKvHeads) {
      throw new BytefillError('MODEL_INVALID', `Model config mismatch: ${file} has ${dims[1]} KV heads, config.json says ${config.numKvHeads}`);
    }
    if (typeof dims[3] === 'number' && dims[3] !== config.headDim) {
      throw new BytefillError('MODEL_INVALID', `Model config mismatch: ${file} has head size ${dims[3]}, config.json says ${config.headDim}`);
    }
    // The logits' last dim, when fixed, is the vocabulary config.json declares.
    const lshape = (meta.get('logits') as { shape?: ReadonlyArray<number | string> } | undefined)?.shape ?? [];
    const lv = lshape[lshape.length - 1];
    if (typeof lv === 'number' && lv !== config.vocabSize) {
      throw new BytefillError('MODEL_INVALID', `Model config mismatch: ${file} has ${lv} logits per position, config.json says "vocab_size" ${config.vocabSize}`);
    }
    this.kvShape = { numLayers: L, numKvHeads: config.numKvHeads, headDim: config.headDim, dtype: pastType };
    if (provider === 'webgpu') this.deviceKV = new DeviceKV(provider, this.kvShape);
  }

  static async load(dir: string, opts: LoadOptions = {}): Promise<OnnxModel> {
    const abs = path.resolve(dir);
    const config = loadModelConfig(abs);
    const file = findOnnxFile(abs, opts.variant);
    const presents: string[] = [];
    for (let i = 0; i < config.numLayers; i++) presents.push(`present.${i}.key`, `present.${i}.value`);
    // A graph that computes every position's logits is rewritten to compute only those asked for.
    let runFile = file;
    if (opts.rewriteLogits ?? process.env.BYTEFILL_REWRITE_LOGITS !== '0') {
      try {
        runFile = prepareKeepLogitsGraph(file, opts.log).file;
      } catch (e) {
        opts.log?.('warn', `could not rewrite ${file} to compute only the last logits (${errMsg(e)}); using it as it is`);
      }
    }
    const cpuFile = cpuGraph(file, opts);
    const { session, provider } = await createSession(runFile, {
      device: opts.device,
      threads: opts.threads,
      log: opts.log,
      deviceOutputs: presents,
      hostOutputs: ['logits'],
      cacheOptimized: (opts.optimizationLevel ?? 'all') === 'all' && (opts.cacheOptimized ?? process.env.BYTEFILL_CACHE_OPTIMIZED !== '0'),
      optimizationLevel: opts.optimizationLevel,
      cpu: opts.cpu,
      cpuFile,
    });
    try {
      const m = new OnnxModel(abs, opts.name ?? path.basename(abs), config, provider, file, session);
      m.treeSource = { threads: opts.threads, log: opts.log, cpu: opts.cpu, cpuFile };
      return m;
    } catch (e) {
      await session.release().catch(() => undefined);
      throw e;
    }
  }

  /** Whether the graph has a logits-to-keep input (only the positions asked for are computed). */
  get limitsLogits(): boolean {
    return this.keepInput !== undefined;
  }

  /** Ids that must never be produced (e.g. embedding rows beyond the tokenizer): their logits become -Infinity. */
  setBannedIds(ids: ArrayLike<number>): void {
    const V = this.config.vocabSize;
    for (let i = 0; i < ids.length; i++) {
      if (!Number.isInteger(ids[i]) || ids[i] < 0 || ids[i] >= V) throw new BytefillError('BAD_ARGUMENT', `setBannedIds: id ${ids[i]} out of range [0, ${V})`);
    }
    this.banned = Int32Array.from(ids);
  }

  get kvDType(): KVDType {
    return this.kvShape.dtype;
  }

  emptyState(batch: number): KVState {
    return KVState.empty(this.kvShape, batch);
  }

  private intTensor(type: IntType, values: ArrayLike<number>, dims: number[]): ort.Tensor {
    if (type === 'int32') return new ort.Tensor('int32', Int32Array.from(values), dims);
    const a = new BigInt64Array(values.length);
    for (let i = 0; i < values.length; i++) a[i] = BigInt(values[i]);
    return new ort.Tensor('int64', a, dims);
  }

  async forward(past: KVState | null, rows: number[][], opts: ForwardOptions = {}): Promise<ForwardResult> {
    if (opts.signal?.aborted) throw new BytefillError('ABORTED', 'Model forward aborted before it ran');
    if (this.disposed) {
      // On a GPU provider a released model is a device that went away: DEVICE_FAILED lets the
      // engine move to the CPU.
      throw new BytefillError(this.provider === 'cpu' ? 'BAD_ARGUMENT' : 'DEVICE_FAILED', `Model ${this.name} was disposed`);
    }
    const B = rows.length;
    if (B === 0) throw new BytefillError('BAD_ARGUMENT', 'forward needs at least one row');
    const st = past ?? this.emptyState(B);
    if (st.batch !== B) throw new BytefillError('BAD_ARGUMENT', `forward: past has batch ${st.batch} but ${B} rows were given`);
    const V = this.config.vocabSize;
    const maxPos = this.config.maxPositions;
    let T = 0;
    for (let b = 0; b < B; b++) {
      const r = rows[b];
      for (const id of r) {
        if (!Number.isInteger(id) || id < 0 || id >= V) throw new BytefillError('BAD_ARGUMENT', `Token id ${id} out of range [0, ${V}) for model ${this.name}`);
      }
      if (st.nextPos[b] + r.length > maxPos) {
        throw new BytefillError('BAD_ARGUMENT', `Sequence too long for model ${this.name}: ${st.nextPos[b]} + ${r.length} tokens > max ${maxPos} positions`);
      }
      T = Math.max(T, r.length);
    }
    if (T === 0) return { state: st, logits: rows.map(() => []) };
    // A last-position-only graph cannot give every position's logits in one run.
    if (opts.allLogits && T > 1 && this.lastOnly && !this.keepInput) return this.forwardByColumns(st, rows, T, opts);

    const S = st.length;
    const N = S + T;
    const ids = new Array<number>(B * T).fill(0);
    const pos = new Array<number>(B * T).fill(0);
    const mask = new Uint8Array(B * N);
    const nextPos = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      const r = rows[b];
      const pad = T - r.length;
      const p0 = st.nextPos[b];
      mask.set(st.mask.subarray(b * S, (b + 1) * S), b * N);
      for (let t = 0; t < T; t++) {
        if (t < pad) {
          // Padding: masked out; any valid position id will do.
          pos[b * T + t] = Math.min(p0, maxPos - 1);
        } else {
          ids[b * T + t] = r[t - pad];
          pos[b * T + t] = p0 + t - pad;
          mask[b * N + S + t] = 1;
        }
      }
      nextPos[b] = p0 + r.length;
    }

    const feeds: Record<string, ort.Tensor> = {
      input_ids: this.intTensor(this.idType, ids, [B, T]),
      attention_mask: this.intTensor(this.maskType, mask, [B, N]),
    };
    if (this.hasPositionIds) feeds.position_ids = this.intTensor(this.idType, pos, [B, T]);
    this.addStateFeeds(feeds, st, opts.allLogits ? T : 1);

    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await this.session.run(feeds);
    } catch (e) {
      // On a GPU provider a failing run is a device failure (lost device, released session): the
      // engine falls back to the CPU on DEVICE_FAILED. On the CPU it means a broken model.
      const code = this.provider === 'cpu' ? 'MODEL_INVALID' : 'DEVICE_FAILED';
      this.deviceKV?.markFailed();
      throw new BytefillError(code, `onnxruntime failed running ${this.name} on ${this.provider} (batch ${B}, ${T} new tokens, ${S} past slots): ${errMsg(e)}`);
    }

    const state = new KVState(this.kvShape, B, N, mask, nextPos, this.presentTensors(out), this.deviceKV);
    const all = this.hostLogits(out);
    // The graph may give every position (Tk = T), the last one only (Tk = 1), or what was kept.
    const Tk = all.length / (B * V);
    if (!Number.isInteger(Tk) || Tk < 1 || Tk > T) {
      throw new BytefillError(
        'MODEL_INVALID',
        `Model config mismatch: ${this.file} returned ${all.length} logits for batch ${B} x ${T} positions, which is not a whole number of rows of vocab_size ${V} (config.json)`,
      );
    }
    if (Tk < T && opts.allLogits) {
      if (this.keepInput) throw new BytefillError('MODEL_INVALID', `Model ${this.name} returned ${Tk} positions of logits where ${this.keepInput.name} asked for ${T}`);
      // Learned at run time (the graph's output shape did not say): replay position by position.
      this.lastOnly = true;
      return this.forwardByColumns(st, rows, T, opts);
    }
    const logits: Float32Array[][] = [];
    for (let b = 0; b < B; b++) {
      const n = rows[b].length;
      const row: Float32Array[] = [];
      // Position t of the segment is row (t - (T - Tk)) of this batch entry's logits.
      const at = (t: number) => (b * Tk + t - (T - Tk)) * V;
      if (opts.allLogits) {
        for (let t = T - n; t < T; t++) row.push(this.ban(all.subarray(at(t), at(t) + V)));
      } else if (n > 0) {
        // A copy, so the caller does not keep the whole [B,T,V] buffer alive.
        row.push(this.ban(all.slice(at(T - 1), at(T - 1) + V)));
      }
      logits.push(row);
    }
    return { state, logits };
  }

  /**
   * Whether forwardTree can run: a CPU model whose graph takes a tree mask (tree-mask-rewrite.ts).
   * The first call loads that second session (the graph's weights once more in memory).
   */
  async treeSupported(): Promise<boolean> {
    if (this.provider !== 'cpu' || !this.treeSource) return false;
    this.tree ??= (async () => {
      const log = this.treeSource!.log;
      const g = prepareTreeMaskGraph(this.file, log);
      if (!g.rewritten) {
        log?.('info', `${this.name}: no tree-mask graph (${g.reason}); branches run as padded batches`);
        return null;
      }
      try {
        // The same activations as the model's own session, so both give the same logits.
        const src = this.treeSource!;
        return (await createSession(g.file, { device: 'cpu', threads: src.threads, log, hostOutputs: ['logits'], cpu: src.cpu, cpuFile: src.cpuFile })).session;
      } catch (e) {
        log?.('warn', `${this.name}: the tree-mask graph did not load (${errMsg(e)}); branches run as padded batches`);
        return null;
      }
    })();
    return (await this.tree) !== null;
  }

  /**
   * One forward of a token tree on a batch-1 past: token t follows the past and its ancestors
   * (parents[t] < t, or -1 for a child of the past), at position past.nextPos + its depth. The
   * tokens share one copy of the past (a padded batch would copy it per branch). Needs
   * treeSupported(). Same logits as a forward of each root-to-token path (up to float rounding).
   * With prefixSlots (a past without masked slots), a root token t follows only the first
   * prefixSlots[t] slots of the past, at the position after them: branches that leave a document's
   * tokens at different points run together on the document's own KV.
   */
  async forwardTree(past: KVState, tokens: number[], parents: number[], opts: { signal?: AbortSignal; prefixSlots?: readonly number[] } = {}): Promise<TreeForwardResult> {
    if (opts.signal?.aborted) throw new BytefillError('ABORTED', 'Model forward aborted before it ran');
    if (this.disposed) throw new BytefillError('BAD_ARGUMENT', `Model ${this.name} was disposed`);
    const session = this.tree ? await this.tree : null;
    if (!session) throw new BytefillError('UNSUPPORTED', `forwardTree: ${this.name} has no tree-mask graph (call treeSupported first)`);
    if (past.batch !== 1) throw new BytefillError('BAD_ARGUMENT', `forwardTree needs a batch-1 past (got ${past.batch})`);
    const T = tokens.length;
    if (T === 0 || parents.length !== T) throw new BytefillError('BAD_ARGUMENT', `forwardTree: ${T} tokens, ${parents.length} parents`);
    const V = this.config.vocabSize;
    const S = past.length;
    const N = S + T;
    const p0 = past.nextPos[0];
    const slots = opts.prefixSlots;
    if (slots && (slots.length !== T || past.mask.some((m) => m !== 1))) throw new BytefillError('BAD_ARGUMENT', `forwardTree: prefixSlots needs one entry per token and a past without masked slots`);
    // Position of each token (the past's slot i holds position p0 - S + i when none is masked).
    const pos = new Int32Array(T);
    const tree = new Uint8Array(T * N);
    for (let t = 0; t < T; t++) {
      const id = tokens[t];
      if (!Number.isInteger(id) || id < 0 || id >= V) throw new BytefillError('BAD_ARGUMENT', `Token id ${id} out of range [0, ${V}) for model ${this.name}`);
      const p = parents[t];
      if (!(Number.isInteger(p) && p >= -1 && p < t)) throw new BytefillError('BAD_ARGUMENT', `forwardTree: parent ${p} of token ${t} is not an earlier token`);
      const row = tree.subarray(t * N, (t + 1) * N);
      if (p >= 0) {
        // The parent's past slots and tree ancestors, and the parent itself.
        row.set(tree.subarray(p * N, p * N + S + p + 1));
        pos[t] = pos[p] + 1;
      } else if (slots) {
        // A root that follows only the first prefixSlots[t] slots of the past.
        const c = slots[t];
        if (!(Number.isInteger(c) && c >= 0 && c <= S)) throw new BytefillError('BAD_ARGUMENT', `forwardTree: prefixSlots ${c} of token ${t} outside 0..${S}`);
        row.fill(1, 0, c);
        pos[t] = p0 - S + c;
      } else {
        row.set(past.mask);
        pos[t] = p0;
      }
      row[S + t] = 1;
      if (pos[t] >= this.config.maxPositions) throw new BytefillError('BAD_ARGUMENT', `Sequence too long for model ${this.name}: position ${pos[t]} >= max ${this.config.maxPositions}`);
    }
    const mask = new Uint8Array(N);
    mask.set(past.mask);
    mask.fill(1, S);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: this.intTensor(this.idType, tokens, [1, T]),
      attention_mask: this.intTensor(this.maskType, mask, [1, N]),
      position_ids: this.intTensor(this.idType, Array.from(pos), [1, T]),
      [TREE_MASK_INPUT]: new ort.Tensor('bool', tree, [1, 1, T, N]),
    };
    this.addStateFeeds(feeds, past, T); // the tree-mask graph has the model's other inputs
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await session.run(feeds);
    } catch (e) {
      throw new BytefillError('MODEL_INVALID', `onnxruntime failed running the tree-mask graph of ${this.name} (${T} tree tokens, ${S} past slots): ${errMsg(e)}`);
    }
    const stateMask = new Uint8Array(N);
    stateMask.set(past.mask);
    const state = new KVState(this.kvShape, 1, N, stateMask, Int32Array.of(p0), this.presentTensors(out));
    const all = this.hostLogits(out);
    if (all.length !== T * V) throw new BytefillError('MODEL_INVALID', `the tree-mask graph of ${this.name} returned ${all.length} logits for ${T} positions of ${V}`);
    const logits: Float32Array[] = [];
    for (let t = 0; t < T; t++) logits.push(this.ban(all.subarray(t * V, (t + 1) * V)));
    return { state, logits };
  }

  /** The inputs a run takes beside its tokens and mask: the logits to keep, the cache branch, the past. */
  private addStateFeeds(feeds: Record<string, ort.Tensor>, past: KVState, keepLogits: number): void {
    if (this.keepInput) feeds[this.keepInput.name] = this.intTensor(this.keepInput.type, [keepLogits], this.keepInput.dims);
    if (this.hasCacheBranch) feeds.use_cache_branch = new ort.Tensor('bool', Uint8Array.of(past.length > 0 ? 1 : 0), [1]);
    for (let i = 0; i < this.config.numLayers; i++) {
      feeds[`past_key_values.${i}.key`] = past.tensors[2 * i];
      feeds[`past_key_values.${i}.value`] = past.tensors[2 * i + 1];
    }
  }

  private presentTensors(out: ort.InferenceSession.OnnxValueMapType): ort.Tensor[] {
    const tensors: ort.Tensor[] = [];
    for (let i = 0; i < this.config.numLayers; i++) tensors.push(out[`present.${i}.key`], out[`present.${i}.value`]);
    return tensors;
  }

  /**
   * A run's logits on the host (hostOutputs): float32 is used in place (subarray views), float16 is
   * converted once. (getData() on a device tensor would abort the process.)
   */
  private hostLogits(out: ort.InferenceSession.OnnxValueMapType): Float32Array {
    const lt = out.logits;
    if (lt.location !== 'cpu') throw new BytefillError('DEVICE_FAILED', `logits of ${this.name} came back on '${lt.location}', not on the CPU`);
    const raw = lt.data as Float32Array | Uint16Array;
    if (this.logitsType !== 'float16') return raw as Float32Array;
    const all = new Float32Array(raw.length);
    halfToFloat(raw as Uint16Array, all);
    return all;
  }

  private ban(v: Float32Array): Float32Array {
    const ids = this.banned;
    for (let i = 0; i < ids.length; i++) v[ids[i]] = -Infinity;
    return v;
  }

  /**
   * allLogits on a last-position-only graph: one run per position of the segment (rows still
   * left-padded: a row with nothing at column t gets a masked padding slot). Same logits as one
   * run of a full graph, at the cost of T runs.
   */
  private async forwardByColumns(st: KVState, rows: number[][], T: number, opts: ForwardOptions): Promise<ForwardResult> {
    const logits: Float32Array[][] = rows.map(() => []);
    let state = st;
    for (let t = 0; t < T; t++) {
      const col = rows.map((r) => (t < T - r.length ? [] : [r[t - (T - r.length)]]));
      const res = await this.forward(state, col, { signal: opts.signal });
      state = res.state;
      res.logits.forEach((l, b) => logits[b].push(...l));
    }
    return { state, logits };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.deviceKV?.dispose();
    await this.session.release();
    const tree = this.tree ? await this.tree : null;
    await tree?.release();
  }
}
