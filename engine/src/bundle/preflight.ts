// Everything about a model folder that can be checked without onnxruntime: the folder, config.json
// (ranges), tokenizer.json (ids, patterns) and the graph file (a regular file, its size). Cheap and
// allocation-bounded, so a host can run it before it spends memory on a session, e.g. before it
// starts a worker with a memory cap sized from `onnxBytes`. ModelBundle.load runs it first too.
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

export function preflightModelFolder(dir: string, o: { variant?: string } = {}): Preflight {
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
  const tokenizer = Tokenizer.fromFile(tokFile);
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
