// Shape and range checks of a tokenizer.json before anything is built from it: token ids index
// arrays (an added token with id 2e9 would allocate a 2e9-entry array), so every id, count and
// length is bounded first. Messages name the field and the limit, never the content.
import { BytefillError } from '../core/types';
import { TOKENIZER_LIMITS } from '../core/limits';

const L = TOKENIZER_LIMITS;

function bad(msg: string): never {
  throw new BytefillError('MODEL_INVALID', msg);
}

function checkId(id: unknown, where: string): void {
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= L.maxTokenId) {
    bad(`${where} must be an integer id in 0..${L.maxTokenId - 1} (got ${typeof id === 'number' ? id : typeof id})`);
  }
}

/** Throws MODEL_INVALID when the tokenizer JSON is out of shape or range (before any allocation). */
export function validateTokenizerJson(json: any): void {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) bad('the file must hold a JSON object');
  const model = json.model;
  if (model && typeof model === 'object' && model.vocab && typeof model.vocab === 'object' && !Array.isArray(model.vocab)) {
    const keys = Object.keys(model.vocab);
    if (keys.length > L.maxTokenId) bad(`model.vocab has ${keys.length} entries, over the limit of ${L.maxTokenId}`);
    for (const k of keys) {
      if (k.length > L.maxTokenLength) bad(`a model.vocab entry is ${k.length} characters long, over the limit of ${L.maxTokenLength}`);
      checkId(model.vocab[k], 'model.vocab values');
    }
  }
  if (model && typeof model === 'object' && model.merges !== undefined) {
    const m = model.merges;
    if (!Array.isArray(m)) bad('model.merges must be an array');
    if (m.length > L.maxMerges) bad(`model.merges has ${m.length} entries, over the limit of ${L.maxMerges}`);
    for (let i = 0; i < m.length; i++) {
      const x = m[i];
      const ok = typeof x === 'string' ? x.length <= 2 * L.maxTokenLength + 1
        : Array.isArray(x) && x.length === 2 && typeof x[0] === 'string' && typeof x[1] === 'string';
      if (!ok) bad(`model.merges[${i}] must be "a b" or ["a", "b"]`);
    }
  }
  const added = json.added_tokens;
  if (added !== undefined && added !== null) {
    if (!Array.isArray(added)) bad('added_tokens must be an array');
    if (added.length > L.maxAddedTokens) bad(`added_tokens has ${added.length} entries, over the limit of ${L.maxAddedTokens}`);
    added.forEach((t: any, i: number) => {
      if (typeof t !== 'object' || t === null) bad(`added_tokens[${i}] must be an object`);
      checkId(t.id, `added_tokens[${i}].id`);
      if (typeof t.content !== 'string' || t.content.length === 0) bad(`added_tokens[${i}].content must be a non-empty string`);
      if (t.content.length > L.maxTokenLength) bad(`added_tokens[${i}].content is ${t.content.length} characters long, over the limit of ${L.maxTokenLength}`);
    });
  }
}
