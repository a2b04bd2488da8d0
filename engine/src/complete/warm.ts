// Warming the prefix KV cache: the prompt a completion at this point would run through the model
// is prefilled now (no decoding), so the first request there, or one typed a few characters
// later, starts from cached KV. The prompt is built by the same functions the completions use
// (single model, ensembles and USCD's standard prompt all prefill these ids), so the request's
// prefill finds it.
import { BytefillError, WarmModelResult, WarmRequest } from '../core/types';
import { ModelBundle } from '../bundle/model-bundle';
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
