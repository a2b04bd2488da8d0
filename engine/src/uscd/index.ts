// USCD (uncertainty-aware selective contrastive decoding) for one model. The Engine facade
// (api/engine.ts) calls completeUscdWith when req.uscd.enabled. The prompt-boundary fix
// (token/heal/byte) runs first as in plain completion; then UscdStepper decodes with the
// standard and the lame prompt as one batch.
import { DEFAULT_USCD } from '../core/defaults';
import { BytefillError, CompletionRequest, CompletionResult, UscdOptions } from '../core/types';
import { ModelBundle } from '../bundle/model-bundle';
import { completeSingle, StepperContext } from '../complete/single-model';
import { promptIds, PromptBudget } from '../complete/prompt';
import { PlainStepper, TokenStepper } from '../decode/stepper';
import { KVState } from '../model/kv-state';
import { buildLamePrompt } from './lame-prompt';
import { UscdParams, UscdStepper } from './stepper';

export { buildLamePrompt } from './lame-prompt';
export { contrast, applyTemperature } from './contrast';
export { gateOpen, uncertainty, DEFAULT_USCD_THRESHOLD } from './gate';
export { UscdStepper, UscdParams } from './stepper';

/** Defaults (and how they were chosen): core/defaults.ts. */
export const DEFAULT_USCD_PARAMS: UscdParams = { ...DEFAULT_USCD };

/** Fills defaults and validates; throws BAD_ARGUMENT with the offending value. */
export function resolveUscdParams(o: Partial<UscdOptions> = {}): UscdParams {
  const alpha = o.alpha ?? DEFAULT_USCD_PARAMS.alpha;
  const threshold = o.threshold ?? DEFAULT_USCD_PARAMS.threshold;
  const beta = o.beta ?? DEFAULT_USCD_PARAMS.beta;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha) || alpha < 0) {
    throw new BytefillError('BAD_ARGUMENT', `USCD alpha must be a finite number >= 0 (weight of the lame distribution), got ${String(alpha)}`);
  }
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) {
    throw new BytefillError('BAD_ARGUMENT', `USCD threshold must be between 0 and 1 (normalised entropy of the standard distribution), got ${String(threshold)}`);
  }
  if (typeof beta !== 'number' || !(beta > 0 && beta <= 1)) {
    throw new BytefillError('BAD_ARGUMENT', `USCD beta must be in (0, 1] (plausibility cut relative to the top probability), got ${String(beta)}`);
  }
  return { alpha, threshold, beta };
}

function sameIds(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The makeStepper for completeSingle: builds the lame row and returns the two-row stepper. */
export function uscdStepperFactory(req: CompletionRequest, budget: PromptBudget, params: UscdParams): (ctx: StepperContext) => Promise<TokenStepper> {
  return async (ctx) => {
    const b = ctx.bundle;
    const lame = buildLamePrompt(b, req, budget, ctx.prefixIds, ctx.middleIds);
    const stdIds = [...promptIds(b, ctx.prepared, ctx.prefixIds), ...ctx.middleIds];
    // No suffix and no snippets: the lame prompt is the standard prompt, and the contrast could only
    // rescale p_std. Decode plainly (no step counts as contrasted).
    if (sameIds(lame.ids, stdIds)) return new PlainStepper(b.model, ctx.state, ctx.logits);
    const pre = await b.cache.prefill(lame.base, ctx.signal);
    let lameState: KVState = pre.state;
    let lameLogits = pre.lastLogits;
    if (lame.middleIds.length > 0) {
      const r = await b.model.forward(pre.state, [lame.middleIds], { signal: ctx.signal });
      lameState = r.state;
      lameLogits = r.logits[0][0];
    }
    const stdState = ctx.state.onDevice ? await ctx.state.toHost() : ctx.state;
    if (lameState.onDevice) lameState = await lameState.toHost();
    return UscdStepper.create(b.model, { state: stdState, logits: ctx.logits }, { state: lameState, logits: lameLogits }, params);
  };
}

/** USCD completion with one model bundle (what Engine.complete runs when req.uscd.enabled). */
export async function completeUscdWith(bundle: ModelBundle, req: CompletionRequest, budget: PromptBudget): Promise<CompletionResult> {
  const params = resolveUscdParams(req.uscd);
  return completeSingle(bundle, req, budget, { makeStepper: uscdStepperFactory(req, budget, params) });
}
