// One loaded model with everything that belongs to it: tokenizer, prompt template, vocabulary
// index for the byte layer, and its prefix KV cache.
import * as path from 'node:path';
import * as fs from 'node:fs';
import { BytefillError, Device, FimOverride, Logger } from '../core/types';
import { OnnxModel } from '../model/onnx-model';
import { Preflight, preflightModelFolder } from './preflight';
import { PrefixCache } from '../model/prefix-cache';
import { DEFAULT_KV_CACHE_MB } from '../core/defaults';

/** Prefix cache settings of a bundle (engine options kvCacheMB, prefillChunkTokens). */
export interface CacheOptions {
  kvCacheMB?: number;
  prefillChunkTokens?: number;
}
import { Tokenizer } from '../tokenizer/tokenizer';
import { detectTemplate, PromptTemplate } from '../fim/template';
import { VocabIndex } from '../byte/vocab-index';
import { paddingIds } from './vocab-fit';

export class ModelBundle {
  private vocabIndex?: VocabIndex;
  private current: OnnxModel;
  private prefixCache: PrefixCache;

  private constructor(
    model: OnnxModel,
    readonly tok: Tokenizer,
    readonly template: PromptTemplate,
    /** What a reload on the CPU (after a device failure) needs from the first load. */
    private readonly cpuLoad: { threads?: number; int8Activations?: boolean },
    private readonly cacheOptions: CacheOptions = {},
  ) {
    this.current = model;
    this.prefixCache = this.newCache(model);
  }

  private newCache(model: OnnxModel): PrefixCache {
    const mb = this.cacheOptions.kvCacheMB ?? DEFAULT_KV_CACHE_MB;
    return new PrefixCache(model, { maxEntries: 4, maxBytes: Math.round(mb * 2 ** 20), chunkTokens: this.cacheOptions.prefillChunkTokens });
  }

  get model(): OnnxModel {
    return this.current;
  }

  get cache(): PrefixCache {
    return this.prefixCache;
  }

  /**
   * After a device failure: the same model file on the CPU provider, with an empty prefix cache.
   * The old model is released; errors from releasing a failed device are ignored.
   */
  async moveToCpu(): Promise<void> {
    if (this.current.provider === 'cpu') return;
    const old = this.current;
    const model = await OnnxModel.load(old.dir, { device: 'cpu', variant: old.file, threads: this.cpuLoad.threads, int8Activations: this.cpuLoad.int8Activations });
    this.prefixCache.clear();
    this.current = model;
    this.prefixCache = this.newCache(model);
    await old.dispose().catch(() => undefined);
  }

  static async load(
    dir: string,
    o: { device?: Device; variant?: string; threads?: number; int8Activations?: boolean; log?: Logger; fim?: FimOverride; preflight?: Preflight; name?: string } & CacheOptions,
  ): Promise<ModelBundle> {
    // Everything small and untrusted is validated before the ONNX session (the large allocation).
    const { dir: abs, tokenizer: tok } = o.preflight ?? preflightModelFolder(dir, { variant: o.variant });
    const model = await OnnxModel.load(abs, { device: o.device, variant: o.variant, threads: o.threads, int8Activations: o.int8Activations, log: o.log, name: o.name });
    // The tokenizer must belong to the model: every id it can produce must index the logits;
    // surplus rows are padding, never produced (see vocab-fit.ts).
    try {
      model.setBannedIds(paddingIds(tok, model.config.vocabSize, abs));
    } catch (e) {
      await model.dispose();
      throw e;
    }
    const template = detectTemplate(tok, model.config.fim, o.fim, model.config.eosTokenId);
    return new ModelBundle(model, tok, template, { threads: o.threads, int8Activations: o.int8Activations }, { kvCacheMB: o.kvCacheMB, prefillChunkTokens: o.prefillChunkTokens });
  }

  get name(): string {
    return this.model.name;
  }

  get index(): VocabIndex {
    return (this.vocabIndex ??= sharedIndex(this.tok));
  }

  async dispose(): Promise<void> {
    this.cache.clear();
    await this.model.dispose();
  }
}

/** One VocabIndex per Tokenizer object: ensemble members that share a tokenizer share its index. */
const indexes = new WeakMap<Tokenizer, VocabIndex>();
function sharedIndex(tok: Tokenizer): VocabIndex {
  let v = indexes.get(tok);
  if (!v) indexes.set(tok, (v = new VocabIndex(tok)));
  return v;
}

/** The bundled default model: models/tiny-code-b, found by walking up from this file. */
export function bundledModelsDir(): string {
  const fromEnv = process.env.BYTEFILL_MODELS_DIR;
  if (fromEnv) return fromEnv;
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'models', 'tiny-code-b', 'config.json'))) return path.join(dir, 'models');
    const up = path.dirname(dir);
    if (up === dir) throw new BytefillError('MODEL_NOT_FOUND', `bundled models not found above ${__dirname}; set BYTEFILL_MODELS_DIR or pass a model folder`);
    dir = up;
  }
}

export function defaultModelDir(): string {
  return path.join(bundledModelsDir(), 'tiny-code-b');
}
