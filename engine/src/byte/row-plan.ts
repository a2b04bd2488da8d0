// The rows a byte stream will need while it is fed bytes known in advance (a document being
// scored): pushing b_1 .. b_n after the pending bytes p makes the row enc(p ++ b_1..b_k) at the end
// of the pending bytes for every k, and, where that text ends in a whitespace run, its lookahead
// variants (altTails); every other row of a later step is one of these (a row inside the pending
// bytes was the end row when its split point was the end). So the branches are known from the text
// and the tokenizer alone, and one forward can score those of many bytes at once.
//
// Linear in the bytes: the prefix before a stable pre-token boundary never changes again
// (stableCommitPoint), so each step encodes only the bytes after the last such boundary, as the
// stream does once it commits them.
import { Tokenizer } from '../tokenizer/tokenizer';
import { concatBytes } from '../tokenizer/utf8';
import { altTails, stableCommitPoint, tokensBefore } from './lookahead';
import { LMContext, ScoredBranch, scoredBranch } from './lm';
import { LogDist } from './log-dist';

export interface PlanOptions {
  /** Rows with lookahead variants (ByteStreamOptions.lookahead). */
  lookahead: boolean;
  /**
   * Stop once the tokens before the last stable boundary pass this many (the stream's context
   * would have moved that far: a window restart drops every score, or the model runs out of positions).
   */
  maxTokens: number;
}

/**
 * The branches (token ids after the context the pending bytes p follow) of the end rows of
 * p ++ next[:k], k = 1 .. next.length, each followed by its lookahead variants; in byte order.
 */
export function plannedRows(tok: Tokenizer, p: Uint8Array, next: Uint8Array, opts: PlanOptions): number[][] {
  const text = concatBytes(p, next);
  const out: number[][] = [];
  // Tokens of text[:c0], c0 a boundary no continuation moves.
  let head: number[] = [];
  let c0 = 0;
  for (let k = p.length + 1; k <= text.length; k++) {
    const tail = text.subarray(c0, k);
    const ids = tok.encodeBytes(tail);
    // The stream commits up to the stable boundary before it needs this step's rows.
    const c = stableCommitPoint(tok, tail);
    const before = tokensBefore(tok, ids, c);
    const kept = before ? head.concat(before) : head;
    if (kept.length > opts.maxTokens) break;
    out.push(head.concat(ids));
    // As CoverSet.altIdsFor: variants of the part after the stable boundary (none without a token boundary there).
    if (opts.lookahead && before) for (const alt of altTails(tok, tail.subarray(c))) out.push(kept.concat(alt));
    if (before && c > 0) {
      head = kept;
      c0 += c;
    }
  }
  return out;
}

interface PlanNode {
  next: LogDist | null;
  src: { branch: ScoredBranch; m: number } | null;
  children: Map<number, PlanNode>;
}

const planNode = (): PlanNode => ({ next: null, src: null, children: new Map() });

/**
 * Scores of planned rows, kept apart from the stream's own trie until the stream asks for the row:
 * the stream's scheduling (which rows its distributions count) stays what it is without the plan;
 * only the forwards move earlier. Branches after the stream's context; the root follows its commits.
 */
export class PlannedScores {
  private root = planNode();

  /**
   * Keeps scored branches (ids after the context) along their paths. Planned rows come in byte
   * order and share long prefixes along the document, so each walk starts where it leaves the
   * previous branch's path (those nodes are set already).
   */
  recordAll(branches: readonly (readonly number[])[], scored: readonly ScoredBranch[]): void {
    let prev: readonly number[] = [];
    const path: PlanNode[] = [this.root];
    branches.forEach((ids, b) => {
      let i = 0;
      while (i < ids.length && i < prev.length && ids[i] === prev[i]) i++;
      const branch = scored[b];
      let node = path[i];
      for (; i < ids.length; i++) {
        let child = node.children.get(ids[i]);
        if (!child) node.children.set(ids[i], (child = planNode()));
        if (!child.next) child.next = branch.nexts[i];
        if (!child.src) child.src = { branch, m: i + 1 };
        path[i + 1] = node = child;
      }
      prev = ids;
    });
  }

  /** Whether ids (itself or as a prefix of a kept branch) has its scores here. */
  has(ids: readonly number[]): boolean {
    let node: PlanNode | undefined = this.root;
    for (const id of ids) if (!(node = node.children.get(id))) return false;
    return !!node.next;
  }

  /** The kept scores of ids as a branch on ctx (the context they were planned after, moved by commits), or null. */
  take(ctx: LMContext, ids: number[]): ScoredBranch | null {
    const path: PlanNode[] = [];
    let node: PlanNode | undefined = this.root;
    for (const id of ids) {
      if (!(node = node.children.get(id))?.next) return null;
      path.push(node);
    }
    return scoredBranch(ctx, ids, path.map((n) => n.next!), (m) => {
      const src = path[m - 1].src!;
      return src.branch.extend(src.m);
    });
  }

  /** The context moved by cIds (kept branches that do not start with them are dropped). */
  commit(cIds: readonly number[]): void {
    let node: PlanNode | undefined = this.root;
    for (const id of cIds) if (!(node = node.children.get(id))) break;
    this.root = node ?? planNode();
  }

  /** A new context (window restart): nothing kept applies. */
  clear(): void {
    this.root = planNode();
  }
}
