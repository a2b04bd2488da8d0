// FIM prompt conventions, detected from the tokenizer's special tokens (or config.json's `fim`).
import { BytefillError, FimOverride } from '../core/types';
import { Tokenizer } from '../tokenizer/tokenizer';

export type FimFormat = 'PSM' | 'SPM';

export interface FimConvention {
  name: string;
  prefix: string;
  suffix: string;
  middle: string;
  /** End-of-middle / end-of-text strings, the first that exists is used. */
  eot: string[];
}

/** The four conventions we know, in detection order. */
export const FIM_CONVENTIONS: FimConvention[] = [
  { name: 'starcoder', prefix: '<fim_prefix>', suffix: '<fim_suffix>', middle: '<fim_middle>', eot: ['<|endoftext|>', '<file_sep>'] },
  { name: 'qwen', prefix: '<|fim_prefix|>', suffix: '<|fim_suffix|>', middle: '<|fim_middle|>', eot: ['<|endoftext|>', '<|fim_pad|>', '<|file_sep|>', '<|im_end|>'] },
  { name: 'codellama', prefix: '<PRE>', suffix: '<SUF>', middle: '<MID>', eot: ['<EOT>', '</s>'] },
  { name: 'deepseek', prefix: '<｜fim▁begin｜>', suffix: '<｜fim▁hole｜>', middle: '<｜fim▁end｜>', eot: ['<｜end▁of▁sentence｜>', '<|EOT|>'] },
];

export interface FimTemplate {
  name: string;
  format: FimFormat;
  prefixId: number;
  suffixId: number;
  middleId: number;
}

export interface PromptTemplate {
  /** null when the model has no FIM tokens (or FIM is disabled): left-to-right prompting. */
  fim: FimTemplate | null;
  /** Token ids that end generation (end of middle / end of text). */
  stopIds: Set<number>;
  /** The id that ends a middle (or a document), for scoring complete middles. */
  eotId: number | null;
}

export function detectTemplate(tok: Tokenizer, configFim: any, override: FimOverride = {}, eosTokenId?: number | number[] | null): PromptTemplate {
  const stopIds = new Set<number>();
  const addStop = (s: string | undefined) => {
    const id = s !== undefined ? tok.tokenId(s) : undefined;
    if (id !== undefined) stopIds.add(id);
  };
  for (const id of [eosTokenId ?? []].flat()) if (typeof id === 'number') stopIds.add(id);
  // Any special token ends the middle: a model that emits <fim_prefix> or <file_sep> has finished.
  for (const id of tok.specialIds) stopIds.add(id);

  const eos = [eosTokenId ?? []].flat().find((x): x is number => typeof x === 'number');
  const eotId = eos ?? tok.tokenId('<|endoftext|>') ?? null;
  if (override.disabled) return { fim: null, stopIds, eotId };
  const explicit = override.prefix || override.suffix || override.middle ? override : configFim;
  let conv: { name: string; prefix: string; suffix: string; middle: string; eot: string[] } | undefined;
  if (explicit?.prefix && explicit?.suffix && explicit?.middle) {
    conv = { name: override.prefix ? 'custom' : 'config', prefix: explicit.prefix, suffix: explicit.suffix, middle: explicit.middle, eot: [explicit.eot].filter(Boolean) };
  } else {
    conv = FIM_CONVENTIONS.find((c) => [c.prefix, c.suffix, c.middle].every((s) => tok.tokenId(s) !== undefined));
  }
  if (!conv) return { fim: null, stopIds, eotId };
  const ids = [conv.prefix, conv.suffix, conv.middle].map((s) => tok.tokenId(s));
  if (ids.some((id) => id === undefined)) {
    throw new BytefillError('TOKENIZER_MISMATCH', `FIM tokens ${conv.prefix} ${conv.suffix} ${conv.middle} are not all in the tokenizer`);
  }
  conv.eot.forEach(addStop);
  const fimEot = conv.eot.map((s) => tok.tokenId(s)).find((x): x is number => x !== undefined);
  const format: FimFormat = override.format ?? (explicit?.format === 'SPM' ? 'SPM' : 'PSM');
  return { fim: { name: conv.name, format, prefixId: ids[0]!, suffixId: ids[1]!, middleId: ids[2]! }, stopIds, eotId: fimEot ?? eotId };
}

/**
 * Token ids of the prompt. PSM: <PRE> prefix <SUF> suffix <MID>. SPM (StarCoder/CodeLlama variant):
 * <PRE> <SUF> suffix <MID> prefix. Without FIM: prefix only.
 */
export function buildPrompt(t: PromptTemplate, prefixIds: number[], suffixIds: number[]): number[] {
  const f = t.fim;
  if (!f) return prefixIds.slice();
  if (f.format === 'SPM') return [f.prefixId, f.suffixId, ...suffixIds, f.middleId, ...prefixIds];
  return [f.prefixId, ...prefixIds, f.suffixId, ...suffixIds, f.middleId];
}
