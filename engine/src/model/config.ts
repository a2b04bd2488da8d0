// Reads a model folder in the Hugging Face ONNX decoder layout (config.json + onnx/*.onnx).
// Errors are BytefillErrors with messages meant for users: they name the file and the problem.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { BytefillError } from '../core/types';

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

/** Throws MODEL_NOT_FOUND when `dir` is not a folder. */
export function assertModelDir(dir: string): void {
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(dir);
  } catch {
    st = undefined;
  }
  if (!st || !st.isDirectory()) throw new BytefillError('MODEL_NOT_FOUND', `Model folder not found: ${dir}`);
}

export function loadModelConfig(dir: string): ModelConfig {
  assertModelDir(dir);
  const file = path.join(dir, 'config.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new BytefillError('MODEL_INVALID', `Model config missing: ${file} does not exist or cannot be read`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new BytefillError('MODEL_INVALID', `Model config invalid: ${file} is not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new BytefillError('MODEL_INVALID', `Model config invalid: ${file} must hold a JSON object`);
  }
  const c = raw as Record<string, unknown>;
  const bad = (what: string): never => {
    throw new BytefillError('MODEL_INVALID', `Model config invalid: ${file}: ${what}`);
  };
  const int = (key: string, fallback?: number): number => {
    const v = c[key];
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      return bad(`"${key}" is missing`);
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) return bad(`"${key}" must be a positive integer (got ${JSON.stringify(v)})`);
    return v;
  };

  const vocabSize = int('vocab_size');
  const hiddenSize = int('hidden_size');
  const numLayers = int('num_hidden_layers');
  const numHeads = int('num_attention_heads');
  const numKvHeads = int('num_key_value_heads', numHeads);
  if (hiddenSize % numHeads !== 0 && c.head_dim == null) bad('"hidden_size" is not a multiple of "num_attention_heads" and "head_dim" is missing');
  const headDim = int('head_dim', hiddenSize / numHeads);
  if (numHeads % numKvHeads !== 0) bad(`"num_attention_heads" (${numHeads}) must be a multiple of "num_key_value_heads" (${numKvHeads})`);
  const maxPositions = int('max_position_embeddings', 2048);

  let eosTokenId: number | number[] | null = null;
  const eos = c.eos_token_id;
  if (typeof eos === 'number' && Number.isInteger(eos)) eosTokenId = eos;
  else if (Array.isArray(eos) && eos.every((x) => typeof x === 'number' && Number.isInteger(x))) eosTokenId = eos as number[];
  else if (eos !== undefined && eos !== null) bad(`"eos_token_id" must be an integer, a list of integers or null`);

  const cfg: ModelConfig = { vocabSize, hiddenSize, numLayers, numHeads, numKvHeads, headDim, maxPositions, eosTokenId };
  if (c.fim !== undefined && c.fim !== null) {
    if (typeof c.fim !== 'object' || Array.isArray(c.fim)) bad('"fim" must be an object');
    cfg.fim = c.fim as Record<string, unknown>;
  }
  const r = c.reference as Record<string, unknown> | undefined;
  if (r && typeof r === 'object' && Array.isArray(r.input_ids) && Array.isArray(r.last_logits_first8) && typeof r.last_argmax === 'number') {
    cfg.reference = {
      input_ids: r.input_ids as number[],
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

  if (fs.existsSync(file) && fs.statSync(file).isFile()) return file;
  let present: string[] = [];
  try {
    present = fs.readdirSync(onnxDir).filter((f) => f.endsWith('.onnx')).sort();
  } catch {
    present = [];
  }
  const have = present.length ? `files present in ${onnxDir}: ${present.join(', ')}` : `no .onnx files in ${onnxDir}`;
  throw new BytefillError('MODEL_INVALID', `Model file missing: ${file} does not exist (${have})`);
}
