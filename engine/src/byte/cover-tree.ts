// Covers of a pending byte string u after a fixed context (docs/DESIGN.md, "The byte layer").
//
// A cover is a valid token sequence enc(u[:j]) ++ [τ] whose last token τ starts with u[j:] and runs
// past the end of u (j = |u|: any token after enc(u)). Its weight is the model's probability of the
// sequence given the context. Everything needed comes from forwards over the branches enc(u[:j]) on
// the context's KV cache; validity (encode(decode(t)) == t) is exact, decided from the BPE merge
// ranks and re-encoding only where the pre-tokenizer needs it (byte/validity.ts).
//
// With `lookahead`, validity is "a prefix of the tokenization of some continuation" instead: split
// patterns like `\s+(?!\S)` tokenize a trailing whitespace run differently once a non-space follows
// ("\n\n" alone is one token, but "\n" "\n" before "def"), so those sequences get rows of their own
// and covers ending in whitespace are checked against probe continuations (byte/lookahead.ts).
import { Tokenizer } from '../tokenizer/tokenizer';
import { BranchScore, BranchScorer } from './branch-scorer';
import { VocabIndex } from './vocab-index';
import { altTails, stableCommitPoint, tokensBefore } from './lookahead';
import { RowValidity, rowValidity } from './validity';

export interface Cover {
  /** Split point in u: the cover's last token starts at byte j of u. */
  j: number;
  /** Index of the cover's branch row in tree.rows (several rows may share a split point). */
  row: number;
  token: number;
  /** log P(cover | context). */
  logw: number;
  /** True for an end-of-text token right after enc(u): the text ends exactly at u. */
  end: boolean;
}

export const END = 256; // index of end-of-text in next-byte distributions

export interface Row {
  j: number;
  ids: number[];
  /** enc(u[:j]) itself (not an alternative tokenization from lookahead). */
  canonical: boolean;
  logP: number;
  next: Float64Array;
  /** Position of this row's branch in the scorer call (-1: not scored, the context itself). */
  branch: number;
}

export interface CoverTreeOptions {
  /** Ids that end the text (end of middle / end of text). */
  stopIds: ReadonlySet<number>;
  /**
   * Candidates after enc(u) range over the whole vocabulary; checking every one is exact but slow.
   * Candidates are checked in order of probability until the unchecked mass is below this share of
   * the total (unchecked ones count as valid). 0 = check all (exact).
   */
  uncheckedMass?: number;
  /** Count sequences that are valid only once more text follows (see the header). */
  lookahead?: boolean;
}

export class CoverTree {
  /** Validity caches by row (shared per tokenizer through the row's unstable tail). */
  private readonly validity: RowValidity[] = [];
  private readonly bestCache = new Map<number, Cover | null>();
  readonly rows: Row[];

  private constructor(
    readonly tok: Tokenizer,
    readonly index: VocabIndex,
    readonly u: Uint8Array,
    rows: Row[],
    readonly opts: CoverTreeOptions,
  ) {
    this.rows = rows;
  }

  /**
   * Builds the branch rows enc(u[:j]) for every split point j that a token can still cross.
   * Sampling and exact distributions need every row: they run as one batched forward. With
   * `greedy`, rows are scored one at a time, most promising first (branch and bound): a row's
   * covers weigh at most the probability of its first token, known from the context, so once that
   * bound falls below the best valid cover found, no remaining row can hold the argmax.
   */
  static async build(
    tok: Tokenizer,
    index: VocabIndex,
    scorer: BranchScorer,
    u: Uint8Array,
    opts: CoverTreeOptions & { greedy?: boolean },
    signal?: AbortSignal,
  ): Promise<CoverTree> {
    const split = splitPoints(index, u);
    // Branches: enc(u[:j]) for each split point, plus lookahead alternatives at j = |u|.
    const js: number[] = [];
    const branches: number[][] = [];
    const canonical: boolean[] = [];
    for (const j of split) {
      js.push(j);
      branches.push(j === 0 ? [] : tok.encodeBytes(u.subarray(0, j)));
      canonical.push(true);
    }
    if (opts.lookahead && u.length > 0) {
      const c = stableCommitPoint(tok, u);
      const head = tokensBefore(tok, tok.encodeBytes(u), c);
      for (const alt of head ? altTails(tok, u.subarray(c)) : []) {
        js.push(u.length);
        branches.push(head!.concat(alt));
        canonical.push(false);
      }
    }
    const tree = new CoverTree(tok, index, u, [], opts);
    const toRow = (k: number, sc: BranchScore & { handle: number }): Row => ({
      j: js[k],
      ids: branches[k],
      canonical: canonical[k],
      logP: sum(sc.stepLogp),
      next: sc.next,
      branch: sc.handle,
    });
    if (!opts.greedy) {
      const scores = await scorer.score(branches, signal);
      js.forEach((_, k) => tree.rows.push(toRow(k, scores[k])));
      return tree;
    }
    const ctx = scorer.contextLogp();
    const bound = (k: number) => (branches[k].length === 0 ? 0 : ctx[branches[k][0]]);
    const order = js.map((_, k) => k).sort((a, b) => bound(b) - bound(a));
    let best = -Infinity;
    for (const k of order) {
      if (bound(k) < best) break;
      const row = toRow(k, await scorer.scoreOne(branches[k], signal));
      tree.rows.push(row);
      const top = tree.bestValidInRow(tree.rows.length - 1);
      if (top && top.logw > best) best = top.logw;
    }
    return tree;
  }

  /**
   * The most probable valid cover of one row. A row after enc(u) ranges over the whole vocabulary,
   * so the best few are selected without sorting it; the full sort runs only if all are invalid.
   */
  private bestValidInRow(r: number): Cover | undefined {
    let cached = this.bestCache.get(r);
    if (cached !== undefined) return cached ?? undefined;
    const cands = this.rowCandidates(r);
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
    cached = top.find((c) => this.isValid(c)) ?? (cands.length > K ? cands.sort((a, b) => b.logw - a.logw).find((c) => this.isValid(c)) : undefined) ?? null;
    this.bestCache.set(r, cached);
    return cached ?? undefined;
  }

  /** Index of the scorer branch behind a cover (for scorer.extend). */
  branchOf(c: Cover): number {
    return this.rows[c.row].branch;
  }

  /** Candidate covers of one row, validity not yet checked. */
  private rowCandidates(r: number): Cover[] {
    const row = this.rows[r];
    const out: Cover[] = [];
    const n = this.u.length;
    if (row.logP === -Infinity) return out;
    if (row.j < n) {
      for (const id of this.index.extending(this.u.subarray(row.j))) out.push({ j: row.j, row: r, token: id, logw: row.logP + row.next[id], end: false });
    } else {
      for (let id = 0; id < row.next.length; id++) {
        const isStop = this.opts.stopIds.has(id);
        // Text can only end on its own canonical tokenization.
        if (isStop ? !row.canonical : this.index.firstByte[id] < 0) continue;
        out.push({ j: n, row: r, token: id, logw: row.logP + row.next[id], end: isStop });
      }
    }
    return out;
  }

  /** All candidate covers with their weights, validity not yet checked, best first. */
  candidates(): Cover[] {
    const out = this.rows.flatMap((_, r) => this.rowCandidates(r));
    out.sort((a, b) => b.logw - a.logw);
    return out;
  }

  /**
   * Exact validity: enc(u[:j] ++ bytes(τ)) == ids ++ [τ]; with lookahead, also a prefix of the
   * tokenization of u[:j] ++ bytes(τ) ++ X for a probe continuation X. End covers are valid.
   */
  isValid(c: Cover): boolean {
    if (c.end) return true;
    let rv = this.validity[c.row];
    if (!rv) this.validity[c.row] = rv = rowValidity(this.tok, this.u.subarray(0, c.j), this.rows[c.row].ids, !!this.opts.lookahead);
    return rv.valid(c.token);
  }

  /** The valid covers, best first (exact: every candidate checked). */
  validCovers(): Cover[] {
    return this.candidates().filter((c) => this.isValid(c));
  }

  /** Next byte after u: 256 bytes + END, normalised. */
  nextByteDistribution(): Float64Array {
    const dist = new Float64Array(257);
    const n = this.u.length;
    const cands = this.candidates();
    const eps = this.opts.uncheckedMass ?? 0;
    let total = 0;
    for (const c of cands) total += Math.exp(c.logw);
    let remaining = total;
    for (const c of cands) {
      const w = Math.exp(c.logw);
      // Lazy exactness: once the unchecked tail is negligible, count it without checking.
      const check = eps === 0 || remaining > eps * total;
      remaining -= w;
      if (check && !this.isValid(c)) continue;
      const b = c.end ? END : this.tok.tokenBytes(c.token)[n - c.j];
      dist[b] += w;
    }
    let s = 0;
    for (let i = 0; i < 257; i++) s += dist[i];
    if (s > 0) for (let i = 0; i < 257; i++) dist[i] /= s;
    return dist;
  }

  /** log P(u is a prefix of the text | context) = log Σ valid covers (end covers included). */
  logPrefixProb(): number {
    let m = -Infinity;
    const ws = this.validCovers().map((c) => c.logw);
    for (const w of ws) m = Math.max(m, w);
    if (m === -Infinity) return m;
    let s = 0;
    for (const w of ws) s += Math.exp(w - m);
    return m + Math.log(s);
  }

  /**
   * Picks a cover: the most probable valid one (greedy), or one sampled in proportion to
   * weight^(1/temperature) among valid ones (rejection of invalid draws keeps it exact).
   */
  pick(greedy: boolean, random: () => number, temperature = 1): Cover | null {
    if (greedy) {
      let best: Cover | null = null;
      this.rows.forEach((_, r) => {
        const c = this.bestValidInRow(r);
        if (c && (!best || c.logw > best.logw)) best = c;
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
    return c.end ? new Uint8Array(0) : this.tok.tokenBytes(c.token).subarray(this.u.length - c.j);
  }
}

/** Split points j whose suffix u[j:] still fits inside one token. */
function splitPoints(index: VocabIndex, u: Uint8Array): number[] {
  const out: number[] = [];
  for (let j = 0; j <= u.length; j++) {
    if (j < u.length) {
      const [lo, hi] = index.range(u.subarray(j));
      if (lo === hi) continue;
    }
    out.push(j);
  }
  return out;
}

function sum(xs: number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}
