// The message set between the language server and the engine worker (one module, both sides).
// Calls carry an id and get exactly one `result` or `error` back; `cancel` and `fault` are
// one-way. The worker also sends `log` lines and a `stats` snapshot after each call, so the
// server can answer status requests without waiting for a busy worker.
import type { BoundaryMode, CacheInfo, CompletionRequest, CompletionResult, DownloadProgress, EngineInfo, EngineOptions, LogLevel, WarmRequest, WarmResult } from '../../../engine/src/index';

/**
 * Engine options that can cross a thread boundary: the logger and the download callback come
 * back as `log` and `download` messages, the load's AbortSignal is the `cancel` message.
 */
export type WorkerLoadOptions = Omit<EngineOptions, 'log' | 'onDownload' | 'signal'>;
/** A completion request without its AbortSignal (cancellation is the `cancel` message). */
export type WorkerCompletionRequest = Omit<CompletionRequest, 'signal'>;
/** A warm-up without its AbortSignal (the `cancel` message; any later `complete` also preempts it). */
export type WorkerWarmRequest = Omit<WarmRequest, 'signal'>;

export interface ScoreParams {
  prefix: string;
  suffix: string;
  middle: string;
  mode: BoundaryMode;
}

/** What the worker reports about itself (also pushed as `stats` after every call). */
export interface WorkerStats {
  /** Calls running or queued in the worker. */
  running: number;
  kvCache: CacheInfo[];
  /** Bytes: process RSS, this worker's V8 heap and array buffers (tensors live outside the heap). */
  memory: { rss: number; heapUsed: number; arrayBuffers: number };
}

/** Calls: name -> params and result. */
export interface WorkerCalls {
  load: { params: WorkerLoadOptions; result: EngineInfo };
  complete: { params: WorkerCompletionRequest; result: CompletionResult };
  warm: { params: WorkerWarmRequest; result: WarmResult };
  score: { params: ScoreParams; result: number };
  status: { params: Record<string, never>; result: WorkerStats };
  dispose: { params: Record<string, never>; result: null };
}
export type CallName = keyof WorkerCalls;

/**
 * Faults a test can inject to exercise crash handling (honoured only when the worker runs with
 * BYTEFILL_TEST_HOOKS=1): `throw` an uncaught exception, `exit` with code 70, `oom` allocate until
 * the heap limit (only with a heap limit set), `abort` a native abort (child process only),
 * `hang` a synchronous busy loop that never ends (for the watchdog), `alloc` 768 MiB of memory
 * outside the V8 heap, touched and kept alive (for the memory cap).
 */
export type FaultKind = 'throw' | 'exit' | 'oom' | 'abort' | 'hang' | 'alloc';

export type HostMessage =
  | { [K in CallName]: { kind: 'call'; id: number; name: K; params: WorkerCalls[K]['params'] } }[CallName]
  | { kind: 'cancel'; id: number }
  | { kind: 'fault'; fault: FaultKind };

export interface WireError {
  code?: string;
  message: string;
}

export type WorkerMessage =
  | { kind: 'result'; id: number; value: unknown }
  | { kind: 'error'; id: number; error: WireError }
  | { kind: 'log'; level: LogLevel; message: string }
  | { kind: 'download'; progress: DownloadProgress }
  | { kind: 'stats'; stats: WorkerStats };
