// The one language-model interface of the byte layer (docs/DESIGN.md, "The byte layer"): a
// context (tokens already run through the model) and token branches scored on top of it. Both
// row schedulers (CoverTree's branch and bound, ByteStream's streaming rows) and the exactness
// tests speak only this interface; the ONNX implementation is byte/onnx-lm.ts.
//
// score() takes a set of branches so that an implementation can run them in as few forwards as
// possible: one batched forward for all rows, a branch that is a prefix of another read off the
// longer one's logits. A scored branch turns any prefix of itself into a new context without
// another forward (extend), which is how committed tokens and picked covers continue.
//
// A distribution is a LogDist (byte/log-dist.ts): logits with their log-sum-exp, read one id at a
// time; the vocabulary-size array of log-probabilities is made only where a caller asks for it.
import { LogDist } from './log-dist';

export interface LMContext {
  /** log p(next token | context). */
  readonly next: LogDist;
  /** Positions used (real tokens). */
  readonly length: number;
}

export interface ScoredBranch {
  readonly ids: readonly number[];
  /** log p(ids[i] | context, ids[<i]). */
  readonly stepLogp: number[];
  /** nexts[i] = log p(next token | context, ids[0..i]). */
  readonly nexts: LogDist[];
  /** The context followed by the first m tokens of the branch (0 <= m <= ids.length); no forward. */
  extend(m: number): LMContext;
}

export interface LMStats {
  forwards: number;
  forwardTokens: number;
  forwardMs: number;
}

export interface BranchLM {
  readonly vocabSize: number;
  readonly maxPositions: number;
  readonly stats: LMStats;
  /** A fresh context from token ids (a prefill, no cache). */
  start(ids: number[], signal?: AbortSignal): Promise<LMContext>;
  /** Scores branches on a context; result[i] belongs to branches[i]. */
  score(ctx: LMContext, branches: number[][], signal?: AbortSignal): Promise<ScoredBranch[]>;
  /** Window restart: a context of `ids`, the last tokens of `ctx` (default: start(ids)). */
  restart?(ctx: LMContext, ids: number[], signal?: AbortSignal): Promise<LMContext>;
}

export function newStats(): LMStats {
  return { forwards: 0, forwardTokens: 0, forwardMs: 0 };
}

/** Whether a is a prefix of b. */
export function isPrefix(a: readonly number[], b: readonly number[]): boolean {
  if (a.length > b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The rows a set of branches needs: the distinct non-empty branches that are not a prefix of
 * another (each branch is read off the first row it is a prefix of).
 */
export function branchRows(branches: readonly (readonly number[])[]): { rows: number[][]; rowOf: number[] } {
  const rows: number[][] = [];
  for (const b of branches) {
    if (b.length === 0) continue;
    if (branches.some((o) => o.length > b.length && isPrefix(b, o))) continue;
    if (rows.some((r) => r.length === b.length && isPrefix(b, r))) continue;
    rows.push(b.slice());
  }
  return { rows, rowOf: branches.map((b) => (b.length === 0 ? -1 : rows.findIndex((r) => isPrefix(b, r)))) };
}

/** stepLogp of a branch from the context's distribution and the branch's own nexts. */
export function stepLogps(ctx: LMContext, ids: readonly number[], nexts: LogDist[]): number[] {
  return ids.map((id, i) => (i === 0 ? ctx.next : nexts[i - 1]).at(id));
}

/**
 * A scored branch of `ids` on ctx with its next-token distributions `nexts`: the context after its
 * first m > 0 tokens is after(m) (each BranchLM says how it keeps that state), after 0 tokens ctx.
 */
export function scoredBranch(ctx: LMContext, ids: number[], nexts: LogDist[], after: (m: number) => LMContext): ScoredBranch {
  return {
    ids,
    stepLogp: stepLogps(ctx, ids, nexts),
    nexts,
    extend: (m: number): LMContext => {
      if (!(Number.isInteger(m) && m >= 0 && m <= ids.length)) throw new Error(`extend(${m}) outside 0..${ids.length}`);
      return m === 0 ? ctx : after(m);
    },
  };
}
