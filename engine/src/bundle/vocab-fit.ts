// Whether a tokenizer belongs to a model, and which logit rows are padding.
//
// Exports pad the embedding beyond the tokenizer for alignment: Qwen2.5/Qwen3 have 151,669
// tokenizer ids and 151,936 rows. Every tokenizer id must index a logit row; the surplus rows (and
// ids the tokenizer skips) are padding: no token, so they are never produced.
import { BytefillError } from '../core/types';
import { Tokenizer } from '../tokenizer/tokenizer';

/** The most padding rows accepted: 256, or 1% of the rows for large vocabularies. */
export function maxPaddingRows(modelVocab: number): number {
  return Math.max(256, Math.ceil(modelVocab * 0.01));
}

/** Returns the padding ids (rows of the model with no tokenizer id); throws when the two do not fit. */
export function paddingIds(tok: Tokenizer, modelVocab: number, where: string): Int32Array {
  const V = modelVocab;
  if (tok.vocabSize > V || V - tok.vocabSize > maxPaddingRows(V)) {
    throw new BytefillError(
      'TOKENIZER_MISMATCH',
      `tokenizer.json in ${where} has ${tok.vocabSize} ids but the model's vocabulary has ${V}` +
        (tok.vocabSize > V ? '' : ` (more than ${maxPaddingRows(V)} padding rows)`) +
        ': the tokenizer does not belong to this model',
    );
  }
  const ids: number[] = [];
  for (let id = 0; id < V; id++) if (!tok.hasId(id)) ids.push(id);
  return Int32Array.from(ids);
}
