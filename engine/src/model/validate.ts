// Validation of a model folder before anything sized by it is allocated: the folder is readable,
// its files are regular files under per-file size limits, and every config.json field that sizes
// an array or a tensor is an integer in a sane range. Errors name the file, the field and the
// limit, and never quote the file's content (it may be anything).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BytefillError } from '../core/types';
import { CONFIG_RANGES, modelFileLimit } from '../core/limits';
import { fileKind } from '../core/bounded-read';
import { readJsonFile } from '../core/json-file';

/** Throws MODEL_NOT_FOUND when `dir` is missing or not a folder, MODEL_INVALID when it cannot be read. */
export function checkModelFolder(dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') throw new BytefillError('MODEL_INVALID', `Model folder ${dir} cannot be read (permission denied)`);
    throw new BytefillError('MODEL_NOT_FOUND', `Model folder not found: ${dir}`);
  }
  if (!st.isDirectory()) throw new BytefillError('MODEL_NOT_FOUND', `Model folder not found: ${dir} is ${fileKind(st)}, not a folder`);
  try {
    fs.accessSync(dir, fs.constants.R_OK | fs.constants.X_OK);
    fs.readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code ?? 'error';
    throw new BytefillError('MODEL_INVALID', `Model folder ${dir} cannot be read (${why})`);
  }
}

/** Reads a JSON file of a model folder within its size limit ("Model config missing: ..."). */
export function readModelJson(file: string, what: string): unknown {
  return readJsonFile(file, modelFileLimit(path.basename(file)), what);
}

export type ConfigObject = Record<string, unknown>;

/**
 * An integer config field within CONFIG_RANGES[key]; `fallback` when absent (or null).
 * Throws a MODEL_INVALID that names file, field and range.
 */
export function configInt(c: ConfigObject, key: string, file: string, fallback?: number): number {
  const v = Object.prototype.hasOwnProperty.call(c, key) ? c[key] : undefined;
  if (v === undefined || v === null) {
    if (fallback !== undefined) return checkRange(key, fallback, file, true);
    throw new BytefillError('MODEL_INVALID', `Model config invalid: ${file}: "${key}" is missing`);
  }
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new BytefillError('MODEL_INVALID', `Model config invalid: ${file}: "${key}" must be a positive integer (got ${describeValue(v)})`);
  }
  return checkRange(key, v, file, false);
}

function checkRange(key: string, v: number, file: string, derived: boolean): number {
  const r = CONFIG_RANGES[key];
  if (v <= 0) throw new BytefillError('MODEL_INVALID', `Model config invalid: ${file}: "${key}" must be a positive integer (got ${v})`);
  if (r && (v < r[0] || v > r[1])) {
    throw new BytefillError(
      'MODEL_INVALID',
      `Model config invalid: ${file}: "${key}" is ${v}${derived ? ' (derived)' : ''}, outside the supported range ${r[0]}..${r[1]}`,
    );
  }
  return v;
}

/** A short description of a JSON value for messages: its type, or the number itself. */
export function describeValue(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

/** Ids in config.json (eos_token_id, reference.input_ids) must index the vocabulary. */
export function configTokenIds(v: unknown, key: string, file: string, vocabSize: number, maxCount: number): number[] {
  const list = Array.isArray(v) ? v : [v];
  if (list.length > maxCount) throw new BytefillError('MODEL_INVALID', `Model config invalid: ${file}: "${key}" has ${list.length} entries, over the limit of ${maxCount}`);
  for (const x of list) {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x >= vocabSize) {
      throw new BytefillError('MODEL_INVALID', `Model config invalid: ${file}: "${key}" must hold token ids in 0..${vocabSize - 1} (got ${describeValue(x)})`);
    }
  }
  return list as number[];
}
