// One model's exact next-byte distribution over a growing byte history h (docs/DESIGN.md, "The byte
// layer"): the middle being generated (or a document being scored), tokenized from its own start.
//
//   context   fixed tokens (the prompt) with their KV state, then the COMMITTED tokens: the
//             canonical tokens of h[:c] for a stable pre-token boundary c (see stableCommitPoint);
//   pending   p = h[c:], whose covers are kept as rows: for every split point j of p (p[j:] is a
//             prefix of some token, or j = |p|) the branch enc(p[:j]) after the context, its
//             probability, and the next-token distribution after it.
//
// push(b) appends a byte. Rows survive while p[j:]+b is still a token prefix, so their scores are
// reused; the only new row is enc(p+b) at j = |p+b|. Its probability is known without running the
// model (enc(p+b) = enc(p[:k]) ++ [τ] with row k already scored), and the model runs for it only
// when its mass can matter (lazyMass; 0 = always). All branch scores live in a token trie under
// the context, so a branch's prefixes are never scored twice, and committing moves the trie root
// down to the committed tokens, reusing their KV state (no forward) when they were scored.
//
// Exactness: with uncheckedMass = lazyMass = 0 the distribution is exactly the covers' marginal
// (the same as a fresh CoverTree over the whole history after the same context; tests check
// that). uncheckedMass > 0 counts the lightest candidates as valid without checking them (at most
// that share of the total mass); lazyMass > 0 leaves out rows whose whole mass is below that share
// of the scored mass (the row's probability bounds it).
import { Tokenizer } from '../tokenizer/tokenizer';
import { VocabIndex } from '../byte/vocab-index';
import { END } from '../byte/cover-tree';
import { altTails, stableCommitPoint, tokensBefore } from '../byte/lookahead';
import { RowValidity, rowValidity, ValidityStats } from '../byte/validity';
export { stableCommitPoint, tokensBefore, trailingWhitespaceStart } from '../byte/lookahead';
import { concatBytes, incompleteUtf8Tail, utf8DecodeLenient, utf8Encode } from '../tokenizer/utf8';
import { BranchOut, LMContext, StreamLM } from './stream-lm';

export interface ByteStreamOptions {
  /** Ids that end the text (their mass is END). */
  stopIds: ReadonlySet<number>;
  /** Share of the candidate mass allowed to stay unchecked for validity (0 = exact). */
  uncheckedMass?: number;
  /**
   * With a focus byte (distributionFor, refinedDistribution): that byte's candidates are checked
   * down to this share of its own mass (default: uncheckedMass).
   */
  focusMass?: number;
  /** Rows whose probability is below this share of the scored mass are not scored (0 = exact). */
  lazyMass?: number;
  /**
   * Scoring long documents: when the context reaches this many tokens, it restarts from its last
   * `keepTokens` tokens (a fresh prefill). Default: never (the caller keeps within the model).
   */
  maxContext?: number;
  keepTokens?: number;
  /**
   * Lookahead-aware covers (default true): rows for the non-canonical tokenizations of a trailing
   * whitespace run that continuations produce (altIdsFor), and covers whose token ends in
   * whitespace counted when some continuation makes them canonical (extendable). Off, the covers
   * are exactly CoverTree's (prefix-closed validity), which misses that mass.
   */
  lookahead?: boolean;
}

interface Node {
  /** log p(next token | context, path); null until the path has been run through the model. */
  next: Float64Array | null;
  /** As the row at the end of the pending bytes: candidate mass by next byte, its sum, candidates best first. */
  endMarg?: Float64Array;
  endTotal?: number;
  endIds?: Int32Array;
  endBuckets?: Float64Array;
  /** Where the path's KV comes from (a branch forward and how many of its tokens). */
  src: { out: BranchOut; m: number } | null;
  children: Map<number, Node>;
}

interface Row {
  j: number;
  ids: number[];
  /** A non-canonical tokenization of p[:j] (altIdsFor): the text cannot end there. */
  alt?: boolean;
  /** Validity cache of this row (by its unstable tail and tail tokens). */
  tv?: RowValidity;
  /** log P(ids | context), exact when `exact`, else an upper bound (an unscored parent). */
  logP: number;
  exact: boolean;
  node: Node | null;
}

export interface ByteStreamStats {
  commits: number;
  restarts: number;
  /** Validity decisions made (not cached): from merge ranks or by re-encoding. */
  validityChecks: number;
  /** Of those, the ones that re-encoded. */
  reencodings: number;
  /** Rows left out because of lazyMass, summed over pushes. */
  lazyRows: number;
}

const BUCKETS_PER_NAT = 4;
const N_BUCKETS = 40 * BUCKETS_PER_NAT + 1;

/** Log-probability bucket of a candidate (the last bucket holds everything below -40 nats). */
function bucketOf(logp: number): number {
  const k = Math.floor(-logp * BUCKETS_PER_NAT);
  return k < 0 ? 0 : k >= N_BUCKETS ? N_BUCKETS - 1 : k;
}

/** The first bucket from which all lighter buckets together weigh at most `budget` (N_BUCKETS: none). */
function uncheckedBucket(buckets: Float64Array, budget: number): number {
  let cum = 0;
  let k = N_BUCKETS;
  while (k > 0 && cum + buckets[k - 1] <= budget) cum += buckets[--k];
  return k;
}

const newNode = (next: Float64Array | null): Node => ({ next, src: null, children: new Map() });

export class ByteStream {
  private ctx: LMContext;
  private ctxIds: number[];
  private root: Node;
  private pending: Uint8Array;
  private historyBytes: Uint8Array[] = [];
  private historyLen = 0;
  /** enc(p[:j]) by split point j of the pending bytes. */
  private idsAt = new Map<number, number[]>();
  /** Validity caches by row key "j|ids" (shared per tokenizer through the row's unstable tail). */
  private validAt = new Map<string, RowValidity>();
  /** Other tokenizations of p[:j] that extensions of it produce (see altTails). */
  private altAt = new Map<number, number[][]>();
  private rows: Row[] = [];
  private dist: Float64Array | null = null;
  private committedLogP = 0;
  private readonly eps: number;
  private readonly lazy: number;
  private readonly focusEps: number;
  private readonly tokBytes: Uint8Array[];
  private readonly validity: ValidityStats = { fast: 0, exact: 0 };
  private readonly counts = { commits: 0, restarts: 0, lazyRows: 0 };

  get stats(): ByteStreamStats {
    return { ...this.counts, validityChecks: this.validity.fast + this.validity.exact, reencodings: this.validity.exact };
  }

  private constructor(
    readonly lm: StreamLM,
    readonly tok: Tokenizer,
    readonly index: VocabIndex,
    ctx: LMContext,
    ctxIds: number[],
    readonly opts: ByteStreamOptions,
  ) {
    this.ctx = ctx;
    this.ctxIds = ctxIds.slice();
    this.root = newNode(ctx.next);
    this.pending = new Uint8Array(0);
    this.eps = opts.uncheckedMass ?? 0;
    this.lazy = opts.lazyMass ?? 0;
    this.focusEps = opts.focusMass ?? this.eps;
    this.tokBytes = normalBytes(tok);
  }

  /**
   * A stream after a context (ctxIds are its tokens, used only for window restarts) whose history
   * starts with `history` (e.g. the pending bytes u of the prompt boundary; may be empty).
   */
  static async create(lm: StreamLM, tok: Tokenizer, index: VocabIndex, ctx: LMContext, ctxIds: number[], history: Uint8Array, opts: ByteStreamOptions, signal?: AbortSignal): Promise<ByteStream> {
    const s = new ByteStream(lm, tok, index, ctx, ctxIds, opts);
    s.pending = history.slice();
    s.historyBytes.push(history.slice());
    s.historyLen = history.length;
    await s.commitStable(signal);
    await s.ensureRows(signal);
    return s;
  }

  /** The whole byte history (initial bytes + pushed bytes). */
  get history(): Uint8Array {
    if (this.historyBytes.length > 1) {
      const all = new Uint8Array(this.historyLen);
      let o = 0;
      for (const b of this.historyBytes) {
        all.set(b, o);
        o += b.length;
      }
      this.historyBytes = [all];
    }
    return this.historyBytes[0] ?? new Uint8Array(0);
  }

  /** Tokens in the model's context (prompt + committed), i.e. positions used. */
  get contextLength(): number {
    return this.ctx.length;
  }

  /** Bytes not yet committed. */
  get pendingBytes(): Uint8Array {
    return this.pending;
  }

  /** Longest branch of the current rows, in tokens (positions a next forward may need). */
  get pendingTokens(): number {
    let m = 0;
    for (const r of this.rows) m = Math.max(m, r.ids.length + 1);
    return m;
  }

  async push(byte: number, signal?: AbortSignal): Promise<void> {
    if (!(Number.isInteger(byte) && byte >= 0 && byte < 256)) throw new Error(`push: not a byte: ${byte}`);
    this.pending = concatBytes(this.pending, Uint8Array.of(byte));
    this.historyBytes.push(Uint8Array.of(byte));
    this.historyLen++;
    this.dist = null;
    // Rows whose suffix stops being a token prefix are gone; their caches with them.
    await this.commitStable(signal);
    await this.ensureRows(signal);
  }

  /** Next byte after the history: 256 bytes + END (index 256), normalised. */
  nextByteDistribution(): Float64Array {
    if (!this.dist) this.dist = this.computeDistribution().dist;
    return this.dist;
  }

  /**
   * For scoring a known next byte: scores the rows that can produce `byte` until the unscored ones
   * are negligible next to that byte's own mass (lazyMass relative to it, not to the total), then
   * returns the distribution with that byte's candidates checked to uncheckedMass of its own mass.
   * The rows scored here are exactly the rows that survive push(byte), so nothing is wasted.
   */
  async distributionFor(byte: number, signal?: AbortSignal): Promise<Float64Array> {
    for (;;) {
      const rows = this.currentRows();
      let mass = 0;
      let best: Row | null = null;
      for (const r of rows) {
        if (this.ready(r)) mass += this.byteMass(r, byte);
        else if (this.canProduce(r, byte) && (!best || r.logP > best.logP)) best = r;
      }
      this.rows = rows;
      if (!best || (this.lazy > 0 && mass > 0 && Math.exp(best.logP) <= this.lazy * mass)) break;
      const out = await this.lm.branch(this.ctx, best.ids, signal);
      this.record(best.ids, out);
    }
    this.dist = null;
    return this.computeDistribution(byte).dist;
  }

  /**
   * The distribution with `byte`'s candidates checked down to focusMass of that byte's mass (no
   * model call). Decoding picks from the cheap distribution and refines the picked byte.
   */
  refinedDistribution(byte: number): Float64Array {
    return this.computeDistribution(byte).dist;
  }

  /**
   * log P(history is a prefix of the text | start context): committed tokens' probability plus
   * log Σ of the valid covers of the pending bytes (only meaningful without window restarts).
   */
  logPrefixProb(): number {
    const { mass } = this.computeDistribution();
    return this.committedLogP + Math.log(mass);
  }

  // ---------------------------------------------------------------- rows and their scores

  private isSplitPoint(j: number): boolean {
    const n = this.pending.length;
    if (j === n) return true;
    if (j > n) return false;
    const [lo, hi] = this.index.range(this.pending.subarray(j));
    return lo < hi;
  }

  private idsFor(j: number): number[] {
    let ids = this.idsAt.get(j);
    if (!ids) {
      ids = j === 0 ? [] : this.tok.encodeBytes(this.pending.subarray(0, j));
      this.idsAt.set(j, ids);
    }
    return ids;
  }

  /** Walks the trie along ids: exact log-probability, or an upper bound where a parent is unscored. */
  private resolve(ids: number[]): { logP: number; exact: boolean; node: Node | null } {
    let node = this.root;
    let lp = 0;
    for (const id of ids) {
      if (!node.next) return { logP: lp, exact: false, node: null };
      lp += node.next[id];
      let child = node.children.get(id);
      if (!child) {
        child = newNode(null);
        node.children.set(id, child);
      }
      node = child;
    }
    return { logP: lp, exact: true, node };
  }

  private currentRows(): Row[] {
    const rows: Row[] = [];
    const n = this.pending.length;
    for (let j = 0; j <= n; j++) {
      if (!this.isSplitPoint(j)) continue;
      const canon = this.idsFor(j);
      for (const ids of [canon, ...this.altIdsFor(j)]) {
        const r = this.resolve(ids);
        rows.push({ j, ids, logP: r.logP, exact: r.exact, node: r.node, alt: ids !== canon });
      }
    }
    return rows;
  }

  /**
   * Tokenizations of p[:j] other than enc(p[:j]) that a continuation produces: with lookahead
   * split patterns (`\s+(?!\S)`), a whitespace run at the end of p[:j] is split differently once
   * a non-space follows ("\n\n" is one token alone, but "\n" "\n" before "def" under GPT-2's
   * pattern). Such sequences are valid although their prefix is not canonical, so they need rows of
   * their own. Found by probing continuations (see altTails); only at the end of the pending bytes.
   */
  private altIdsFor(j: number): number[][] {
    if (j !== this.pending.length || j === 0 || this.opts.lookahead === false) return [];
    let alts = this.altAt.get(j);
    if (!alts) {
      const A = this.pending.subarray(0, j);
      const c = stableCommitPoint(this.tok, A);
      const canon = this.idsFor(j);
      const head = tokensBefore(this.tok, canon, c);
      alts = head ? altTails(this.tok, A.subarray(c)).map((t) => head.concat(t)) : [];
      this.altAt.set(j, alts);
    }
    return alts;
  }

  private ready(r: Row): boolean {
    return r.exact && !!r.node?.next;
  }

  /** Σ of candidate weights of a scored row (validity not checked). */
  private rowMass(r: Row): number {
    const next = r.node!.next!;
    const n = this.pending.length;
    let s = 0;
    if (r.j < n) {
      const suf = this.pending.subarray(r.j);
      const [lo, hi] = this.index.range(suf);
      for (let k = lo; k < hi; k++) {
        const id = this.index.sorted[k];
        if (this.tokBytes[id].length > suf.length) s += Math.exp(next[id]);
      }
    } else {
      s = this.endData(r.node!).total;
    }
    return Math.exp(r.logP) * s;
  }

  /** Whether row r has candidates whose next byte is `byte` (END: only the row at the end). */
  private canProduce(r: Row, byte: number): boolean {
    const n = this.pending.length;
    if (byte === END) return r.j === n && !r.alt;
    if (r.j === n) return true;
    const [lo, hi] = this.index.range(concatBytes(this.pending.subarray(r.j), Uint8Array.of(byte)));
    return lo < hi;
  }

  /** Σ of candidate weights of a scored row whose next byte is `byte` (validity not checked). */
  private byteMass(r: Row, byte: number): number {
    const next = r.node!.next!;
    const n = this.pending.length;
    let s = 0;
    if (byte === END) {
      if (r.j === n && !r.alt) for (const id of this.opts.stopIds) if (id < next.length) s += Math.exp(next[id]);
    } else {
      const [lo, hi] = this.index.range(concatBytes(this.pending.subarray(r.j), Uint8Array.of(byte)));
      for (let k = lo; k < hi; k++) s += Math.exp(next[this.index.sorted[k]]);
    }
    return Math.exp(r.logP) * s;
  }

  /** Scores rows (one batch-1 forward each, heaviest first) until the unscored ones cannot matter. */
  private async ensureRows(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const rows = this.currentRows();
      let scored = 0;
      let best: Row | null = null;
      let unscored = 0;
      for (const r of rows) {
        if (this.ready(r)) scored += this.rowMass(r);
        else {
          unscored++;
          if (!best || r.logP > best.logP) best = r;
        }
      }
      if (!best || (this.lazy > 0 && scored > 0 && Math.exp(best.logP) <= this.lazy * scored)) {
        this.rows = rows;
        this.counts.lazyRows += unscored;
        return;
      }
      if (best.ids.length === 0) throw new Error('internal: the context row is always scored');
      const out = await this.lm.branch(this.ctx, best.ids, signal);
      this.record(best.ids, out);
    }
  }

  /** Stores a branch's scores along its trie path. */
  private record(ids: number[], out: BranchOut): void {
    let node = this.root;
    ids.forEach((id, i) => {
      let child = node.children.get(id);
      if (!child) {
        child = newNode(null);
        node.children.set(id, child);
      }
      if (!child.next) child.next = out.nexts[i];
      if (!child.src) child.src = { out, m: i + 1 };
      node = child;
    });
  }

  // ---------------------------------------------------------------- committing

  /** Moves the stable part of the pending bytes into the context. */
  private async commitStable(signal?: AbortSignal): Promise<void> {
    const c = stableCommitPoint(this.tok, this.pending);
    if (c <= 0) return;
    // The committed tokens are those of the pending bytes' own tokenization (enc(p[:c]) alone can
    // differ: a whitespace run before c tokenizes differently at the end of a string).
    const cIds = tokensBefore(this.tok, this.tok.encodeBytes(this.pending), c);
    if (!cIds) throw new Error('internal: no token boundary at a pre-token boundary');
    // Walk the trie: reuse the KV of a scored branch when the committed tokens were scored.
    let node: Node | null = this.root;
    let lp = 0;
    for (const id of cIds) {
      if (!node?.next) {
        node = null;
        break;
      }
      lp += node.next[id];
      node = node.children.get(id) ?? null;
    }
    let ctx: LMContext;
    if (node?.next && node.src) {
      ctx = node.src.out.extend(node.src.m);
    } else {
      const out = await this.lm.branch(this.ctx, cIds, signal);
      ctx = out.extend(cIds.length);
      lp = out.stepLogp.reduce((a, b) => a + b, 0);
      this.record(cIds, out);
      node = this.root;
      for (const id of cIds) node = node.children.get(id)!;
    }
    this.committedLogP += lp;
    this.ctx = ctx;
    this.ctxIds.push(...cIds);
    this.root = node!;
    this.root.src = null;
    this.counts.commits++;
    // Shift the per-split-point caches: under a stable boundary enc(p[:j]) = enc(p[:c]) ++ enc(p[c:j]).
    const ids = new Map<number, number[]>();
    for (const [j, v] of this.idsAt) {
      if (j < c) continue;
      if (v.length >= cIds.length && cIds.every((id, i) => v[i] === id)) ids.set(j - c, v.slice(cIds.length));
    }
    this.idsAt = ids;
    this.validAt.clear();
    this.altAt.clear();
    this.pending = this.pending.slice(c);
    this.dist = null;
    const max = this.opts.maxContext;
    if (max !== undefined && this.ctx.length > max) await this.restart(signal);
  }

  /** Window restart: a fresh context from the last keepTokens context tokens. */
  private async restart(signal?: AbortSignal): Promise<void> {
    const keep = Math.max(1, Math.min(this.opts.keepTokens ?? 256, this.ctxIds.length));
    this.ctxIds = this.ctxIds.slice(-keep);
    this.ctx = this.lm.restart ? await this.lm.restart(this.ctx, this.ctxIds, signal) : await this.lm.start(this.ctxIds, signal);
    this.root = newNode(this.ctx.next);
    this.counts.restarts++;
  }

  // ---------------------------------------------------------------- the distribution

  /**
   * Exact validity of the cover enc(p[:j]) ++ [token]: enc(p[:j] ++ bytes(token)) == enc(p[:j]) ++
   * [token]. Everything before the last stable boundary of p[:j] tokenizes the same with or without
   * the token, so only the unstable tail t of p[:j] matters: the check is enc(t ++ bytes(token)) ==
   * enc(t) ++ [token], cached per tokenizer by t (tails such as "    " or " self" recur), and
   * decided from the BPE merge ranks where the pre-tokenizer allows (byte/validity.ts).
   */
  private isValid(r: Row, token: number): boolean {
    let tv = r.tv;
    if (!tv) {
      const key = `${r.j}|${r.ids.join(',')}`;
      tv = this.validAt.get(key);
      if (!tv) {
        tv = rowValidity(this.tok, this.pending.subarray(0, r.j), r.ids, this.opts.lookahead !== false);
        this.validAt.set(key, tv);
      }
      r.tv = tv;
    }
    return tv.valid(token, this.validity);
  }

  /**
   * Per-node data of a row at the end of the pending bytes (every token is a candidate): mass by
   * next byte, the candidate ids, and their mass by log-probability bucket (bucket k holds
   * log p in (-(k+1)/BUCKETS_PER_NAT, -k/BUCKETS_PER_NAT]), so the lightest candidates can be left
   * unchecked without sorting the vocabulary.
   */
  private endData(node: Node): { marg: Float64Array; total: number; ids: Int32Array; buckets: Float64Array } {
    if (!node.endMarg) {
      const next = node.next!;
      const V = Math.min(next.length, this.tokBytes.length);
      const marg = new Float64Array(257);
      const buckets = new Float64Array(N_BUCKETS);
      const ids = new Int32Array(V);
      let n = 0;
      for (let id = 0; id < V; id++) {
        const stop = this.opts.stopIds.has(id);
        if (!stop && this.index.firstByte[id] < 0) continue;
        const p = Math.exp(next[id]);
        marg[stop ? END : this.index.firstByte[id]] += p;
        buckets[bucketOf(next[id])] += p;
        ids[n++] = id;
      }
      let total = 0;
      for (let b = 0; b < 257; b++) total += marg[b];
      node.endMarg = marg;
      node.endTotal = total;
      node.endIds = ids.subarray(0, n);
      node.endBuckets = buckets;
    }
    return { marg: node.endMarg, total: node.endTotal!, ids: node.endIds!, buckets: node.endBuckets! };
  }

  /**
   * The distribution over the scored rows. Candidates are checked for validity, the lightest left
   * unchecked as long as together they weigh at most eps of their row (so at most eps
   * of the total stays unchecked; unchecked candidates count as valid). With `focus`, that byte's
   * candidates are also checked down to eps of that byte's own mass.
   */
  private computeDistribution(focus = -1): { dist: Float64Array; mass: number } {
    const n = this.pending.length;
    const eps = this.eps;
    const dist = new Float64Array(257);
    let mass = 0;
    const subtracted = new Set<number>();
    const rows = this.rows.filter((r) => this.ready(r));
    // Focus candidates: [row index, token, weight].
    const fr: number[] = [];
    const ft: number[] = [];
    const fw: number[] = [];
    rows.forEach((r, ri) => {
      const next = r.node!.next!;
      const eL = Math.exp(r.logP);
      if (r.j === n) {
        const { marg, total, ids, buckets } = this.endData(r.node!);
        // A non-canonical tokenization of the whole text cannot be followed by its end.
        const rowMass = eL * (r.alt ? total - marg[END] : total);
        for (let b = 0; b < END; b++) dist[b] += eL * marg[b];
        if (!r.alt) dist[END] += eL * marg[END];
        mass += rowMass;
        // Candidates in the lightest buckets, together at most eps of the row, stay unchecked.
        const skipFrom = eps > 0 ? uncheckedBucket(buckets, (eps * rowMass) / eL) : N_BUCKETS;
        for (let k = 0; k < ids.length; k++) {
          const id = ids[k];
          if (skipFrom < N_BUCKETS && bucketOf(next[id]) >= skipFrom) continue;
          if (this.opts.stopIds.has(id)) continue;
          const w = eL * Math.exp(next[id]);
          if (!this.isValid(r, id)) {
            dist[this.index.firstByte[id]] -= w;
            mass -= w;
            subtracted.add(ri * 4_194_304 + id);
          }
        }
        if (focus >= 0 && focus !== END && eps > this.focusEps) {
          const [lo, hi] = this.index.range(Uint8Array.of(focus));
          for (let k = lo; k < hi; k++) {
            const id = this.index.sorted[k];
            fr.push(ri), ft.push(id), fw.push(eL * Math.exp(next[id]));
          }
        }
      } else {
        const suf = this.pending.subarray(r.j);
        const at = n - r.j;
        const [lo, hi] = this.index.range(suf);
        const ids: number[] = [];
        const ws: number[] = [];
        let rowMass = 0;
        for (let k = lo; k < hi; k++) {
          const id = this.index.sorted[k];
          if (this.tokBytes[id].length <= at) continue;
          const w = eL * Math.exp(next[id]);
          ids.push(id);
          ws.push(w);
          rowMass += w;
        }
        const order = ids.map((_, i) => i);
        if (eps > 0) order.sort((a, b) => ws[b] - ws[a]);
        let rem = rowMass;
        for (const i of order) {
          const id = ids[i];
          const w = ws[i];
          const b = this.tokBytes[id][at];
          const check = eps === 0 || rem > eps * rowMass;
          rem -= w;
          if (check && !this.isValid(r, id)) {
            subtracted.add(ri * 4_194_304 + id);
            continue;
          }
          dist[b] += w;
          mass += w;
          if (b === focus && eps > this.focusEps) fr.push(ri), ft.push(id), fw.push(w);
        }
      }
    });
    if (fw.length > 0) {
      let A = 0;
      for (const w of fw) A += w;
      const order = fw.map((_, i) => i).sort((a, b) => fw[b] - fw[a]);
      let rem = A;
      for (const i of order) {
        if (rem <= this.focusEps * A) break;
        rem -= fw[i];
        const key = fr[i] * 4_194_304 + ft[i];
        if (subtracted.has(key)) continue;
        if (!this.isValid(rows[fr[i]], ft[i])) {
          dist[focus] -= fw[i];
          mass -= fw[i];
          subtracted.add(key);
        }
      }
    }
    for (let b = 0; b < 257; b++) if (dist[b] < 0) dist[b] = 0;
    if (mass > 0) for (let b = 0; b < 257; b++) dist[b] /= mass;
    return { dist, mass };
  }
}

const bytesCaches = new WeakMap<Tokenizer, Uint8Array[]>();

function normalBytes(tok: Tokenizer): Uint8Array[] {
  let b = bytesCaches.get(tok);
  if (!b) bytesCaches.set(tok, (b = tok.normalTokenBytes()));
  return b;
}
