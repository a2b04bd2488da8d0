// Builds the prompt pieces for one model and one request: budgets, snippets, and the split of the
// prefix at the prompt boundary that the byte layer works on.
import { CompletionRequest } from '../core/types';
import { ModelBundle } from '../bundle/model-bundle';
import { trimPrefix, trimSuffix } from '../fim/budget';
import { buildPrompt } from '../fim/template';
import { renderContext } from '../fim/context';
import { DEFAULT_MAX_TOKENS } from '../core/defaults';
import { utf8Encode } from '../tokenizer/utf8';
import { stableCommitPoint } from '../byte/lookahead';
import { Tokenizer } from '../tokenizer/tokenizer';

export interface PromptBudget {
  prefixTokens: number;
  suffixTokens: number;
  snippetTokens: number;
}

export const DEFAULT_BUDGET: PromptBudget = { prefixTokens: 600, suffixTokens: 200, snippetTokens: 160 };

/** Longest pending byte string the byte layer handles; longer last pieces are cut to their tail. */
const MAX_PENDING = 64;

export interface PreparedPrompt {
  prefix: string;
  suffix: string;
  prefixBytes: Uint8Array;
  suffixIds: number[];
  /** Tokens placed before the FIM prompt (extra context). */
  snippetIds: number[];
  /** How many snippets snippetIds holds. */
  contextSnippets: number;
}

export function preparePrompt(b: ModelBundle, req: CompletionRequest, budget: PromptBudget, opts: { dropContext?: boolean } = {}): PreparedPrompt {
  const prefix = trimPrefix(b.tok, req.prefix, budget.prefixTokens);
  const suffix = opts.dropContext ? '' : trimSuffix(b.tok, req.suffix, budget.suffixTokens);
  const suffixIds = b.template.fim ? b.tok.encode(suffix) : [];
  let snippetIds: number[] = [];
  let placed = 0;
  if (!opts.dropContext && req.snippets?.length) {
    // The context never pushes the local prompt or the generation out of the model's window.
    const local = b.tok.encode(prefix).length + suffixIds.length + 4;
    const room = b.model.config.maxPositions - local - (req.maxTokens ?? DEFAULT_MAX_TOKENS);
    const want = req.contextTokens ?? budget.snippetTokens;
    const r = renderContext(b.tok, req.snippets, Math.min(want, room), { path: req.path, lineComment: req.lineComment });
    snippetIds = r.ids;
    placed = r.placed;
  }
  return { prefix, suffix, prefixBytes: utf8Encode(prefix), suffixIds, snippetIds, contextSnippets: placed };
}

/** The prompt ids with `prefixIds` as the prefix part (which may be the whole prefix or a cut). */
export function promptIds(b: ModelBundle, p: PreparedPrompt, prefixIds: number[]): number[] {
  const ids = [...p.snippetIds, ...buildPrompt(b.template, prefixIds, p.suffixIds)];
  if (ids.length === 0) {
    // Left-to-right model with nothing before the cursor: start a document with end-of-text.
    const eos = [b.model.config.eosTokenId ?? 0].flat()[0] ?? 0;
    ids.push(eos);
  }
  return ids;
}

/**
 * Where the byte layer cuts the prefix: the last pre-token boundary that no continuation can move
 * (the start of the last piece, moved back over a trailing whitespace run or a lone apostrophe),
 * at most MAX_PENDING bytes back.
 */
export function boundarySplit(tok: Tokenizer, prefixBytes: Uint8Array): number {
  const n = prefixBytes.length;
  if (n === 0) return 0;
  let L = stableCommitPoint(tok, prefixBytes);
  if (n - L > MAX_PENDING) {
    L = n - MAX_PENDING;
    while (L < n && (prefixBytes[L] & 0xc0) === 0x80) L++;
  }
  return L;
}

/** The byte layer's prompt: the prefix cut at boundarySplit, the cut-off bytes left pending. */
export interface BoundaryPrompt {
  /** Prompt ids (template around the prefix up to the cut). */
  prompt: number[];
  /** The prefix tokens up to the cut. */
  prefixIds: number[];
  /** The prefix bytes after the cut: the start of the middle, conditioned on byte by byte. */
  pending: Uint8Array;
}

/** Cuts the prefix at its last stable pre-token boundary (single model, ensembles, middle scoring). */
export function boundaryPrompt(b: ModelBundle, p: PreparedPrompt): BoundaryPrompt {
  const x = p.prefixBytes;
  const L = boundarySplit(b.tok, x);
  const prefixIds = b.tok.encodeBytes(x.subarray(0, L));
  return { prompt: promptIds(b, p, prefixIds), prefixIds, pending: x.subarray(L) };
}
