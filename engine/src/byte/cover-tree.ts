// Covers of a pending byte string u after a fixed context (docs/DESIGN.md, "The byte layer"), for
// one completion or one middle score: the byte layer's core (byte/covers.ts: rows, validity,
// next-byte mass) with a one-shot schedule. Sampling, exact distributions and log P(u) score every
// row in one batched call; greedy picking scores rows heaviest first and stops when no unscored
// row can hold the argmax (branch and bound).
//
// With `lookahead`, validity is "a prefix of the tokenization of some continuation" instead: split
// patterns like `\s+(?!\S)` tokenize a trailing whitespace run differently once a non-space follows
// ("\n\n" alone is one token, but "\n" "\n" before "def"), so those sequences get rows of their own
// and covers ending in whitespace are checked against probe continuations (byte/lookahead.ts).
import { Tokenizer } from '../tokenizer/tokenizer';
import { VocabIndex } from './vocab-index';
import { BranchLM, LMContext } from './lm';
import { Cover, CoverSet, Row } from './covers';

export { Cover, END, Row } from './covers';

export interface CoverTreeOptions {
  /** Ids that end the text (end of middle / end of text). */
  stopIds: ReadonlySet<number>;
  /**
   * Share of each row's candidate mass that may stay unchecked for validity in
   * nextByteDistribution (the lightest candidates, counted as valid). 0 = check all (exact).
   */
  uncheckedMass?: number;
  /** Count sequences that are valid only once more text follows (see the header). */
  lookahead?: boolean;
}

type BestCover = Omit<Cover, 'row'> | null;

export class CoverTree {
  /** The scored rows (every row unless greedy pruned some); Cover.row indexes this list. */
  rows: Row[] = [];
  /** The best valid cover of a row, by row key (validity is decided once per row and token). */
  private readonly bestCache = new Map<string, BestCover>();

  private constructor(
    readonly covers: CoverSet,
    readonly u: Uint8Array,
    readonly opts: CoverTreeOptions,
  ) {}

  /**
   * Scores the rows of u on `ctx`. Without `greedy`, every row in one batched call. With `greedy`,
   * one row at a time, heaviest first (branch and bound): a row's covers weigh at most its
   * probability, bounded by its scored prefix (at worst its first token's probability, known from
   * the context), so once that bound falls below the best valid cover found, no remaining row can
   * hold the argmax.
   */
  static async build(
    tok: Tokenizer,
    index: VocabIndex,
    lm: BranchLM,
    ctx: LMContext,
    u: Uint8Array,
    opts: CoverTreeOptions & { greedy?: boolean },
    signal?: AbortSignal,
  ): Promise<CoverTree> {
    const covers = new CoverSet(tok, index, ctx, { stopIds: opts.stopIds, lookahead: !!opts.lookahead });
    covers.append(u);
    const tree = new CoverTree(covers, u, opts);
    if (!opts.greedy) {
      const todo = covers.rows().filter((r) => !covers.ready(r));
      const scored = todo.length > 0 ? await lm.score(ctx, todo.map((r) => r.ids), signal) : [];
      todo.forEach((r, k) => covers.record(r.ids, scored[k]));
      tree.rows = covers.rows();
      return tree;
    }
    let best = -Infinity;
    for (;;) {
      const rows = covers.rows();
      let next: Row | null = null;
      for (const r of rows) {
        if (covers.ready(r)) {
          const top = tree.bestValidInRow(r);
          if (top && top.logw > best) best = top.logw;
        } else if (!next || r.logP > next.logP) next = r;
      }
      if (!next || next.logP < best) {
        tree.rows = rows.filter((r) => covers.ready(r));
        return tree;
      }
      const [b] = await lm.score(ctx, [next.ids], signal);
      covers.record(next.ids, b);
    }
  }

  /**
   * The most probable valid cover of one row. A row after enc(u) ranges over the whole vocabulary,
   * so the best few are selected without sorting it; the full sort runs only if all are invalid.
   */
  private bestValidInRow(r: Row): BestCover {
    const key = `${r.j}|${r.ids.join(',')}`;
    let cached = this.bestCache.get(key);
    if (cached !== undefined) return cached;
    const cands = this.covers.candidates(r, -1);
    const K = 8;
    const top: Cover[] = [];
    for (const c of cands) {
      if (top.length === K && c.logw <= top[K - 1].logw) continue;
      let i = top.length < K ? top.length : K - 1;
      top[i] = c;
      while (i > 0 && top[i - 1].logw < top[i].logw) {
        [top[i - 1], top[i]] = [top[i], top[i - 1]];
        i--;
      }
    }
    const valid = (c: Cover) => c.end || this.covers.isValid(r, c.token);
    const found = top.find(valid) ?? (cands.length > K ? cands.sort((a, b) => b.logw - a.logw).find(valid) : undefined);
    cached = found ? { j: found.j, token: found.token, logw: found.logw, end: found.end } : null;
    this.bestCache.set(key, cached);
    return cached;
  }

  /** The context after a cover's row (no forward): continue with the cover's token from there. */
  contextOf(c: Cover): LMContext {
    return this.covers.contextOf(this.rows[c.row]);
  }

  /** All candidate covers with their weights, validity not yet checked, best first. */
  candidates(): Cover[] {
    const out = this.rows.flatMap((r, ri) => this.covers.candidates(r, ri));
    out.sort((a, b) => b.logw - a.logw);
    return out;
  }

  /**
   * Exact validity: enc(u[:j] ++ bytes(τ)) == ids ++ [τ]; with lookahead, also a prefix of the
   * tokenization of u[:j] ++ bytes(τ) ++ X for a probe continuation X. End covers are valid.
   */
  isValid(c: Cover): boolean {
    return c.end || this.covers.isValid(this.rows[c.row], c.token);
  }

  /** The valid covers, best first (exact: every candidate checked). */
  validCovers(): Cover[] {
    return this.candidates().filter((c) => this.isValid(c));
  }

  /** Next byte after u: 256 bytes + END, normalised. */
  nextByteDistribution(): Float64Array {
    return this.covers.distribution(this.rows, this.opts.uncheckedMass ?? 0).dist;
  }

  /** log P(u is a prefix of the text | context) = log Σ valid covers (end covers included). */
  logPrefixProb(): number {
    return Math.log(this.covers.distribution(this.rows, 0).mass);
  }

  /**
   * Picks a cover: the most probable valid one (greedy), or one sampled in proportion to
   * weight^(1/temperature) among valid ones (rejection of invalid draws keeps it exact).
   */
  pick(greedy: boolean, random: () => number, temperature = 1): Cover | null {
    if (greedy) {
      let best: Cover | null = null;
      this.rows.forEach((r, ri) => {
        const c = this.bestValidInRow(r);
        if (c && (!best || c.logw > best.logw)) best = { ...c, row: ri };
      });
      return best;
    }
    const cands = this.candidates();
    const ws = cands.map((c) => Math.exp((c.logw - cands[0].logw) / temperature));
    const alive = ws.map(() => true);
    let total = ws.reduce((a, b) => a + b, 0);
    while (total > 0) {
      let r = random() * total;
      let k = 0;
      for (; k < cands.length; k++) {
        if (!alive[k]) continue;
        r -= ws[k];
        if (r <= 0) break;
      }
      k = Math.min(k, cands.length - 1);
      if (this.isValid(cands[k])) return cands[k];
      alive[k] = false;
      total -= ws[k];
    }
    return null;
  }

  /** Bytes a cover adds after u. */
  overhang(c: Cover): Uint8Array {
    return this.covers.overhang(c);
  }
}
