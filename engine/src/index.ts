// The engine's public entry: the language server, the CLI, the scripts and anyone using bytefill
// as a library import from here and nowhere deeper. Inside the engine, folders are layers that
// only import downwards (order in CONTRIBUTING.md, "Layers"; checked by test/layering.test.ts).

// Types, options and the error class shared by every layer.
export * from './core/types';
export * from './core/defaults';
export * from './core/rng';

// Limits on untrusted input (model folders, CLI files and options), the bounded file reader that
// applies them, and the model-folder preflight (every check that needs no onnxruntime session):
// for hosts that load models elsewhere (a worker with a memory cap) and check folders first.
export * from './core/limits';
export { BoundedReadError, checkRegularFile, readBounded } from './core/bounded-read';
export { Preflight, preflightModelFolder } from './bundle/preflight';

// The facade: load models once, complete many times (picks single model, ensemble or USCD).
export { CacheInfo, Engine, EngineInfo, ModelInfo } from './api/engine';
export { ModelBundle, defaultModelDir, bundledModelsDir } from './bundle/model-bundle';

// Models from the Hugging Face Hub: model specs, the shared cache, variant choice, downloads.
export * from './hub/index';

// The completion strategies Engine.complete chooses between, for callers that drive one directly
// (measurement scripts).
export { completeSingle } from './complete/single-model';
export * as ensemble from './ensemble/index';
export * as uscd from './uscd/index';

// Measurement: the evaluation harness, forward-pass timing, the raw model runtime.
export * from './eval/index';
export { measureForward } from './model/microbench';
export { measureBandwidth } from './model/bandwidth';
export { measureSampling } from './decode/sample-bench';
export { measureValidity, ValidityTiming } from './byte/validity';
export { OnnxModel } from './model/onnx-model';
export { PrefixCache, PrefixCacheStats, kvBytesPerToken } from './model/prefix-cache';
export { encodeModel } from './model/onnx-graph';
export { isValidUtf8 } from './tokenizer/utf8';
