// The settings table: every `bytefill.*` setting once, with its type, default, range or values,
// description and what a change of it invalidates. Everything else is derived from it: the
// ServerConfig type and DEFAULT_CONFIG (protocol.ts), validation (config.ts), the manifest's
// `contributes.configuration` (settingsManifest.ts, `npm run gen:settings`), the keys the
// editor extension reads, and which changes reload the engine, clear the completion cache or
// restart the client.
//
// To add a setting: add one entry below (its position is its order in the settings UI), run
// `npm run gen:settings`, and read it as `config.<key>` (a dotted key `a.b` is `config.a.b`).
// Pure: no engine (only its import-free defaults and types), no vscode.
import { DEFAULT_KV_CACHE_MB, DEFAULT_MAX_TOKENS, DEFAULT_USCD } from '../../engine/src/core/defaults';
import type { BoundaryMode, Device, EnsembleMode } from '../../engine/src/index';

export type LogLevelName = 'debug' | 'info' | 'warn' | 'error' | 'off';
export type ModelVariant = 'auto' | 'fp32' | 'fp16' | 'q4' | 'q4f16' | 'int8' | 'uint8' | 'bnb4' | 'quantized';

/**
 * What a change of the setting makes stale. `reloadEngine` re-creates the engine (and clears the
 * cache); `clearCache` drops cached completions (made under the old value); `restartClient`
 * restarts the editor's client (its document selector is fixed at start); `none`: read per use.
 */
export type OnChange = 'reloadEngine' | 'clearCache' | 'restartClient' | 'none';

interface SettingBase {
  /** Markdown, shown in the settings UI. */
  description: string;
  onChange: OnChange;
  /** false: a server-side setting (initializationOptions) the editor's settings UI does not show. */
  manifest?: false;
}
export interface BooleanSetting extends SettingBase {
  type: 'boolean';
  default: boolean;
}
export interface NumberSetting extends SettingBase {
  /** integer: rounded after validation. */
  type: 'number' | 'integer';
  default: number;
  minimum: number;
  maximum: number;
}
export interface EnumSetting<T extends string = string> extends SettingBase {
  type: 'enum';
  default: T;
  /** Every allowed value with its description, in the order the settings UI lists them. */
  values: Record<T, string>;
}
export interface StringListSetting extends SettingBase {
  /** Items are trimmed; empty items are dropped. */
  type: 'strings';
  default: readonly string[];
}
export interface NumberListSetting extends SettingBase {
  type: 'numbers';
  default: readonly number[];
  /** Smallest allowed item. */
  minimum: number;
}
export type SettingSpec = BooleanSetting | NumberSetting | EnumSetting | StringListSetting | NumberListSetting;

// Constructors keep each entry's literal types (an enum's values) while checking its shape.
const bool = (s: Omit<BooleanSetting, 'type'>): BooleanSetting => ({ type: 'boolean', ...s });
const num = (s: Omit<NumberSetting, 'type'>): NumberSetting => ({ type: 'number', ...s });
const int = (s: Omit<NumberSetting, 'type'>): NumberSetting => ({ type: 'integer', ...s });
const oneOf = <T extends string>(s: Omit<EnumSetting<T>, 'type'>): EnumSetting<T> => ({ type: 'enum', ...s });
const strings = (s: Omit<StringListSetting, 'type'>): StringListSetting => ({ type: 'strings', ...s });
const numbers = (s: Omit<NumberListSetting, 'type'>): NumberListSetting => ({ type: 'numbers', ...s });

export const SETTINGS = {
  enable: bool({ default: true, onChange: 'none', description: 'Show inline completions from bytefill.' }),
  models: strings({
    default: [],
    onChange: 'reloadEngine',
    description:
      'Models: Hugging Face Hub ids (`onnx-community/Qwen2.5-Coder-1.5B`, optionally `@revision`), downloaded once into the shared Hugging Face cache, or model folders (Hugging Face ONNX layout: `config.json`, `tokenizer.json`, `onnx/model.onnx`). Empty uses the bundled model. Two or more form an ensemble. `~` and `${workspaceFolder}` are expanded; an existing folder wins over a Hub id of the same name. **bytefill: Choose Model…** picks one.',
  }),
  modelVariant: oneOf<ModelVariant>({
    default: 'auto',
    onChange: 'reloadEngine',
    description:
      'Which ONNX precision of a model to download and load (`onnx/model.onnx`, `onnx/model_q4.onnx`, ...). `auto` picks by device and by what the model publishes, and logs its choice.',
    values: {
      auto: 'CPU: q4 > int8 > quantized > uint8 > bnb4 > fp32; GPU: q4f16 > fp16 > q4 > fp32.',
      fp32: 'onnx/model.onnx: float32 weights.',
      fp16: 'onnx/model_fp16.onnx: float16 weights, KV cache and logits.',
      q4: 'onnx/model_q4.onnx: 4-bit weights (MatMulNBits), float32 activations.',
      q4f16: 'onnx/model_q4f16.onnx: 4-bit weights, float16 activations.',
      int8: 'onnx/model_int8.onnx: 8-bit weights.',
      uint8: 'onnx/model_uint8.onnx: 8-bit unsigned weights.',
      bnb4: 'onnx/model_bnb4.onnx: 4-bit NF4 weights.',
      quantized: 'onnx/model_quantized.onnx: 8-bit dynamically quantized weights.',
    },
  }),
  offline: bool({
    default: false,
    onChange: 'reloadEngine',
    description: 'Never download models: Hub ids must already be in the Hugging Face cache (`HF_HUB_OFFLINE=1` does the same).',
  }),
  ensemble: oneOf<EnsembleMode>({
    default: 'mixture',
    onChange: 'reloadEngine',
    description: 'How the next-byte distributions of several models are combined.',
    values: { mixture: 'Weighted average of probabilities.', product: 'Weighted geometric mean, renormalised.' },
  }),
  weights: numbers({
    default: [],
    minimum: 0,
    onChange: 'reloadEngine',
    description: 'Ensemble weights, one per model folder (empty = equal weights).',
  }),
  mode: oneOf<BoundaryMode>({
    default: 'byte',
    onChange: 'clearCache',
    description: 'How the prompt boundary at the cursor is handled.',
    values: {
      byte: 'Exact byte-level prompt boundary (covers): correct at mid-token cursors.',
      heal: 'Token healing: back up one token and constrain the next one.',
      token: 'Plain token prompting (biased at mid-token cursors; for comparison).',
    },
  }),
  'uscd.enabled': bool({
    default: false,
    onChange: 'clearCache',
    description:
      'Uncertainty-aware selective contrastive decoding: when the model is unsure, subtract a context-free ("lame") prediction. Off by default: on the bundled models it lowered edit similarity (see BENCHMARKS.md).',
  }),
  'uscd.alpha': num({
    default: DEFAULT_USCD.alpha,
    minimum: 0,
    maximum: 10,
    onChange: 'clearCache',
    description: 'USCD: weight of the lame distribution subtracted from the standard one.',
  }),
  'uscd.threshold': num({
    default: DEFAULT_USCD.threshold,
    minimum: 0,
    maximum: 1,
    onChange: 'clearCache',
    description: 'USCD: contrast only when the normalised entropy of the prediction is at least this (0..1).',
  }),
  device: oneOf<Device>({
    default: 'auto',
    onChange: 'reloadEngine',
    description: 'Where models run. `auto` uses CUDA where its provider is installed, else the CPU, and logs why.',
    values: {
      auto: 'CUDA when its provider is installed, else CPU (WebGPU only with BYTEFILL_WEBGPU=1).',
      cpu: 'CPU only.',
      webgpu: 'WebGPU (loading fails where no adapter is available).',
      cuda: 'CUDA (loading fails where the CUDA provider is not installed).',
    },
  }),
  maxTokens: int({
    default: DEFAULT_MAX_TOKENS,
    minimum: 1,
    maximum: 1024,
    onChange: 'clearCache',
    description: 'Maximum tokens generated per completion (single-line completions use at most 48).',
  }),
  maxTimeMs: int({
    default: 8000,
    minimum: 100,
    maximum: 120000,
    // A completion cut short by the old cap would be served from the cache under a new one.
    onChange: 'clearCache',
    description: 'Wall-clock cap for one completion, in milliseconds.',
  }),
  debounceMs: int({
    default: 75,
    minimum: 0,
    maximum: 5000,
    onChange: 'none',
    description:
      'Wait this long after the last keystroke before generating, in milliseconds. Measured on 7 typed lines (BENCHMARKS.md, section 18): 75 ms adds about its own length to the wait after the last keystroke and saves few engine calls at 60-240 ms between keys; 150 ms saves a third of them for 100 ms more. Too few lines to move the default.',
  }),
  languages: strings({
    default: ['*'],
    onChange: 'restartClient',
    description: 'Language ids to complete in (`*` = all), e.g. `["python", "typescript"]`.',
  }),
  'context.enabled': bool({
    default: true,
    onChange: 'clearCache',
    description:
      'Give the model code from beyond the cursor\'s file: a ring of chunks you recently edited, saved, opened or copied (other files and far parts of this one) and the definitions of the symbols at the cursor, in the model\'s repository format (`<file_sep>`) or as comments. Ordered oldest first so that this part of the prompt stays cached while you type.',
  }),
  'context.maxChunks': int({
    default: 16,
    minimum: 1,
    maximum: 64,
    onChange: 'clearCache',
    description: 'Most chunks the context ring holds (the oldest leave first; a near-duplicate of a newer chunk leaves at once).',
  }),
  'context.maxBytes': int({
    default: 8192,
    minimum: 256,
    maximum: 262144,
    onChange: 'clearCache',
    description: 'Most bytes of code the context ring holds.',
  }),
  'context.tokens': int({
    default: 256,
    minimum: 16,
    maximum: 32768,
    onChange: 'clearCache',
    description:
      'Token budget of the context in the prompt (the newest chunks that fit are placed); never more than the model\'s window leaves beside the file\'s own prefix, suffix and the completion.',
  }),
  'context.definitions': bool({
    default: true,
    onChange: 'none',
    description:
      'Add the definitions of the symbols near the cursor, found by the editor\'s own language features (definition provider, capped at 150 ms and cached per symbol), to the context ring.',
  }),
  candidates: int({
    default: 3,
    minimum: 1,
    maximum: 8,
    // Cache entries remember how many were asked for; an explicit request asking more recomputes.
    onChange: 'none',
    description:
      'Distinct suggestions offered when asked explicitly (the next/previous suggestion keys, or Trigger Completion); typing shows the first one only, which costs no extra time. Alternatives start from the next-best first tokens and are decoded in one batch, for at most 250 ms past the first one (but at least 8 decoding steps, so that a busy machine still gets short ones). Measured on the bundled model (BENCHMARKS.md, section 8): 3 cost 1.41× the time of 1 and gave 2.13 distinct suggestions per request, hence 3 on request and 1 while typing.',
  }),
  speculate: bool({
    default: true,
    onChange: 'none',
    description:
      'While a suggestion is shown, compute the next one as if it were accepted, so it appears at once after Tab. Runs only while nothing else does; any other keystroke cancels it. Measured (BENCHMARKS.md, section 8): ghost text within 30 ms after 21-28% of accepts against 0% without, hence on.',
  }),
  warmCache: bool({
    default: true,
    onChange: 'none',
    description:
      "Warm the model's prompt (KV) cache where the cursor goes: after a click or a command to another line, a keyboard move of 10 lines or more, switching editors or opening a file, the prompt there is run through the model ahead of the first keystroke, so that first completion does not start cold. Runs only while nothing else does; any completion request stops it, so it never delays one. Measured (BENCHMARKS.md, section 18): the first request after a jump took 0.74× the time (median) when the user paused 1.5 s before typing, and the same time after a 0.5 s pause, hence on; it costs CPU time on jumps not followed by typing.",
  }),
  disabledLanguages: strings({
    default: [],
    onChange: 'none',
    description: 'Language ids never completed in (set from the status bar menu: "Disable for this language").',
  }),
  logLevel: oneOf<LogLevelName>({
    default: 'info',
    onChange: 'none',
    description: 'Log level of the bytefill output channel.',
    values: {
      debug: 'Everything, including per-request details.',
      info: 'Model loads and other notable events.',
      warn: 'Warnings (e.g. invalid settings) and errors.',
      error: 'Failures only.',
      off: 'Nothing.',
    },
  }),
  int8Activations: bool({
    default: true,
    onChange: 'reloadEngine',
    description:
      'On the CPU, run 4-bit (MatMulNBits) layers with int8 activations and integer kernels where the model asks for float ones: the same weights; on a 0.5B model a decode step 1.5-3x faster and warm keystrokes faster, but a long cold prompt (512 tokens) up to 2.6x slower to read on a CPU without VNNI. On a test model the next-token distribution moved by under 0.002 nats (KL) and greedy tokens did not change. The changed graph is cached. Turn off to run the model exactly as exported.',
  }),
  kvCacheMB: num({
    default: DEFAULT_KV_CACHE_MB,
    minimum: 0,
    maximum: 65536,
    onChange: 'reloadEngine',
    description:
      "Memory for each model's prompt (KV) cache, in MiB. One token of context costs layers × KV heads × head size × 2 × bytes per element; the status shows it for the loaded model.",
  }),
  engineIsolation: oneOf<'worker' | 'process' | 'none'>({
    default: 'worker',
    onChange: 'reloadEngine',
    description:
      "Where models run, away from the language server so that it stays responsive (status, cancel, edits) while a model runs: `worker` a worker thread, `process` a child process (also survives a native crash of onnxruntime; more memory), `none` the server's own thread (debugging). An engine that dies is restarted.",
    values: {
      worker: 'A worker thread.',
      process: 'A child process: also survives a native crash of onnxruntime; uses more memory.',
      none: "The language server's own thread (debugging): the server waits for every forward.",
    },
  }),
  workerHeapMB: int({
    default: 0,
    minimum: 0,
    maximum: 65536,
    onChange: 'reloadEngine',
    description: "JavaScript heap limit of the engine worker in MiB (0 = Node's default). Model weights and the KV cache are outside it.",
  }),
  engineWatchdogMs: int({
    default: 10000,
    minimum: 0,
    maximum: 3600000,
    onChange: 'reloadEngine',
    description:
      "Watchdog of the engine worker (0 = off): a completion that has not answered within its time budget (`maxTimeMs`) plus this grace, or plus `maxTimeMs` again if that is longer, is stopped and the engine restarted. A child process (`engineIsolation: process`) is killed at once, even inside a native call; a worker thread is terminated at its next JavaScript point (a native onnxruntime call cannot be interrupted).",
  }),
  engineLoadTimeoutS: int({
    default: 300,
    minimum: 0,
    maximum: 86400,
    onChange: 'reloadEngine',
    description:
      'Longest a model load may take in the engine worker, in seconds (0 = no limit). Each Hub download progress report restarts the clock, so a slow but moving download is not stopped.',
  }),
  engineMemoryMB: int({
    default: 0,
    minimum: 0,
    maximum: 1048576,
    onChange: 'reloadEngine',
    description:
      "Memory cap of the engine in MiB (0 = off, the default: the right cap depends on the model, and a cap too low would stop a legitimate one; set it when loading models you do not trust). Sampled every 500 ms: with `engineIsolation: process` the child's resident memory (Linux only; elsewhere the cap is not applied and a line is logged); with `worker` the whole server process's resident memory minus what it used before the worker started (an approximation: the server's own growth counts too). Over the cap, the engine is stopped, the reason shown in the status, and the engine restarted.",
  }),
  prefixChars: int({
    default: 6000,
    minimum: 0,
    maximum: 200000,
    onChange: 'clearCache',
    manifest: false,
    description: 'Characters before the cursor sent to the engine (which then trims by tokens).',
  }),
  suffixChars: int({
    default: 2000,
    minimum: 0,
    maximum: 100000,
    onChange: 'clearCache',
    manifest: false,
    description: 'Characters after the cursor sent to the engine (which then trims by tokens).',
  }),
};

export type SettingKey = keyof typeof SETTINGS;
export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

/** Keys the editor's settings UI shows (and the extension reads). */
export const EDITOR_SETTING_KEYS: SettingKey[] = SETTING_KEYS.filter((k) => SETTINGS[k].manifest !== false);

/** Keys whose change has the given effect. */
export function keysWith(effect: OnChange): SettingKey[] {
  return SETTING_KEYS.filter((k) => SETTINGS[k].onChange === effect);
}

type ValueOf<S> = S extends EnumSetting<infer T>
  ? T
  : S extends BooleanSetting
    ? boolean
    : S extends NumberSetting
      ? number
      : S extends StringListSetting
        ? string[]
        : S extends NumberListSetting
          ? number[]
          : never;

/** Settings by flat key (`uscd.alpha`). */
export type FlatSettings = { [K in SettingKey]: ValueOf<(typeof SETTINGS)[K]> };

type SubKeys<T, H extends string> = { [K in keyof T & string as K extends `${H}.${infer R}` ? R : never]: T[K] };
/** Dotted keys become nested objects: {'uscd.alpha': number} -> {uscd: {alpha: number}}. */
export type Nested<T> = {
  [K in keyof T & string as K extends `${infer H}.${string}` ? H : K]: K extends `${infer H}.${string}` ? Nested<SubKeys<T, H>> : T[K];
};

/** Reads a dotted key of a nested settings object (`uscd.alpha` -> o.uscd.alpha). */
export function valueAt(o: unknown, key: string): unknown {
  let cur: unknown = o;
  for (const part of key.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Writes a dotted key into a nested object, creating the objects on the way. */
export function setAt(o: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let cur = o;
  for (const part of parts.slice(0, -1)) {
    if (cur[part] === null || typeof cur[part] !== 'object') cur[part] = {};
    cur = cur[part] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]] = value;
}

/** Fresh (mutable) copy of a setting's default. */
export function defaultOf(spec: SettingSpec): unknown {
  return Array.isArray(spec.default) ? [...spec.default] : spec.default;
}

/**
 * Validates one value against its entry. Returns the value to use, or a one-line warning naming
 * the key and the default used instead.
 */
export function checkSetting(key: string, spec: SettingSpec, v: unknown): { value: unknown; warning?: string } {
  const def = defaultOf(spec);
  if (v === undefined || v === null) return { value: def };
  const bad = (expected: string) => ({ value: def, warning: `bytefill.${key}: expected ${expected}, got ${short(v)}; using ${JSON.stringify(def)}` });
  switch (spec.type) {
    case 'boolean':
      return typeof v === 'boolean' ? { value: v } : bad('a boolean');
    case 'number':
    case 'integer':
      if (typeof v !== 'number' || !Number.isFinite(v) || v < spec.minimum || v > spec.maximum) {
        return bad(`${spec.type === 'integer' ? 'an integer' : 'a number'} in [${spec.minimum}, ${spec.maximum}]`);
      }
      return { value: spec.type === 'integer' ? Math.round(v) : v };
    case 'enum': {
      const allowed = Object.keys(spec.values);
      return typeof v === 'string' && allowed.includes(v) ? { value: v } : bad(`one of ${allowed.join('|')}`);
    }
    case 'strings':
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) return bad('an array of strings');
      return { value: (v as string[]).map((s) => s.trim()).filter((s) => s.length > 0) };
    case 'numbers':
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= spec.minimum)) {
        return bad(`an array of numbers >= ${spec.minimum}`);
      }
      return { value: [...(v as number[])] };
  }
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}
