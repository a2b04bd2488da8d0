// Owns the engine: loads it in the background (typing never waits for it), reloads it when
// model settings change, and reports the load state. While a new model loads (or downloads from
// the Hub) the previous one keeps serving. A failed load leaves the server up with state 'error';
// completions then return nothing. A cancelled download keeps the previous model.
import { Engine, EngineInfo, EngineOptions } from '../../engine/src/index';
import { modelKey } from './config';
import { engineErrorName } from './errors';
import { Logger, errorMessage } from './logger';
import { DownloadProgressInfo, EngineErrorName, LoadProgressParams, LoadState, ServerConfig } from './protocol';

export type EngineFactory = (opts: EngineOptions) => Promise<Engine>;

export class EngineHost {
  state: LoadState = 'loading';
  error: string | null = null;
  /** What the last load threw, while state is 'error' (for ResponseErrors with its code). */
  failure: unknown = null;
  info: EngineInfo | null = null;
  loadMs: number | null = null;
  private engine: Engine | null = null;
  private key: string | null = null;
  /** Incremented per load; a load that finishes after a newer one started is discarded. */
  private generation = 0;
  private loading: Promise<void> | null = null;
  private enabled = true;
  /** Cancels the current load's Hub download. */
  private abort: AbortController | null = null;

  constructor(
    private readonly log: Logger,
    private readonly onProgress: (p: LoadProgressParams) => void,
    private readonly factory: EngineFactory = (o) => Engine.create(o),
  ) {}

  /** The engine when ready, or the previous one while a new one loads; else null (no completion). */
  get ready(): Engine | null {
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
    if (!config.enable) {
      // Keep a loaded engine (re-enabling is instant) but do not start loading one.
      if (this.state !== 'disabled') this.setState('disabled', 'bytefill is disabled');
      return this.loading ?? Promise.resolve();
    }
    const key = modelKey(config);
    if (force || key !== this.key) {
      this.key = key;
      return this.load(config);
    }
    if (this.state === 'disabled') {
      if (this.loading) this.setState('loading', 'Loading…');
      else if (this.engine) this.setState('ready', 'Ready');
      else if (this.error) this.setState('error', this.error);
    }
    return this.loading ?? Promise.resolve();
  }

  private load(config: ServerConfig): Promise<void> {
    const gen = ++this.generation;
    this.abort?.abort();
    const abort = (this.abort = new AbortController());
    const models = config.models;
    const what = models.length ? models.join(', ') : 'bundled model';
    this.error = null;
    this.failure = null;
    this.setState('loading', `Loading ${what}…`, models);
    const opts: EngineOptions = {
      models: models.length ? models : undefined,
      weights: config.weights.length ? config.weights : undefined,
      ensemble: config.ensemble,
      device: config.device,
      variant: config.modelVariant,
      offline: config.offline,
      signal: abort.signal,
      onDownload: (download) => {
        if (gen === this.generation) this.setState('loading', `Downloading ${download.repo}…`, models, undefined, download);
      },
      log: (level, message) => this.log[level](`[engine] ${message}`),
    };
    const started = Date.now();
    const previous = this.engine;
    this.loading = (async () => {
      let engine: Engine | null = null;
      try {
        engine = await this.factory(opts);
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
        this.log.info(`engine ready in ${this.loadMs} ms: ${names}`);
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

async function safeDispose(e: Engine, log: Logger): Promise<void> {
  try {
    await e.dispose();
  } catch (err) {
    log.warn(`engine dispose failed: ${errorMessage(err)}`);
  }
}
