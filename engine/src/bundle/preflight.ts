// Everything about a model folder that can be checked without onnxruntime: the folder, config.json
// (ranges), tokenizer.json (ids, patterns) and the graph file (a regular file, its size). Cheap and
// allocation-bounded, so a host can run it before it spends memory on a session, e.g. before it
// starts a worker with a memory cap sized from `onnxBytes`. ModelBundle.load runs it first too.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BytefillError } from '../core/types';
import { assertModelDir, findOnnxFile, loadModelConfig, ModelConfig } from '../model/config';
import { Tokenizer } from '../tokenizer/tokenizer';
import { paddingIds } from './vocab-fit';

export interface Preflight {
  dir: string;
  config: ModelConfig;
  tokenizer: Tokenizer;
  onnxFile: string;
  /** Size of the graph file plus its external-data files next to it, in bytes. */
  onnxBytes: number;
}

/**
 * `tokenizers`: tokenizers already loaded, by the SHA-256 of their tokenizer.json; a folder whose
 * tokenizer.json has the same bytes gets that very object instead of a second copy (members of an
 * ensemble from one model family: about 50 MB of heap and a few seconds of parsing each for a
 * 151k-id vocabulary). A Tokenizer is read-only after construction, so sharing it is safe.
 */
export function preflightModelFolder(dir: string, o: { variant?: string; tokenizers?: Map<string, Tokenizer> } = {}): Preflight {
  const abs = path.resolve(dir);
  assertModelDir(abs);
  const config = loadModelConfig(abs);
  const tokFile = path.join(abs, 'tokenizer.json');
  if (!fs.existsSync(tokFile)) {
    // existsSync is false for a dangling symlink too: say which.
    let dangling = false;
    try {
      dangling = fs.lstatSync(tokFile).isSymbolicLink();
    } catch {
      dangling = false;
    }
    throw new BytefillError('MODEL_INVALID', dangling ? `tokenizer.json in ${abs} is a symbolic link to a file that does not exist` : `Model folder ${abs} has no tokenizer.json`);
  }
  let tokenizer: Tokenizer;
  if (o.tokenizers) {
    const key = sha256File(tokFile);
    tokenizer = o.tokenizers.get(key) ?? Tokenizer.fromFile(tokFile);
    o.tokenizers.set(key, tokenizer);
  } else tokenizer = Tokenizer.fromFile(tokFile);
  // The tokenizer must belong to the model: every id it can produce must index the logits;
  // surplus rows are padding (vocab-fit.ts).
  paddingIds(tokenizer, config.vocabSize, abs);
  const onnxFile = findOnnxFile(abs, o.variant);
  let onnxBytes = fs.statSync(onnxFile).size;
  const stem = path.basename(onnxFile, '.onnx');
  for (const n of fs.readdirSync(path.dirname(onnxFile))) {
    // (not the graphs the engine derives and caches beside it: *.keep-*, *.ort-*)
    if (n !== path.basename(onnxFile) && n.startsWith(stem) && !n.endsWith('.onnx') && !/\.(keep|ort)-/.test(n)) onnxBytes += fs.statSync(path.join(path.dirname(onnxFile), n)).size;
  }
  return { dir: abs, config, tokenizer, onnxFile, onnxBytes };
}

/** SHA-256 of a file read in 1 MiB pieces (the tokenizer size limit applies when it is parsed). */
function sha256File(file: string): string {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}
