// The engine facade: load models once, complete many times. Requests run one at a time (the
// models are CPU-bound and share the prefix caches); a queued request whose signal fires before
// its turn returns at once. Warm-ups (prefix KV cache prefills) run at low priority: every other
// call cancels the warm-ups queued or running before it, so it waits at most for the prefill
// chunk in progress.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BOUNDARY_MODES, BoundaryMode, BytefillError, CompletionRequest, CompletionResult, EngineOptions, ENSEMBLE_MODES, Logger, Provider, WarmRequest, WarmResult } from '../core/types';
import { MAX_ENSEMBLE_MODELS, OPTION_RANGES } from '../core/limits';
import { ModelBundle, defaultModelDir } from '../bundle/model-bundle';
import { preflightModelFolder } from '../bundle/preflight';
import { completeSingle } from '../complete/single-model';
import { DEFAULT_BUDGET, PromptBudget } from '../complete/prompt';
import { middleBitsPerByte } from '../complete/middle-score';
import { prepareByteLayer, warmBundle } from '../complete/warm';
import { completeEnsemble, MemberWorker, startMemberWorkers, warmMemberWorker } from '../ensemble/index';
import { completeUscdWith } from '../uscd/index';
import { externalDataFiles, formatHubId, resolveModel } from '../hub/index';
import type { PrefixCacheStats } from '../model/prefix-cache';
import type { Tokenizer } from '../tokenizer/tokenizer';

/**
 * Ensemble member workers are on by default only while the members' weights together are at most
 * this size: each worker holds a second copy of its member (0.5B-class members would double the
 * memory of the ensemble; `ensembleWorkers: true` still turns them on).
 */
export const ENSEMBLE_WORKERS_DEFAULT_MAX_BYTES = 512 * 2 ** 20;

/** Bytes on disk of an ONNX graph and its external data files (hub/variants.ts names them). */
export function modelFileBytes(file: string): number {
  const dir = path.dirname(file);
  const base = path.basename(file);
  let n = 0;
  try {
    for (const f of [base, ...externalDataFiles(base, fs.readdirSync(dir))]) n += fs.statSync(path.join(dir, f)).size;
  } catch {
    return Number.POSITIVE_INFINITY; // unknown size: treated as large
  }
  return n;
}

/** Most candidates one request may ask for (each is a row of the decoding batch). */
export const MAX_CANDIDATES = 8;

export interface ModelInfo {
  name: string;
  dir: string;
  provider: Provider;
  vocabSize: number;
  fim: string | null;
}

/** What one model's prefix KV cache holds now (for status displays). */
export interface CacheInfo extends PrefixCacheStats {
  model: string;
}

export interface EngineInfo {
  models: ModelInfo[];
  device: string;
  ensemble: string | null;
}

export class Engine {
  private queue: Promise<unknown> = Promise.resolve();
  /** Warm-ups queued or running: any other call aborts them. */
  private warmups = new Set<AbortController>();
  /** Warm-ups started, finished, and cancelled (by their caller or by a call that preempted them). */
  readonly warmCounts = { started: 0, finished: 0, cancelled: 0, preempted: 0 };
  readonly budget: PromptBudget;

  private constructor(
    readonly bundles: ModelBundle[],
    readonly opts: EngineOptions,
    readonly log: Logger,
    /** The ensemble members' worker threads (EngineOptions.ensembleWorkers), in the bundles' order. */
    readonly memberWorkers?: readonly MemberWorker[],
  ) {
    this.budget = {
      prefixTokens: opts.prefixTokens ?? DEFAULT_BUDGET.prefixTokens,
      suffixTokens: opts.suffixTokens ?? DEFAULT_BUDGET.suffixTokens,
      snippetTokens: DEFAULT_BUDGET.snippetTokens,
    };
  }

  static async create(opts: EngineOptions = {}): Promise<Engine> {
    const log: Logger = opts.log ?? (() => {});
    const dirs = opts.models && opts.models.length > 0 ? opts.models : [defaultModelDir()];
    if (opts.ensemble && !ENSEMBLE_MODES.includes(opts.ensemble)) {
      throw new BytefillError('BAD_ARGUMENT', `unknown ensemble mode '${opts.ensemble}' (expected ${ENSEMBLE_MODES.join(' or ')})`);
    }
    if (dirs.length > MAX_ENSEMBLE_MODELS) {
      throw new BytefillError('BAD_ARGUMENT', `${dirs.length} model folders given: an ensemble has at most ${MAX_ENSEMBLE_MODELS} models`);
    }
    if (opts.threads !== undefined) {
      const [lo, hi] = OPTION_RANGES.threads;
      if (!Number.isInteger(opts.threads) || opts.threads < lo || opts.threads > hi) {
        throw new BytefillError('BAD_ARGUMENT', `threads must be an integer in ${lo}..${hi}, got ${opts.threads}`);
      }
    }
    if (opts.weights && opts.weights.length !== dirs.length) {
      throw new BytefillError('BAD_ARGUMENT', `${opts.weights.length} weights given for ${dirs.length} models`);
    }
    if (opts.weights && opts.weights.some((w) => !(w >= 0)) ) throw new BytefillError('BAD_ARGUMENT', 'weights must be non-negative numbers');
    if (opts.kvCacheMB !== undefined && !(Number.isFinite(opts.kvCacheMB) && opts.kvCacheMB >= 0)) {
      throw new BytefillError('BAD_ARGUMENT', `kvCacheMB must be a non-negative number of MiB, got ${opts.kvCacheMB}`);
    }
    if (opts.prefillChunkTokens !== undefined && !(Number.isInteger(opts.prefillChunkTokens) && opts.prefillChunkTokens >= 1)) {
      throw new BytefillError('BAD_ARGUMENT', `prefillChunkTokens must be a positive integer, got ${opts.prefillChunkTokens}`);
    }
    // Hub ids become snapshot folders of the Hugging Face cache (downloaded if needed).
    const resolved = [];
    for (const spec of dirs) {
      resolved.push(await resolveModel(spec, { variant: opts.variant, device: opts.device, offline: opts.offline, signal: opts.signal, onProgress: opts.onDownload, log }));
    }
    // Every folder is checked before any session is created: a broken last member fails at once.
    // Members whose tokenizer.json is byte-identical share one Tokenizer (and so one VocabIndex).
    const tokenizers = new Map<string, Tokenizer>();
    const checked = resolved.map((r) => preflightModelFolder(r.dir, { variant: r.onnx, tokenizers }));
    if (tokenizers.size < checked.length && checked.length > 1) log('info', `${checked.length} models share ${tokenizers.size} tokenizer${tokenizers.size === 1 ? '' : 's'} (identical tokenizer.json)`);
    const bundles: ModelBundle[] = [];
    try {
      for (const [k, r] of resolved.entries()) {
        log('info', `loading model ${r.dir}${r.onnx ? ` (${r.onnx})` : ''}`);
        const name = r.hub ? formatHubId(r.hub) : undefined;
        bundles.push(await ModelBundle.load(r.dir, { device: opts.device, variant: r.onnx, threads: opts.threads, int8Activations: opts.int8Activations, log, fim: opts.fim, preflight: checked[k], name, kvCacheMB: opts.kvCacheMB, prefillChunkTokens: opts.prefillChunkTokens }));
      }
    } catch (e) {
      for (const b of bundles) await b.dispose();
      throw e;
    }
    // Ensembles on the CPU: one worker thread per member (its forwards overlap the others'). Each
    // worker loads its member a second time, so by default only while that copy is small.
    let workers: MemberWorker[] | undefined;
    const smallMembers = () => bundles.reduce((n, b) => n + modelFileBytes(b.model.file), 0) <= ENSEMBLE_WORKERS_DEFAULT_MAX_BYTES;
    if (bundles.length > 1 && (opts.ensembleWorkers ?? smallMembers()) && bundles.every((b) => b.model.provider === 'cpu')) {
      try {
        workers = await startMemberWorkers(bundles, opts);
      } catch (e) {
        for (const b of bundles) await b.dispose();
        throw e;
      }
    }
    return new Engine(bundles, opts, log, workers);
  }

  get isEnsemble(): boolean {
    return this.bundles.length > 1;
  }

  /** Completes at the cursor between req.prefix and req.suffix. */
  complete(req: CompletionRequest): Promise<CompletionResult> {
    const queued = performance.now();
    return this.exclusive(req.signal, async () => {
      const started = performance.now();
      const res = await this.completeNow(req);
      if (res.timings) res.timings.queueMs = started - queued;
      return res;
    });
  }

  /**
   * Prefills the prompt a completion of `req` would run (every model), without decoding, so a
   * request there finds it cached. Low priority: a later complete/score call aborts it (ABORTED);
   * the KV computed until then stays cached.
   */
  warm(req: WarmRequest): Promise<WarmResult> {
    const mode = req.mode ?? 'byte';
    if (!BOUNDARY_MODES.includes(mode)) return Promise.reject(new BytefillError('BAD_ARGUMENT', `unknown mode '${mode}' (expected token, heal or byte)`));
    // Ensembles decode byte by byte: their prompts are byte-mode prompts whatever the mode asked.
    const asked: WarmRequest = { ...req, mode: this.isEnsemble ? 'byte' : mode };
    const own = new AbortController();
    const signal = req.signal ? AbortSignal.any([req.signal, own.signal]) : own.signal;
    this.warmups.add(own);
    this.warmCounts.started++;
    const run = this.queue.then(async () => {
      if (signal.aborted) throw new BytefillError('ABORTED', 'warm-up cancelled before it started');
      const t0 = performance.now();
      const models = [];
      for (const [k, b] of this.bundles.entries()) {
        const w = this.memberWorkers?.[k];
        // The byte layer runs here even when a member's model runs in a worker.
        if (asked.mode === 'byte') await prepareByteLayer(b, this.isEnsemble, signal);
        models.push(w ? await warmMemberWorker(w, b, { ...asked, signal }, this.budget) : await warmBundle(b, { ...asked, signal }, this.budget));
      }
      return { models, ms: performance.now() - t0 };
    });
    this.queue = run.catch(() => undefined);
    return run.then(
      (r) => {
        this.warmups.delete(own);
        this.warmCounts.finished++;
        return r;
      },
      (e: unknown) => {
        this.warmups.delete(own);
        if (signal.aborted) {
          this.warmCounts.cancelled++;
          if (own.signal.aborted) this.warmCounts.preempted++;
          throw e instanceof BytefillError && e.code === 'ABORTED' ? e : new BytefillError('ABORTED', 'warm-up cancelled');
        }
        throw e;
      },
    );
  }

  /** Runs `fn` when no other request is running (for eval/score helpers that use the models). */
  exclusive<T>(signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    // Real work goes first: warm-ups queued or running before it give way.
    for (const w of this.warmups) w.abort();
    const run = this.queue.then(() => {
      if (signal?.aborted) throw new BytefillError('ABORTED', 'request cancelled before it started');
      return fn();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async completeNow(req: CompletionRequest): Promise<CompletionResult> {
    try {
      return await this.completeOnce(req);
    } catch (e) {
      if (!(e instanceof BytefillError && e.code === 'DEVICE_FAILED')) throw e;
      // A GPU device failed mid-session: move every model to the CPU (one log line) and run the
      // request again there, so it is not lost. Later requests stay on the CPU.
      const moved = this.bundles.filter((b) => b.model.provider !== 'cpu').map((b) => `${b.name} (${b.model.provider})`);
      this.log('warn', `device failed, models now run on cpu: ${moved.join(', ')}; request retried on cpu (${e.message})`);
      for (const b of this.bundles) await b.moveToCpu();
      return this.completeOnce(req);
    }
  }

  private async completeOnce(req: CompletionRequest): Promise<CompletionResult> {
    const mode = req.mode ?? 'byte';
    if (!BOUNDARY_MODES.includes(mode)) throw new BytefillError('BAD_ARGUMENT', `unknown mode '${mode}' (expected token, heal or byte)`);
    if (req.maxTokens !== undefined && !(Number.isInteger(req.maxTokens) && req.maxTokens >= 0)) {
      throw new BytefillError('BAD_ARGUMENT', `maxTokens must be a non-negative integer, got ${req.maxTokens}`);
    }
    if (req.candidates !== undefined && !(Number.isInteger(req.candidates) && req.candidates >= 1 && req.candidates <= MAX_CANDIDATES)) {
      throw new BytefillError('BAD_ARGUMENT', `candidates must be an integer in [1, ${MAX_CANDIDATES}], got ${req.candidates}`);
    }
    if (this.isEnsemble) {
      if (req.uscd?.enabled) throw new BytefillError('UNSUPPORTED', 'USCD with an ensemble is not supported: use one model, or turn USCD off');
      return completeEnsemble(this.bundles, this.opts, this.budget, req, this.memberWorkers);
    }
    if (req.uscd?.enabled) return completeUscdWith(this.bundles[0], req, this.budget);
    return completeSingle(this.bundles[0], req, this.budget);
  }

  /** Bits per byte of a reference middle given prefix and suffix (first model), per boundary mode. */
  middleBitsPerByte(prefix: string, suffix: string, middle: string, mode: BoundaryMode, signal?: AbortSignal): Promise<number> {
    return this.exclusive(signal, () => middleBitsPerByte(this.bundles[0], prefix, suffix, middle, mode, this.budget, signal));
  }

  info(): EngineInfo {
    return {
      models: this.bundles.map((b) => ({
        name: b.name,
        dir: b.model.dir,
        provider: b.model.provider,
        vocabSize: b.tok.vocabSize,
        fim: b.template.fim ? `${b.template.fim.name} ${b.template.fim.format}` : null,
      })),
      device: this.bundles.map((b) => b.model.provider).join(','),
      ensemble: this.isEnsemble ? this.opts.ensemble ?? 'mixture' : null,
    };
  }

  /** Prefix KV cache occupancy per model. */
  cacheInfo(): CacheInfo[] {
    // With member workers, decoding fills the workers' caches, not the engine's own.
    return this.bundles.map((b, k) => ({ model: b.name, ...(this.memberWorkers?.[k]?.cacheStats ?? b.cache.stats()) }));
  }

  async dispose(): Promise<void> {
    await this.queue;
    for (const w of this.memberWorkers ?? []) await w.dispose();
    for (const b of this.bundles) await b.dispose();
  }
}
