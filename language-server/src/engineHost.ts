// Owns the engine: loads it in the background (typing never waits for it), reloads it when
// model settings change, and reports the load state. While a new model loads (or downloads from
// the Hub) the previous one keeps serving. A failed load leaves the server up with state 'error';
// completions then return nothing. A cancelled download keeps the previous model.
//
// The engine runs in a worker thread (worker/): a forward blocks that thread, never the
// server's, so status, cancel and document changes are handled while a model runs. When the
// worker dies (uncaught exception, heap limit), or the watchdog or the memory cap stops it
// (engineWatchdogMs, engineLoadTimeoutS, engineMemoryMB), the crash is logged and shown in the status,
// requests in flight fail, and a fresh worker loads the same models.
import { CacheInfo, CompletionRequest, CompletionResult, Engine, EngineInfo, EngineOptions, WarmRequest, WarmResult } from '../../engine/src/index';
import { modelKey } from './config';
import { engineErrorName } from './errors';
import { Logger, errorMessage } from './logger';
import { DownloadProgressInfo, EngineErrorName, EngineStatus, LoadProgressParams, LoadState, ServerConfig } from './protocol';
import { WorkerEngine } from './worker/workerEngine';
import type { FaultKind } from './worker/messages';

/** What the server needs from an engine, wherever it runs. */
export interface HostedEngine {
  info(): EngineInfo;
  complete(req: CompletionRequest): Promise<CompletionResult>;
  /** Prefills the prompt of a point at low priority (any complete call cancels it). */
  warm(req: WarmRequest): Promise<WarmResult>;
  dispose(): Promise<void>;
}

export interface EngineFactoryContext {
  config: ServerConfig;
  /** For engines in a worker: to be called once if the worker dies. */
  onCrash: (reason: string) => void;
}

export type EngineFactory = (opts: EngineOptions, ctx: EngineFactoryContext) => Promise<HostedEngine>;

/** The default: a worker thread; a child process or the server's own thread by `engineIsolation`. */
export function defaultEngineFactory(log: Logger): EngineFactory {
  return async (opts, ctx) => {
    if (ctx.config.engineIsolation === 'none') return new InThreadEngine(await Engine.create(opts));
    return WorkerEngine.create(opts, {
      log: (level, message) => log[level](`[engine] ${message}`),
      onCrash: ctx.onCrash,
      isolation: ctx.config.engineIsolation,
      maxOldGenerationSizeMb: ctx.config.workerHeapMB > 0 ? ctx.config.workerHeapMB : undefined,
      watchdogGraceMs: ctx.config.engineWatchdogMs,
      loadTimeoutMs: ctx.config.engineLoadTimeoutS * 1000,
      memoryCapBytes: ctx.config.engineMemoryMB * 2 ** 20,
    });
  };
}

/** The engine on the server's own thread (engineIsolation 'none'), counting calls in flight. */
class InThreadEngine implements HostedEngine {
  running = 0;
  constructor(readonly engine: Engine) {}
  info(): EngineInfo {
    return this.engine.info();
  }
  complete(req: CompletionRequest): Promise<CompletionResult> {
    return this.counted(() => this.engine.complete(req));
  }
  warm(req: WarmRequest): Promise<WarmResult> {
    return this.counted(() => this.engine.warm(req));
  }
  /** Runs an engine call, counted in `running` (the status's busy flag) while it is in flight. */
  private async counted<T>(call: () => Promise<T>): Promise<T> {
    this.running++;
    try {
      return await call();
    } finally {
      this.running--;
    }
  }
  dispose(): Promise<void> {
    return this.engine.dispose();
  }
}

const WHERE = { worker: 'worker thread', process: 'child process', none: "server's thread" } as const;

/** More crashes than this within CRASH_WINDOW_MS and the host stops restarting the worker. */
const MAX_CRASHES = 3;
const CRASH_WINDOW_MS = 60_000;

export class EngineHost {
  state: LoadState = 'loading';
  error: string | null = null;
  /** What the last load threw, while state is 'error' (for ResponseErrors with its code). */
  failure: unknown = null;
  info: EngineInfo | null = null;
  loadMs: number | null = null;
  /** Worker restarts after crashes (since the server started). */
  restarts = 0;
  lastCrash: string | null = null;
  private crashTimes: number[] = [];
  private engine: HostedEngine | null = null;
  private key: string | null = null;
  private config: ServerConfig | null = null;
  /** Incremented per load; a load that finishes after a newer one started is discarded. */
  private generation = 0;
  private loading: Promise<void> | null = null;
  private enabled = true;
  /** Cancels the current load's Hub download. */
  private abort: AbortController | null = null;

  private readonly factory: EngineFactory;

  constructor(
    private readonly log: Logger,
    private readonly onProgress: (p: LoadProgressParams) => void,
    factory?: EngineFactory,
  ) {
    this.factory = factory ?? defaultEngineFactory(log);
  }

  /** The engine when ready, or the previous one while a new one loads; else null (no completion). */
  get ready(): HostedEngine | null {
    return this.state === 'ready' || this.state === 'loading' ? this.engine : null;
  }

  /** Cancels a Hub download in progress (the partial file is resumed next time). */
  cancelDownload(): boolean {
    if (!this.abort || !this.loading) return false;
    this.abort.abort();
    return true;
  }

  /** Applies settings; re-creates the engine only if model-related settings changed (or forced). */
  configure(config: ServerConfig, force = false): Promise<void> {
    this.enabled = config.enable;
    this.config = config;
    if (!config.enable) {
      // Keep a loaded engine (re-enabling is instant) but do not start loading one.
      if (this.state !== 'disabled') this.setState('disabled', 'bytefill is disabled');
      return this.loading ?? Promise.resolve();
    }
    const key = modelKey(config);
    if (force || key !== this.key) {
      this.key = key;
      // An explicit reload or new settings start the crash count afresh.
      this.crashTimes = [];
      return this.load(config);
    }
    if (this.state === 'disabled') {
      if (this.loading) this.setState('loading', 'Loading…');
      else if (this.engine) this.setState('ready', 'Ready');
      else if (this.error) this.setState('error', this.error);
    }
    return this.loading ?? Promise.resolve();
  }

  /** Where the engine runs and what it holds (never waits for a busy worker). */
  engineStatus(): EngineStatus {
    const e = this.engine;
    const worker = e instanceof WorkerEngine ? e : null;
    const stats = worker?.stats ?? null;
    let kvCache: CacheInfo[] = stats?.kvCache ?? [];
    if (e instanceof InThreadEngine) kvCache = e.engine.cacheInfo();
    return {
      isolation: this.config?.engineIsolation ?? 'worker',
      workerId: worker?.workerId ?? null,
      busy: worker ? worker.running > 0 : e instanceof InThreadEngine && e.running > 0,
      cancelled: worker?.cancelledInWorker ?? 0,
      restarts: this.restarts,
      lastCrash: this.lastCrash,
      kvCache: kvCache.map((c) => ({ ...c })),
      memory: stats?.memory ?? null,
    };
  }

  /** Test hook: makes the engine worker fail (the worker honours it only under BYTEFILL_TEST_HOOKS=1). */
  injectFault(fault: FaultKind): boolean {
    if (!(this.engine instanceof WorkerEngine)) return false;
    this.engine.injectFault(fault);
    return true;
  }

  private onCrash(gen: number, engine: HostedEngine, reason: string): void {
    if (gen !== this.generation || engine !== this.engine || !this.config) return;
    const now = Date.now();
    this.crashTimes = this.crashTimes.filter((t) => now - t < CRASH_WINDOW_MS);
    this.crashTimes.push(now);
    this.lastCrash = `${new Date(now).toISOString()} ${reason}`;
    this.engine = null;
    this.info = null;
    void safeDispose(engine, this.log);
    if (this.crashTimes.length > MAX_CRASHES) {
      this.error = `The engine crashed ${this.crashTimes.length} times within a minute (last: ${reason}); not restarting it. Change the model settings or reload.`;
      this.log.error(this.error);
      this.setState(this.enabled ? 'error' : 'disabled', this.error, this.config.models);
      return;
    }
    this.restarts++;
    this.log.error(`engine crashed: ${reason}; restarting it (restart ${this.restarts})`);
    void this.load(this.config, 'Restarting the engine after a crash…');
  }

  private load(config: ServerConfig, message?: string): Promise<void> {
    const gen = ++this.generation;
    this.abort?.abort();
    const abort = (this.abort = new AbortController());
    const models = config.models;
    const what = models.length ? models.join(', ') : 'bundled model';
    this.error = null;
    this.failure = null;
    this.setState('loading', message ?? `Loading ${what}…`, models);
    const opts: EngineOptions = {
      models: models.length ? models : undefined,
      weights: config.weights.length ? config.weights : undefined,
      ensemble: config.ensemble,
      device: config.device,
      variant: config.modelVariant,
      offline: config.offline,
      kvCacheMB: config.kvCacheMB,
      int8Activations: config.int8Activations,
      signal: abort.signal,
      onDownload: (download) => {
        if (gen === this.generation) this.setState('loading', `Downloading ${download.repo}…`, models, undefined, download);
      },
      log: (level, message) => this.log[level](`[engine] ${message}`),
    };
    const started = Date.now();
    const previous = this.engine;
    this.loading = (async () => {
      let engine: HostedEngine | null = null;
      try {
        engine = await this.factory(opts, { config, onCrash: (reason) => engine && this.onCrash(gen, engine, reason) });
        const info = engine.info();
        if (gen !== this.generation) {
          await engine.dispose();
          return;
        }
        this.engine = engine;
        this.info = info;
        this.loadMs = Date.now() - started;
        if (previous && previous !== engine) await safeDispose(previous, this.log);
        const names = info.models.map((m) => `${m.name} (${m.provider})`).join(', ');
        this.log.info(`engine ready in ${this.loadMs} ms (${WHERE[config.engineIsolation]}): ${names}`);
        this.setState(this.enabled ? 'ready' : 'disabled', `Ready: ${names}`, models);
      } catch (e) {
        if (engine && gen !== this.generation) await safeDispose(engine, this.log);
        if (gen !== this.generation) return;
        const code = engineErrorName(e);
        if (code === 'ABORTED' && previous && this.engine === previous) {
          // The user cancelled the download: keep serving the previous model; a reload retries.
          this.key = null;
          this.log.info(`download cancelled: ${errorMessage(e)}`);
          const names = this.info?.models.map((m) => m.name).join(', ') ?? 'the previous model';
          this.setState(this.enabled ? 'ready' : 'disabled', `Download cancelled; still using ${names}`, models);
          return;
        }
        this.error = `Could not load ${what}: ${errorMessage(e)}`;
        this.failure = e;
        this.log.error(`${this.error} [${code}]`);
        // The old engine (if any) no longer matches the settings: drop it.
        if (previous) await safeDispose(previous, this.log);
        this.engine = null;
        this.info = null;
        this.setState(this.enabled ? 'error' : 'disabled', this.error, models, code);
      } finally {
        if (gen === this.generation) this.loading = null;
      }
    })();
    return this.loading;
  }

  private setState(state: LoadState, message: string, models?: string[], code?: EngineErrorName, download?: DownloadProgressInfo): void {
    this.state = state;
    try {
      const p: LoadProgressParams = code && state === 'error' ? { state, message, models, code } : { state, message, models };
      if (download) p.download = download;
      this.onProgress(p);
    } catch (e) {
      this.log.warn(`loadProgress notification failed: ${errorMessage(e)}`);
    }
  }

  async dispose(): Promise<void> {
    this.generation++;
    this.abort?.abort();
    const e = this.engine;
    this.engine = null;
    if (e) await safeDispose(e, this.log);
  }
}

async function safeDispose(e: HostedEngine, log: Logger): Promise<void> {
  try {
    await e.dispose();
  } catch (err) {
    log.warn(`engine dispose failed: ${errorMessage(err)}`);
  }
}
