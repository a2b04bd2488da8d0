// Completion with one model in the three prompt-boundary modes:
//   token: encode the prefix as it is (the naive prompt);
//   heal:  back up the last prefix token and constrain the first generated token to extend it;
//   byte:  move the last pre-token piece into the middle and choose a cover of it by probability
//          (exact byte-level conditioning), then continue with ordinary token decoding.
import { BytefillError, CompletionItem, CompletionRequest, CompletionResult, StageTimings, StopReason } from '../core/types';
import { DEFAULT_MAX_TOKENS } from '../core/defaults';
import { ModelBundle } from '../bundle/model-bundle';
import { CoverTree } from '../byte/cover-tree';
import { OnnxBranchLM } from '../byte/onnx-lm';
import { generate, GenerateResult } from '../decode/generate';
import { generateBatch, RowStart } from '../decode/batch-generate';
import { softmax } from '../decode/distribution';
import { alternativeCovers, alternativeFirstTokens } from './candidates';
import { Sampler } from '../decode/sampler';
import { PlainStepper, TokenStepper } from '../decode/stepper';
import { startsWithBytes } from '../tokenizer/utf8';
import { boundaryPrompt, PreparedPrompt, preparePrompt, promptIds, PromptBudget } from './prompt';
import { KVState } from '../model/kv-state';

export interface SingleModelDeps {
  /** Builds the stepper used after the boundary (plain, or USCD's two-prompt stepper). */
  makeStepper?: (ctx: StepperContext) => Promise<TokenStepper>;
}

export interface StepperContext {
  bundle: ModelBundle;
  prepared: PreparedPrompt;
  /** The standard prompt's state and logits after the boundary fix (ready for the next token). */
  state: KVState;
  logits: Float32Array;
  /** Tokens of the middle already decided by the boundary fix (moved prefix + cover token). */
  middleIds: number[];
  /** The prefix ids the standard prompt used (a cut of the prefix in byte/heal modes). */
  prefixIds: number[];
  signal?: AbortSignal;
}

/** Default of CompletionRequest.candidateExtraMs. */
export const DEFAULT_CANDIDATE_EXTRA_MS = 250;

export async function completeSingle(b: ModelBundle, req: CompletionRequest, budget: PromptBudget, deps: SingleModelDeps = {}): Promise<CompletionResult> {
  const t0 = performance.now();
  const mode = req.mode ?? 'byte';
  const sampler = new Sampler(req.sampling);
  const p = preparePrompt(b, req, budget);
  const timings: StageTimings = { queueMs: 0, promptMs: 0, prefillMs: 0, coversMs: 0, decodeMs: 0 };
  let mark = t0;
  const lap = (stage: keyof StageTimings) => {
    const now = performance.now();
    timings[stage] += now - mark;
    mark = now;
  };
  // Alternatives decode in a batch with plain steppers only (USCD brings its own stepper).
  const wanted = deps.makeStepper ? 1 : Math.max(1, Math.floor(req.candidates ?? 1));
  let items: CompletionItem[] | undefined;
  const batchOpts = () => ({
    model: b.model,
    tokenizer: b.tok,
    sampler,
    stopIds: b.template.stopIds,
    stopStrings: req.stop,
    stopAfterLeadingWhitespace: req.stopAfterLeadingWhitespace,
    signal,
    deadline,
    extraMs: req.candidateExtraMs ?? DEFAULT_CANDIDATE_EXTRA_MS,
    extraSteps: req.candidateExtraSteps ?? 0,
  });
  const maxTokensWanted = req.maxTokens ?? DEFAULT_MAX_TOKENS;
  const deadline = req.maxTimeMs !== undefined ? Date.now() + req.maxTimeMs : undefined;
  const signal = req.signal;
  const stepperFor = async (state: KVState, logits: Float32Array, prefixIds: number[], middleIds: number[]) =>
    deps.makeStepper ? deps.makeStepper({ bundle: b, prepared: p, state, logits, middleIds, prefixIds, signal }) : new PlainStepper(b.model, state, logits);

  let prompt: number[];
  let gen: GenerateResult;
  let covers: number | undefined;
  let cachedTokens = 0;
  let coverAt: number | undefined;
  const maxTokensFor = (promptLen: number) => Math.max(0, Math.min(maxTokensWanted, b.model.config.maxPositions - promptLen - 2));

  if (mode === 'token' || mode === 'heal') {
    let prefixIds = b.tok.encode(p.prefix);
    let removed: Uint8Array | null = null;
    if (mode === 'heal' && prefixIds.length > 0 && !b.tok.isSpecial(prefixIds[prefixIds.length - 1])) {
      removed = b.tok.tokenBytes(prefixIds[prefixIds.length - 1]);
      prefixIds = prefixIds.slice(0, -1);
    }
    prompt = promptIds(b, p, prefixIds);
    lap('promptMs');
    const pre = await b.cache.prefill(prompt, signal);
    lap('prefillMs');
    cachedTokens = pre.reused;
    const healed = removed;
    const allowed = healed ? (id: number) => !b.tok.isSpecial(id) && startsWithBytes(b.tok.tokenBytes(id), healed) : undefined;
    if (wanted > 1) {
      const probs = softmax(pre.lastLogits, sampler.greedy ? 1 : sampler.opts.temperature!);
      const first = sampler.pick(probs, allowed);
      const alts = first < 0 || b.template.stopIds.has(first) ? [] : alternativeFirstTokens(b.tok, probs, first, wanted - 1, { stopIds: b.template.stopIds, stops: req.stopAfterLeadingWhitespace ? undefined : req.stop, allowed, dropBytes: healed?.length ?? 0 });
      const maxTokens = maxTokensFor(prompt.length);
      const starts: RowStart[] = [first, ...alts].map((forced) => ({ state: pre.state, logits: pre.lastLogits, initialBytes: new Uint8Array(0), forced, maxTokens }));
      const rows = await generateBatch(starts, { ...batchOpts(), dropPrefixBytes: healed?.length ?? 0 });
      gen = { text: rows[0].text, tokens: rows[0].tokens, stopReason: rows[0].stopReason, steps: rows[0].tokens.length, contrastedSteps: 0 };
      items = rows.map((r) => ({ completion: r.text, stopReason: r.stopReason, generatedTokens: r.tokens.length }));
    } else gen = await generate({
      tokenizer: b.tok,
      stepper: await stepperFor(pre.state, pre.lastLogits, prefixIds, []),
      sampler,
      stopIds: b.template.stopIds,
      maxTokens: maxTokensFor(prompt.length),
      deadline,
      stopStrings: req.stop,
      stopAfterLeadingWhitespace: req.stopAfterLeadingWhitespace,
      signal,
      firstTokenAllowed: allowed,
      dropPrefixBytes: healed?.length ?? 0,
    });
  } else if (mode === 'byte') {
    const bp = boundaryPrompt(b, p);
    const u = bp.pending;
    const prefixIds = bp.prefixIds;
    prompt = bp.prompt;
    lap('promptMs');
    const pre = await b.cache.prefill(prompt, signal);
    lap('prefillMs');
    cachedTokens = pre.reused;
    const lm = new OnnxBranchLM(b.model);
    const tree = await CoverTree.build(b.tok, b.index, lm, lm.context(pre.state, pre.lastLogits), u, { stopIds: b.template.stopIds, greedy: sampler.greedy, lookahead: true }, signal);
    const temperature = sampler.greedy ? 1 : sampler.opts.temperature!;
    const cover = tree.pick(sampler.greedy, () => sampler.random(), temperature);
    coverAt = performance.now();
    covers = tree.rows.length;
    lap('coversMs');
    if (wanted > 1 && cover && !cover.end) {
      const picked = [cover, ...alternativeCovers(tree, cover, wanted - 1, req.stopAfterLeadingWhitespace ? undefined : req.stop)];
      const starts: RowStart[] = [];
      for (const c of picked) {
        const next = await lm.continueWith(tree.contextOf(c), [c.token], signal);
        starts.push({ state: next.state, logits: next.logits, initialBytes: tree.overhang(c), maxTokens: Math.max(0, maxTokensFor(prompt.length + tree.rows[c.row].ids.length + 1) - 1) });
      }
      const rows = await generateBatch(starts, batchOpts());
      gen = { text: rows[0].text, tokens: rows[0].tokens, stopReason: rows[0].stopReason, steps: rows[0].tokens.length + 1, contrastedSteps: 0 };
      items = rows.map((r) => ({ completion: r.text, stopReason: r.stopReason, generatedTokens: r.tokens.length }));
    } else if (!cover || cover.end) {
      gen = { text: '', tokens: [], stopReason: 'eot', steps: 0, contrastedSteps: 0 };
    } else {
      const row = tree.rows[cover.row];
      const next = await lm.continueWith(tree.contextOf(cover), [cover.token], signal);
      gen = await generate({
        tokenizer: b.tok,
        stepper: await stepperFor(next.state, next.logits, prefixIds, [...row.ids, cover.token]),
        sampler,
        stopIds: b.template.stopIds,
        maxTokens: Math.max(0, maxTokensFor(prompt.length + row.ids.length + 1) - 1),
        deadline,
        stopStrings: req.stop,
        stopAfterLeadingWhitespace: req.stopAfterLeadingWhitespace,
        signal,
        initialBytes: tree.overhang(cover),
      });
      gen.steps += 1;
    }
  } else {
    throw new BytefillError('BAD_ARGUMENT', `unknown mode '${mode}' (expected token, heal or byte)`);
  }
  lap('decodeMs');
  const stopReason: StopReason = signal?.aborted ? 'aborted' : gen.stopReason;
  return {
    items: items ? distinctItems(items) : undefined,
    timings,
    completion: gen.text,
    mode,
    models: [b.name],
    promptTokens: prompt.length,
    generatedTokens: gen.tokens.length,
    ms: performance.now() - t0,
    stopReason,
    covers,
    steps: gen.steps,
    contrastedSteps: deps.makeStepper ? gen.contrastedSteps : undefined,
    cachedTokens,
    contextTokens: p.snippetIds.length,
    contextSnippets: p.contextSnippets,
    ...(req.returnContext && p.snippetIds.length > 0 && { context: b.tok.decode(p.snippetIds) }),
    firstTokenMs: (coverAt ?? gen.firstTokenAt ?? performance.now()) - t0,
  };
}

/**
 * The first item, then the other finished ones, distinct by text. An alternative cut off by the time
 * cap is dropped (it is unfinished); an empty one says nothing.
 */
function distinctItems(items: CompletionItem[]): CompletionItem[] {
  const out = [items[0]];
  const seen = new Set([items[0].completion]);
  for (const it of items.slice(1)) {
    if (it.stopReason === 'max_time' || it.stopReason === 'aborted' || it.completion.length === 0 || seen.has(it.completion)) continue;
    seen.add(it.completion);
    out.push(it);
  }
  return out;
}
