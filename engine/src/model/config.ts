// Reads a model folder in the Hugging Face ONNX decoder layout (config.json + onnx/*.onnx).
// Errors are BytefillErrors with messages meant for users: they name the file and the problem.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { BytefillError } from '../core/types';
import { checkRegularFile, BoundedReadError } from '../core/bounded-read';
import { checkModelFolder, configInt, configTokenIds, readModelJson } from './validate';

export interface ModelReference {
  input_ids: number[];
  last_logits_first8: number[];
  last_argmax: number;
}

export interface ModelConfig {
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  /** Heads of the KV cache; < numHeads for grouped-query attention. */
  numKvHeads: number;
  headDim: number;
  maxPositions: number;
  eosTokenId: number | number[] | null;
  /** The optional `fim` object of config.json, verbatim. */
  fim?: Record<string, unknown>;
  /** Last-position logits of a fixed input, to check a runtime against. */
  reference?: ModelReference;
}

/** Throws MODEL_NOT_FOUND when `dir` is not a folder, MODEL_INVALID when it cannot be read. */
export function assertModelDir(dir: string): void {
  checkModelFolder(dir);
}

/** Reads and validates config.json (size, JSON, every sizing field within CONFIG_RANGES). */
export function loadModelConfig(dir: string): ModelConfig {
  assertModelDir(dir);
  const file = path.join(dir, 'config.json');
  const raw = readModelJson(file, 'Model config');
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new BytefillError('MODEL_INVALID', `Model config invalid: ${file} must hold a JSON object`);
  }
  const c = raw as Record<string, unknown>;
  const bad = (what: string): never => {
    throw new BytefillError('MODEL_INVALID', `Model config invalid: ${file}: ${what}`);
  };
  const int = (key: string, fallback?: number): number => configInt(c, key, file, fallback);

  const vocabSize = int('vocab_size');
  const hiddenSize = int('hidden_size');
  const numLayers = int('num_hidden_layers');
  const numHeads = int('num_attention_heads');
  const numKvHeads = int('num_key_value_heads', numHeads);
  if (hiddenSize % numHeads !== 0 && c.head_dim == null) bad('"hidden_size" is not a multiple of "num_attention_heads" and "head_dim" is missing');
  const headDim = int('head_dim', hiddenSize / numHeads);
  if (numHeads % numKvHeads !== 0) bad(`"num_attention_heads" (${numHeads}) must be a multiple of "num_key_value_heads" (${numKvHeads})`);
  const maxPositions = int('max_position_embeddings', 2048);
  if (c.intermediate_size != null) int('intermediate_size');

  let eosTokenId: number | number[] | null = null;
  const eos = c.eos_token_id;
  if (typeof eos === 'number') eosTokenId = configTokenIds(eos, 'eos_token_id', file, vocabSize, 1)[0];
  else if (Array.isArray(eos)) eosTokenId = configTokenIds(eos, 'eos_token_id', file, vocabSize, 64);
  else if (eos !== undefined && eos !== null) bad(`"eos_token_id" must be an integer, a list of integers or null`);

  const cfg: ModelConfig = { vocabSize, hiddenSize, numLayers, numHeads, numKvHeads, headDim, maxPositions, eosTokenId };
  if (c.fim !== undefined && c.fim !== null) {
    if (typeof c.fim !== 'object' || Array.isArray(c.fim)) bad('"fim" must be an object');
    cfg.fim = c.fim as Record<string, unknown>;
  }
  const r = c.reference as Record<string, unknown> | undefined;
  if (r && typeof r === 'object' && Array.isArray(r.input_ids) && Array.isArray(r.last_logits_first8) && typeof r.last_argmax === 'number') {
    cfg.reference = {
      input_ids: configTokenIds(r.input_ids, 'reference.input_ids', file, vocabSize, 4096),
      last_logits_first8: r.last_logits_first8 as number[],
      last_argmax: r.last_argmax,
    };
  }
  return cfg;
}

/**
 * Resolves the ONNX file of a model folder. variant: undefined -> onnx/model.onnx;
 * 'quantized' | 'fp16' | 'x' -> onnx/model_<x>.onnx; 'name.onnx' -> onnx/name.onnx;
 * an absolute path (or one with a separator, relative to `dir`) is used as it is.
 */
export function findOnnxFile(dir: string, variant?: string): string {
  assertModelDir(dir);
  const onnxDir = path.join(dir, 'onnx');
  let file: string;
  if (variant === undefined || variant === '' || variant === 'default') file = path.join(onnxDir, 'model.onnx');
  else if (path.isAbsolute(variant)) file = variant;
  else if (variant.includes('/') || variant.includes(path.sep)) file = path.resolve(dir, variant);
  else if (variant.endsWith('.onnx')) file = path.join(onnxDir, variant);
  else file = path.join(onnxDir, `model_${variant}.onnx`);

  if (fs.existsSync(file)) {
    // Regular files only: onnxruntime would block forever on a FIFO and read /dev/zero without end.
    // No size limit here: real weights are gigabytes (the memory cap belongs to the host).
    try {
      checkRegularFile(file, Number.MAX_SAFE_INTEGER);
    } catch (e) {
      if (e instanceof BoundedReadError) throw new BytefillError('MODEL_INVALID', `Model file invalid: ${file} ${e.detail}`);
      throw e;
    }
    checkExternalData(file);
    return file;
  }
  let present: string[] = [];
  try {
    // (not the graphs the engine derives and caches there: *.keep-*.onnx, *.ort-*.onnx)
    present = fs.readdirSync(onnxDir).filter((f) => f.endsWith('.onnx') && !/\.(keep|ort)-/.test(f)).sort();
  } catch {
    present = [];
  }
  const have = present.length ? `files present in ${onnxDir}: ${present.join(', ')}` : `no .onnx files in ${onnxDir}`;
  throw new BytefillError('MODEL_INVALID', `Model file missing: ${file} does not exist (${have})`);
}

/** External-data files next to the graph (model.onnx_data, model.onnx.data, ...) must be regular files too. */
function checkExternalData(onnxFile: string): void {
  const dir = path.dirname(onnxFile);
  const stem = path.basename(onnxFile, '.onnx');
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    if (n === path.basename(onnxFile) || !n.startsWith(stem) || n.endsWith('.onnx')) continue;
    try {
      checkRegularFile(path.join(dir, n), Number.MAX_SAFE_INTEGER);
    } catch (e) {
      if (e instanceof BoundedReadError && e.problem !== 'missing') {
        throw new BytefillError('MODEL_INVALID', `Model file invalid: ${path.join(dir, n)} ${e.detail}`);
      }
    }
  }
}
