// Public types and errors of the engine library, shared by every layer (the bottom layer, core/).
// The language server and the CLI reach them through the public entry (../index.ts); nothing here
// imports vscode or LSP code.

export type Device = 'auto' | 'cpu' | 'webgpu' | 'cuda';
export const DEVICES: readonly Device[] = ['auto', 'cpu', 'webgpu', 'cuda'];
export type Provider = 'cpu' | 'webgpu' | 'cuda';
/** How the prompt boundary at the cursor is handled. */
export type BoundaryMode = 'token' | 'heal' | 'byte';
export const BOUNDARY_MODES: readonly BoundaryMode[] = ['token', 'heal', 'byte'];
export type EnsembleMode = 'mixture' | 'product';
export const ENSEMBLE_MODES: readonly EnsembleMode[] = ['mixture', 'product'];

export interface SamplingOptions {
  /** 0 (default) means greedy. */
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
}

export interface UscdOptions {
  enabled: boolean;
  /** Weight of the lame distribution subtracted from the standard one. */
  alpha?: number;
  /** Contrast only when normalised entropy of p_std is at least this (0..1). */
  threshold?: number;
  /** Plausibility cut: keep tokens with p_std >= beta * max p_std. */
  beta?: number;
}

export interface ContextSnippet {
  /** Path or name shown to the model (e.g. a comment line before the snippet). */
  path: string;
  text: string;
}

export interface CompletionRequest {
  /** Text before the cursor. */
  prefix: string;
  /** Text after the cursor. */
  suffix: string;
  /** Extra context (other files, far parts of this one), oldest first; dropped by USCD's lame prompt. */
  snippets?: ContextSnippet[];
  /** Path of the file being completed, shown to the model after the context (repository format). */
  path?: string;
  /** Line comment marker of the language, for models without a repository format (default '//'). */
  lineComment?: string;
  /** Token budget of the context part (default DEFAULT_BUDGET.snippetTokens); never more than the model's window leaves. */
  contextTokens?: number;
  /** Return the context part of the prompt as text (CompletionResult.context), for logs and tests. */
  returnContext?: boolean;
  mode?: BoundaryMode;
  maxTokens?: number;
  /** Wall-clock cap for generation, ms. */
  maxTimeMs?: number;
  /** Generation stops before any of these strings (they are not included). */
  stop?: string[];
  /**
   * Stop strings count only once something other than whitespace was generated: with stop ['\n'] at
   * the end of a line, the completion may be the next line ('\n' + indentation + code).
   */
  stopAfterLeadingWhitespace?: boolean;
  sampling?: SamplingOptions;
  uscd?: UscdOptions;
  /**
   * Distinct completions wanted (default 1). The first is the ordinary one (greedy unless sampling);
   * the others start from the next-best first tokens (byte mode: covers) and are decoded in the same
   * batch. One model without USCD only; otherwise one item is returned.
   */
  candidates?: number;
  /** Alternatives may run at most this long after the first candidate is done (ms, default 250). */
  candidateExtraMs?: number;
  /**
   * ...but at least this many more decoding steps (default 0), within maxTimeMs: on a busy machine
   * candidateExtraMs is only a step or two, and short alternatives would all be cut off.
   */
  candidateExtraSteps?: number;
  signal?: AbortSignal;
}

/**
 * Warming the prefix KV cache at a point: the completion request a point would send, of which only
 * what the prompt is built from is used (prefix, suffix, snippets, mode, ...; decoding options are
 * ignored): its prompt is prefilled, nothing decoded. Runs at low priority: any completion or
 * scoring call that reaches the engine cancels a warm-up that has not finished (its computed KV
 * stays cached).
 */
export type WarmRequest = CompletionRequest;

export interface WarmModelResult {
  model: string;
  promptTokens: number;
  /** Tokens that were already in the cache. */
  cachedTokens: number;
  /** Tokens this warm-up ran through the model. */
  computedTokens: number;
}

export interface WarmResult {
  models: WarmModelResult[];
  ms: number;
}

export interface CompletionItem {
  completion: string;
  stopReason: StopReason;
  generatedTokens: number;
}

/** Where a request's time went, ms. */
export interface StageTimings {
  /** Waiting for earlier requests to finish. */
  queueMs: number;
  /** Trimming, tokenizing and assembling the prompt. */
  promptMs: number;
  /** Running the prompt through the model (prefix cache misses only). */
  prefillMs: number;
  /** Byte mode: scoring the cover tree at the prompt boundary. */
  coversMs: number;
  /** Token decoding (all candidates). */
  decodeMs: number;
}

export type StopReason = 'eot' | 'stop' | 'max_tokens' | 'max_time' | 'aborted';

export interface CompletionResult {
  completion: string;
  mode: BoundaryMode;
  models: string[];
  promptTokens: number;
  generatedTokens: number;
  ms: number;
  stopReason: StopReason;
  /** Byte mode: cover-tree branches (split points of the pending piece) scored at the prompt boundary. */
  covers?: number;
  /** USCD: number of decoding steps that were contrasted / total steps. */
  contrastedSteps?: number;
  steps?: number;
  /** ms from the request's start until the first generated token (or byte-mode cover) was chosen. */
  firstTokenMs?: number;
  /** Whether the prompt's KV prefix came from the cache (tokens reused). */
  cachedTokens?: number;
  /** Tokens of extra context at the start of the prompt, and how many snippets they hold. */
  contextTokens?: number;
  contextSnippets?: number;
  /** The context part of the prompt as text (special tokens included), when asked (returnContext). */
  context?: string;
  /** All candidates, distinct by text, items[0] being `completion` (when more than one was asked). */
  items?: CompletionItem[];
  timings?: StageTimings;
}

/** Download progress of a Hub model (see engine/src/hub). */
export interface DownloadProgress {
  repo: string;
  file: string;
  bytes: number;
  total: number;
  bytesPerSecond: number;
}

export interface EngineOptions {
  /** Model folders or Hub ids (`org/name`, `org/name@revision`); default: the bundled tiny-code-b. */
  models?: string[];
  weights?: number[];
  ensemble?: EnsembleMode;
  device?: Device;
  /**
   * Which ONNX graph: a precision (`auto`, fp32, fp16, q4, q4f16, int8, uint8, bnb4, quantized: the
   * onnx-community file names; `auto` picks by device and what is there), or a file name inside
   * `onnx/` or a path. Default for folders: onnx/model.onnx; for Hub ids: auto.
   */
  variant?: string;
  /** Never download (also HF_HUB_OFFLINE=1): Hub ids must already be in the Hugging Face cache. */
  offline?: boolean;
  /** Progress of Hub downloads while the engine is created. */
  onDownload?: (p: DownloadProgress) => void;
  /** Cancels Hub downloads while the engine is created (the partial file is resumed next time). */
  signal?: AbortSignal;
  threads?: number;
  /**
   * CPU provider: run 4-bit (MatMulNBits) layers with int8 activations and onnxruntime's integer
   * kernels where the graph asks for float ones (accuracy_level 0); the derived graph is cached.
   * Default true (BYTEFILL_INT8_ACTIVATIONS=0: off).
   */
  int8Activations?: boolean;
  /** Override the FIM convention detected from the tokenizer. */
  fim?: FimOverride;
  /** Token budgets for prompt parts. */
  prefixTokens?: number;
  suffixTokens?: number;
  /** Byte budget of each model's prefix KV cache, in MiB (default 256). */
  kvCacheMB?: number;
  /** Prompt tokens per prefill forward; cancellation lands between chunks (default 256). */
  prefillChunkTokens?: number;
  /**
   * Ensembles on the CPU: each member's model runs in its own worker thread, so that the members'
   * forwards for a byte run at the same time (see BENCHMARKS.md, section 3). Each member's model
   * is then loaded twice (the worker's session decodes; the engine's own scores), so the default is
   * on only while the members' weights together are at most 512 MB (ENSEMBLE_WORKERS_DEFAULT_MAX_BYTES).
   */
  ensembleWorkers?: boolean;
  log?: Logger;
}

export interface FimOverride {
  format?: 'PSM' | 'SPM';
  prefix?: string;
  suffix?: string;
  middle?: string;
  eot?: string;
  /** Disable FIM: prompt left-to-right with the prefix only. */
  disabled?: boolean;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Logger = (level: LogLevel, message: string) => void;

export type BytefillErrorCode =
  | 'MODEL_NOT_FOUND'
  | 'MODEL_INVALID'
  | 'TOKENIZER_MISMATCH'
  | 'PROVIDER_UNAVAILABLE'
  | 'BAD_ARGUMENT'
  | 'FILE_NOT_FOUND'
  | 'ABORTED'
  | 'UNSUPPORTED'
  /** A GPU device failed (or its model was released) while running: the engine moves to the CPU. */
  | 'DEVICE_FAILED'
  | 'HUB_UNAUTHORIZED'
  | 'HUB_FORBIDDEN'
  | 'HUB_NOT_FOUND'
  | 'OFFLINE'
  | 'DOWNLOAD_FAILED'
  | 'CHECKSUM_MISMATCH'
  | 'NO_SPACE';

/** Errors the engine throws on purpose carry a code and a message meant for users. */
export class BytefillError extends Error {
  constructor(
    readonly code: BytefillErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'BytefillError';
  }
}
