// Warming the prefix KV cache: the prompt a completion at this point would run through the model
// is prefilled now (no decoding), so the first request there, or one typed a few characters
// later, starts from cached KV. The prompt is built by the same functions the completions use
// (single model, ensembles and USCD's standard prompt all prefill these ids), so the request's
// prefill finds it. A byte-mode warm-up also builds the byte layer's per-tokenizer tables, which
// the first byte-mode request would otherwise build (0.5 s at a 151k vocabulary).
import { BytefillError, WarmModelResult, WarmRequest } from '../core/types';
import { ModelBundle } from '../bundle/model-bundle';
import { MergeValidity } from '../byte/validity';
import { boundaryPrompt, preparePrompt, promptIds, PromptBudget } from './prompt';

/** The ids completeSingle / the ensemble prefill for this request in its boundary mode. */
export function warmPromptIds(b: ModelBundle, req: WarmRequest, budget: PromptBudget): number[] {
  const mode = req.mode ?? 'byte';
  const p = preparePrompt(b, req, budget);
  if (mode === 'byte') return boundaryPrompt(b, p).prompt;
  if (mode !== 'token' && mode !== 'heal') throw new BytefillError('BAD_ARGUMENT', `unknown mode '${mode}' (expected token, heal or byte)`);
  let prefixIds = b.tok.encode(p.prefix);
  // Token healing backs up the last prefix token (single-model.ts does the same).
  if (mode === 'heal' && prefixIds.length > 0 && !b.tok.isSpecial(prefixIds[prefixIds.length - 1])) prefixIds = prefixIds.slice(0, -1);
  return promptIds(b, p, prefixIds);
}

/** Prefills one model's prompt for `req`. Throws ABORTED when the signal fires (work done so far stays cached). */
export async function warmBundle(b: ModelBundle, req: WarmRequest, budget: PromptBudget): Promise<WarmModelResult> {
  const ids = warmPromptIds(b, req, budget);
  const pre = await b.cache.prefill(ids, { signal: req.signal });
  return { model: b.name, promptTokens: ids.length, cachedTokens: pre.reused, computedTokens: pre.computed };
}

/**
 * Builds what the byte layer reads for this model's tokenizer (its vocabulary index and the BPE
 * merge tables; with `pairRows` also those of whole-vocabulary pair rows, which ensembles' exact
 * distributions read), one table per turn of the event loop, stopping with ABORTED at the first
 * turn after `signal` fires (what was built stays: the tables are kept per tokenizer).
 */
export async function prepareByteLayer(b: ModelBundle, pairRows: boolean, signal?: AbortSignal): Promise<void> {
  // Steps already done return at once (the tables are built on first use and kept).
  for (const step of [() => void b.index, ...MergeValidity.for(b.tok).preparation(pairRows)]) {
    if (signal?.aborted) throw new BytefillError('ABORTED', 'warm-up cancelled');
    step();
    await new Promise((resolve) => setImmediate(resolve));
  }
}
