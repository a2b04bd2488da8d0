// Custom LSP requests and notifications, typed (method, params, result), and the shapes they
// carry; shared by the server and the extension. Pure: no engine (types only), no vscode.
import { NotificationType, RequestType, RequestType0 } from 'vscode-languageserver-protocol';
import { defaultOf, FlatSettings, Nested, setAt, SETTING_KEYS, SETTINGS } from './settings';
import type { BytefillErrorCode, CacheInfo } from '../../engine/src/index';

export type LoadState = 'loading' | 'ready' | 'error' | 'disabled';
export type { LogLevelName } from './settings';

/** Validated server configuration (what the extension sends as `bytefill`): the settings table's shape. */
export interface ServerConfig extends Nested<FlatSettings> {}

/** Every setting at its default. */
export const DEFAULT_CONFIG: ServerConfig = defaultConfig();

function defaultConfig(): ServerConfig {
  const c: Record<string, unknown> = {};
  for (const k of SETTING_KEYS) setAt(c, k, defaultOf(SETTINGS[k]));
  return c as unknown as ServerConfig;
}

/** Why loading failed: the engine's error code, or INTERNAL for an unexpected failure. */
export type EngineErrorName = BytefillErrorCode | 'INTERNAL';

export interface LoadProgressParams {
  state: LoadState;
  message: string;
  /** Model folders involved (for error messages that name the path). */
  models?: string[];
  /** With state 'error'. */
  code?: EngineErrorName;
  /** While a Hub model downloads (state 'loading'). */
  download?: DownloadProgressInfo;
}

export interface DownloadProgressInfo {
  repo: string;
  file: string;
  bytes: number;
  total: number;
  bytesPerSecond: number;
}

/** A model in the Hugging Face cache (bytefill/cachedModels). */
export interface CachedModelInfo {
  repo: string;
  commit: string;
  refs: string[];
  size: number;
  variants: Array<{ variant: string; bytes: number }>;
}

/** bytefill/downloadSizes: what each Hub id would download with the configured variant. */
export interface DownloadSizesParams {
  repos: string[];
}
export interface DownloadSizeInfo {
  repo: string;
  variant?: string;
  bytes?: number;
  error?: string;
}

export interface ErrorParams {
  message: string;
  code?: EngineErrorName;
  models?: string[];
}
export interface StatusModel {
  name: string;
  dir: string;
  provider: string;
  vocabSize?: number;
  fim?: string | null;
}

export interface StatusResult {
  state: LoadState;
  error: string | null;
  /** The load failure's code while state is 'error'. */
  errorCode: EngineErrorName | null;
  models: StatusModel[];
  /** Configured folders (empty = bundled default). */
  configuredModels: string[];
  device: string | null;
  ensemble: string | null;
  mode: string;
  lastLatencyMs: number | null;
  loadMs: number | null;
  requests: RequestCounts;
  cacheSize: number;
  serverVersion: string;
  /** Local usage statistics (never sent anywhere). */
  stats?: StatsResult;
  /** Where the time of the last request that ran the engine went. */
  lastRequest?: RequestTimings | null;
  /** Where the engine runs and what it holds. */
  engine?: EngineStatus;
  /** Context from beyond the file (the context ring). */
  context?: ContextStatus;
  /** Prefix KV cache warm-ups (bytefill/warm). */
  warm?: WarmStatus;
}

/** Where the engine runs and what it holds. */
export interface EngineStatus {
  isolation: 'worker' | 'process' | 'none';
  /** Thread id (worker) or process id (process) of the engine worker. */
  workerId: number | null;
  /** A request is running or queued in the engine worker (a cancelled one until the worker drops it). */
  busy: boolean;
  /** Requests the current worker stopped because they were cancelled. */
  cancelled: number;
  /** Worker restarts after crashes. */
  restarts: number;
  /** Time and reason of the last crash. */
  lastCrash: string | null;
  kvCache: KvCacheStatus[];
  /** Bytes, as of the worker's last report. */
  memory: { rss: number; heapUsed: number; arrayBuffers: number } | null;
}

/** One model's prefix KV cache: the engine's own counters (entries, bytes and bounds, hits since load). */
export type KvCacheStatus = CacheInfo;

export interface LatencySummary {
  count: number;
  p50: number | null;
  p95: number | null;
  /** Upper bounds of the histogram buckets, ms; the last bucket counts everything above. */
  boundsMs: number[];
  histogram: number[];
}

export interface LanguageStats {
  /** Inline-completion requests received. */
  requests: number;
  /** New suggestions shown (continuing one while typing through it is not a new one). */
  shown: number;
  acceptedFull: number;
  /** Accept-word / accept-line: part of a suggestion inserted at once. */
  acceptedPartial: number;
  charsAccepted: number;
  /** Answers from the completion cache (typing through, repeated requests). */
  cacheHits: number;
  /** Answers computed ahead of time, while the previous suggestion was shown. */
  speculationHits: number;
  /** Latency of non-empty answers, from request to response. */
  latency: LatencySummary;
}

export interface StatsResult {
  total: LanguageStats;
  byLanguage: Record<string, LanguageStats>;
  /** Speculative jobs: started = finished + cancelled + empty + (one running). */
  speculation: { started: number; finished: number; cancelled: number; empty: number; used: number };
}

/** Per-stage time of one request, ms. */
export interface RequestTimings {
  languageId: string;
  debounceMs: number;
  queueMs: number;
  promptMs: number;
  prefillMs: number;
  coversMs: number;
  decodeMs: number;
  postprocessMs: number;
  totalMs: number;
  candidates: number;
  /** Prompt tokens of the engine call, and how many of them came from the prefix KV cache. */
  promptTokens?: number;
  cachedTokens?: number;
}

/** `bytefill/didAccept`: the editor accepted a whole suggestion (sent by the item's command). */
export interface DidAcceptParams {
  id: number;
  /** Which candidate (0 = the first). */
  index?: number;
}

/** The command the server puts on each inline item; the client forwards it as bytefill/didAccept. */
export const ACCEPT_COMMAND = 'bytefill.didAccept';

export interface RequestCounts {
  total: number;
  completed: number;
  cached: number;
  cancelled: number;
  empty: number;
  errors: number;
  notReady: number;
}

/** Body of `bytefill/reload`: new settings (a `bytefill` section or the settings themselves), or none. */
export type ReloadParams = { bytefill?: unknown } | Record<string, unknown> | null;

export interface ReloadResult {
  state: LoadState;
  error: string | null;
}

/** Server state, models, counters. */
export const StatusRequest = new RequestType0<StatusResult, void>('bytefill/status');
/**
 * Re-creates the engine (with the given settings, else the current ones). A failed load answers
 * with a ResponseError whose code is ENGINE_ERROR_CODES[name] and whose data is EngineErrorData.
 */
export const ReloadRequest = new RequestType<ReloadParams, ReloadResult, EngineErrorData>('bytefill/reload');
/** Server -> client: the engine's load state changed. */
export const LoadProgressNotification = new NotificationType<LoadProgressParams>('bytefill/loadProgress');
/** Cancels a model download in progress; the previous model keeps serving. */
export const CancelDownloadRequest = new RequestType0<{ cancelled: boolean }, void>('bytefill/cancelDownload');
/** Models in the Hugging Face cache with their complete variants. */
export const CachedModelsRequest = new RequestType0<CachedModelInfo[], void>('bytefill/cachedModels');
/** Download sizes of Hub ids for the configured variant, from the Hub's listing (for pickers). */
export const DownloadSizesRequest = new RequestType<DownloadSizesParams, DownloadSizeInfo[], void>('bytefill/downloadSizes');
/** Server -> client: something failed that the user should see. */
export const ErrorNotification = new NotificationType<ErrorParams>('bytefill/error');
/** Client -> server: the editor accepted a whole suggestion (the inline item's command). */
export const DidAcceptNotification = new NotificationType<DidAcceptParams>('bytefill/didAccept');

/**
 * JSON-RPC error codes of engine failures in ResponseErrors. JSON-RPC and LSP reserve
 * -32768..-32000; these are application codes outside that range, stable across releases.
 */
export const ENGINE_ERROR_CODES: Readonly<Record<EngineErrorName, number>> = {
  MODEL_NOT_FOUND: 1001,
  MODEL_INVALID: 1002,
  TOKENIZER_MISMATCH: 1003,
  PROVIDER_UNAVAILABLE: 1004,
  BAD_ARGUMENT: 1005,
  FILE_NOT_FOUND: 1006,
  ABORTED: 1007,
  UNSUPPORTED: 1008,
  DEVICE_FAILED: 1009,
  HUB_UNAUTHORIZED: 1010,
  HUB_FORBIDDEN: 1011,
  HUB_NOT_FOUND: 1012,
  OFFLINE: 1013,
  DOWNLOAD_FAILED: 1014,
  CHECKSUM_MISMATCH: 1015,
  NO_SPACE: 1016,
  INTERNAL: 1099,
};

/** The `data` of an engine failure's ResponseError. */
export interface EngineErrorData {
  /** The engine's error code by name (the numeric code says the same). */
  name: EngineErrorName;
  /** Model folders involved, when known. */
  models?: string[];
}

const NAME_OF_CODE = new Map(Object.entries(ENGINE_ERROR_CODES).map(([name, code]) => [code, name as EngineErrorName]));

/**
 * What a failed request tells the client: the engine error's name and message when the
 * error is one of ours (a ResponseError with an engine code), otherwise INTERNAL.
 */
export function engineErrorOf(e: unknown): { name: EngineErrorName; message: string; models?: string[] } {
  const o = (e ?? {}) as { code?: unknown; message?: unknown; data?: Partial<EngineErrorData> };
  const message = typeof o.message === 'string' ? o.message : String(e);
  const name = typeof o.code === 'number' ? NAME_OF_CODE.get(o.code) : undefined;
  if (!name) return { name: 'INTERNAL', message };
  return { name, message, models: Array.isArray(o.data?.models) ? o.data.models : undefined };
}

/** Faults a test can inject into the engine worker (see worker/messages.ts). */
export type EngineFault = 'throw' | 'exit' | 'oom' | 'abort' | 'hang' | 'alloc';

/**
 * Test hook, registered only when the server runs with BYTEFILL_TEST_HOOKS=1: makes the engine
 * worker fail. Answers false when the engine does not run in a worker.
 */
export const TestInjectFaultRequest = new RequestType<{ fault: EngineFault }, boolean, void>('bytefill/test/injectFault');

// ---- Context from beyond the file (the context ring) ----

/** `bytefill/contextChunk`: code the editor saw that the server cannot (a copy, a definition). */
export interface ContextChunkParams {
  /** The document the code comes from (a definition's file, or the document copied from). */
  uri: string;
  text: string;
  source: 'copy' | 'definition';
  /** 0-based line range in that document, when known. */
  startLine?: number;
  endLine?: number;
}
export const ContextChunkNotification = new NotificationType<ContextChunkParams>('bytefill/contextChunk');

export interface ContextStatus {
  enabled: boolean;
  /** Chunks and bytes the ring holds now, and how many times it changed. */
  chunks: number;
  bytes: number;
  generation: number;
  /** Paths of the chunks in the ring, oldest first. */
  paths: string[];
  /** The last request that ran the engine: its prompt, the context part and the tokens reused from the KV cache. */
  last: LastContext | null;
}

export interface LastContext {
  promptTokens: number;
  contextTokens: number;
  contextChunks: number;
  cachedTokens: number;
  /** Paths of the chunks placed, oldest first. */
  paths: string[];
}

// Warming the prefix KV cache where the cursor went (a jump, an opened file), so that the first
// request there is not cold.

/** `bytefill/warm` (client -> server): the cursor is here now; prefill the prompt of this point. */
export interface WarmParams {
  textDocument: { uri: string };
  position: { line: number; character: number };
}
export const WarmNotification = new NotificationType<WarmParams>('bytefill/warm');

/** Warm-ups since the server started: requested = started + skipped; started = finished + cancelled + failed + (one running). */
export interface WarmStatus {
  requested: number;
  started: number;
  finished: number;
  /** Stopped by a completion request, a newer warm-up, or an edit before they finished. */
  cancelled: number;
  failed: number;
  /** Not run: warming off, engine not ready, unknown or disabled document, binary content. */
  skipped: number;
  /** The last finished warm-up: prompt tokens (all models) and how many it computed (the rest were cached). */
  last: { uri: string; line: number; promptTokens: number; computedTokens: number; ms: number } | null;
}
