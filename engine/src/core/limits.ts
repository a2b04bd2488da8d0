// Limits on untrusted input: model folders (downloaded from the Hub) and files given to the CLI.
// Everything is checked against these before anything sized by the input is allocated, so a
// hostile folder fails with an error that names the file, the field and the limit. Exported so
// a host (the language server's engine worker) can show or apply the same limits.

const MiB = 1024 * 1024;

/** Most models one engine loads (an ensemble). */
export const MAX_ENSEMBLE_MODELS = 8;

/** Largest size accepted per file of a model folder, by file name. Real files: config.json a
 *  few KB, tokenizer.json 2-12 MB (Qwen, Llama-3, DeepSeek), tokenizer_config.json up to ~1 MB. */
export const MODEL_FILE_LIMITS: Readonly<Record<string, number>> = Object.freeze({
  'config.json': 1 * MiB,
  'generation_config.json': 1 * MiB,
  'special_tokens_map.json': 1 * MiB,
  'tokenizer_config.json': 16 * MiB,
  'tokenizer.json': 64 * MiB,
});

/** Size limit of a model-folder file (JSON files not listed get 1 MiB). */
export function modelFileLimit(name: string): number {
  return Object.prototype.hasOwnProperty.call(MODEL_FILE_LIMITS, name) ? MODEL_FILE_LIMITS[name] : 1 * MiB;
}

/** Inclusive ranges of config.json fields (far above any released decoder, far below what would
 *  exhaust memory in the arrays sized by them). */
export const CONFIG_RANGES: Readonly<Record<string, readonly [number, number]>> = Object.freeze({
  vocab_size: [1, 1 << 20],
  hidden_size: [1, 65536],
  num_hidden_layers: [1, 512],
  num_attention_heads: [1, 1024],
  num_key_value_heads: [1, 1024],
  head_dim: [1, 1024],
  max_position_embeddings: [1, 1 << 24],
  intermediate_size: [1, 1 << 20],
});

/** Tokenizer limits: ids index arrays of this length, so they are bounded before allocation. */
export const TOKENIZER_LIMITS = Object.freeze({
  /** Token ids (vocabulary and added tokens) must be below this. */
  maxTokenId: 1 << 20,
  maxMerges: 4_000_000,
  maxAddedTokens: 100_000,
  /** Longest vocabulary entry or added-token content, in UTF-16 units. */
  maxTokenLength: 4096,
  /** Longest pre-tokenizer pattern, in characters. */
  maxPatternLength: 4096,
});

/** Largest source file the CLI reads (--file, score --files). */
export const MAX_INPUT_FILE_BYTES = 64 * MiB;

/** CLI and engine option ranges. */
export const OPTION_RANGES = Object.freeze({
  threads: [1, 256] as const,
  temperature: [0, 100] as const,
  topP: [0, 1] as const,
  topK: [0, 1 << 20] as const,
  maxTokens: [0, 1 << 16] as const,
  maxBytes: [0, 1 << 30] as const,
});
