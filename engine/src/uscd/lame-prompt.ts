// USCD's "lame" prompt: the same request with the informative context removed. The suffix and the
// extra snippets are dropped; the local prefix is kept exactly as the standard prompt used it
// (same prefixIds, so byte/heal-mode cuts agree), followed by the same middle tokens that the
// prompt-boundary fix already decided. For PSM FIM this is `<PRE> prefix <SUF> <MID> middleIds`,
// which shares `<PRE> prefix <SUF>` with the standard prompt (cheap prefill through the PrefixCache).
import { CompletionRequest } from '../core/types';
import { ModelBundle } from '../bundle/model-bundle';
import { preparePrompt, promptIds, PromptBudget } from '../complete/prompt';

export interface LamePrompt {
  /** The lame prompt proper (what the cache prefills): the prompt without context, before the middle. */
  base: number[];
  /** The middle tokens decided by the boundary fix, fed after `base`. */
  middleIds: number[];
  /** base ++ middleIds: the full token sequence the lame row conditions on. */
  ids: number[];
}

export function buildLamePrompt(b: ModelBundle, req: CompletionRequest, budget: PromptBudget, prefixIds: number[], middleIds: number[]): LamePrompt {
  const lame = preparePrompt(b, req, budget, { dropContext: true });
  const base = promptIds(b, lame, prefixIds);
  return { base, middleIds: middleIds.slice(), ids: [...base, ...middleIds] };
}
