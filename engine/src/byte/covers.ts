// The byte layer's core (docs/DESIGN.md, "The byte layer"): the covers of a pending byte string p
// after a fixed context, their rows, validity and the next-byte mass they carry. Written once;
// the two schedulers (byte/cover-tree.ts: branch and bound for one completion; byte/byte-stream.ts:
// rows kept across pushed bytes) decide only which rows to score and when.
//
//   row      for every split point j of p (p[j:] is a prefix of some token, or j = |p|): the branch
//            enc(p[:j]) after the context, plus (lookahead) the other tokenizations of a trailing
//            whitespace run at j = |p| that a continuation produces (altTails);
//   cover    a row's ids ++ [τ] with τ starting with p[j:] and running past the end of p (j = |p|:
//            any token, or an end-of-text id on a canonical row); weight P(ids ++ [τ] | context);
//   valid    enc(p[:j] ++ bytes(τ)) == ids ++ [τ] (byte/validity.ts); with lookahead, also a
//            prefix of the tokenization of some continuation;
//   next-byte distribution: Σ of valid cover weights by the byte after p (END: text ends at p),
//            normalised.
//
// Branch scores live in a token trie under the context, so a branch's prefixes are never scored
// twice and an unscored row's probability is bounded by its scored prefix (what both schedulers
// order rows by). Exactness: with uncheckedMass 0 every candidate is checked; uncheckedMass > 0
// leaves the lightest candidates of each row unchecked (counted as valid) as long as together
// they weigh at most that share of the row.
import { Tokenizer } from '../tokenizer/tokenizer';
import { concatBytes } from '../tokenizer/utf8';
import { PrefixMass, VocabIndex } from './vocab-index';
import { bucketOf, checkedInRange, N_BUCKETS, uncheckedBucket } from './prob-buckets';
import { altTails, stableCommitPoint, tokensBefore } from './lookahead';
import { lowerBound, RowValidity, rowValidity, ValidityStats } from './validity';
import { LMContext, ScoredBranch } from './lm';
import { LogDist } from './log-dist';
import { expTerm } from '../decode/distribution';

export const END = 256; // index of end-of-text in next-byte distributions

export interface CoverOptions {
  /** Ids that end the text (their mass is END). */
  stopIds: ReadonlySet<number>;
  /** Rows for the other tokenizations of a trailing whitespace run; validity with probes. */
  lookahead: boolean;
}

export interface Cover {
  /** Split point in p: the cover's last token starts at byte j of p. */
  j: number;
  /** Index of the cover's row in the scheduler's row list. */
  row: number;
  token: number;
  /** log P(cover | context). */
  logw: number;
  /** True for an end-of-text token right after enc(p): the text ends exactly at p. */
  end: boolean;
}

interface Node {
  /** log p(next token | context, path); null until the path has been run through the model. */
  next: LogDist | null;
  /** As the row at the end of p: candidate mass by next byte, its sum, candidates, mass by bucket. */
  end?: EndData;
  /** Candidate mass in vocabulary ranges (the exact path). */
  mass?: NodeMass;
  /** Where the path's context comes from (a scored branch and how many of its tokens). */
  src: { branch: ScoredBranch; m: number } | null;
  children: Map<number, Node>;
}

/**
 * One pass over a scored distribution: prefix sums of the probabilities in the vocabulary's
 * sorted order (VocabIndex.cumulativeMass), so the mass of the tokens extending any byte string,
 * and of those sharing any next byte, is a difference of two prefix sums (PrefixMass.range).
 */
interface NodeMass {
  cum: PrefixMass;
  /** Σ p of the stop ids (END). */
  stop: number;
  /** Σ p of the stop ids that also have bytes (in `cum` as well; at the end of p they are END only). */
  stopWithBytes: number;
}

interface EndData {
  marg: Float64Array;
  total: number;
  buckets: Float64Array;
  /** The candidates that are not stop ids by bucket (see bucketOrder), made when first needed. */
  order?: BucketOrder;
}

/**
 * Candidates by log-probability bucket, heaviest bucket first: bucket k's are
 * ids[start[k] .. start[k + 1]), their probabilities in `probs` (same positions), so the
 * candidates checked one by one are a prefix and the unchecked ones are never visited.
 */
interface BucketOrder {
  ids: Int32Array;
  start: Int32Array;
  probs: Float64Array;
}

export interface Row {
  j: number;
  ids: number[];
  /** A non-canonical tokenization of p[:j] (altTails): the text cannot end there. */
  alt: boolean;
  /** log P(ids | context), exact when `exact`, else an upper bound (an unscored prefix). */
  logP: number;
  exact: boolean;
  node: Node | null;
  /** Validity cache of this row. */
  tv?: RowValidity;
}

/**
 * Which of the weights ws (in their order) are taken heaviest first (ties in their order), each
 * while those not yet taken weigh more than eps of `total`: those heavier than `bound` and the
 * first `ties` of those equal to it (bound -Infinity: all). One native sort of the weights (sorted
 * in place), no comparator: the remaining mass is subtracted in the same order as when sorting
 * the candidates themselves, so the same ones are taken.
 */
function heaviestTaken(ws: Float64Array, total: number, eps: number): { bound: number; ties: number } {
  const sorted = ws.sort();
  let rem = total;
  let taken = 0;
  for (let i = sorted.length - 1; i >= 0 && rem > eps * total; i--, taken++) rem -= sorted[i];
  if (taken === sorted.length) return { bound: -Infinity, ties: 0 };
  const bound = sorted[sorted.length - 1 - taken];
  let above = 0;
  for (let i = sorted.length - 1; i >= 0 && sorted[i] > bound; i--) above++;
  return { bound, ties: taken - above };
}

const newNode = (next: LogDist | null): Node => ({ next, src: null, children: new Map() });

/** The trie node after `node` and token `id`, created unscored if new. */
function childOf(node: Node, id: number): Node {
  let child = node.children.get(id);
  if (!child) node.children.set(id, (child = newNode(null)));
  return child;
}

export class CoverSet {
  private ctx: LMContext;
  private root: Node;
  private p: Uint8Array = new Uint8Array(0);
  /** enc(p[:j]) by split point j. */
  private idsAt = new Map<number, number[]>();
  /**
   * Validity caches by the row's ids array (shared per tokenizer through the row's unstable tail):
   * a row's ids are idsAt's or altAt's array for its split point, the same array until a commit
   * replaces them, so rows() made anew per byte find their cache without building a key.
   */
  private validAt = new Map<number[], RowValidity>();
  /** Other tokenizations of p[:j] that extensions of it produce (see altTails). */
  private altAt = new Map<number, number[][]>();
  private readonly tokBytes: Uint8Array[];
  readonly validity: ValidityStats = { fast: 0, exact: 0, probes: 0 };

  constructor(
    readonly tok: Tokenizer,
    readonly index: VocabIndex,
    ctx: LMContext,
    readonly opts: CoverOptions,
  ) {
    this.ctx = ctx;
    this.root = newNode(ctx.next);
    this.tokBytes = normalBytes(tok);
  }

  /** The context the rows' branches start from. */
  get context(): LMContext {
    return this.ctx;
  }

  /** The pending bytes p. */
  get pending(): Uint8Array {
    return this.p;
  }

  /** Appends bytes to p (rows whose suffix stops being a token prefix drop out of rows()). */
  append(bytes: Uint8Array): void {
    this.p = this.p.length === 0 ? bytes.slice() : concatBytes(this.p, bytes);
  }

  // ---------------------------------------------------------------- rows and their scores

  /** The rows of p, each with its probability (exact when scored, else a bound). */
  rows(): Row[] {
    const rows: Row[] = [];
    const n = this.p.length;
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

  /** Whether a row's scores are known. */
  ready(r: Row): boolean {
    return r.exact && !!r.node?.next;
  }

  /** Whether the branch ids (after the context) has been scored, itself or as a prefix of another. */
  isScored(ids: readonly number[]): boolean {
    let node = this.root;
    for (const id of ids) {
      const child = node.children.get(id);
      if (!child) return false;
      node = child;
    }
    return !!node.next;
  }

  /** Stores a scored branch (ids after the context) along its trie path. */
  record(ids: readonly number[], branch: ScoredBranch): void {
    let node = this.root;
    ids.forEach((id, i) => {
      const child = childOf(node, id);
      if (!child.next) child.next = branch.nexts[i];
      if (!child.src) child.src = { branch, m: i + 1 };
      node = child;
    });
  }

  /** The context after a scored row's ids (no forward). */
  contextOf(r: Row): LMContext {
    if (r.ids.length === 0) return this.ctx;
    const src = r.node?.src;
    if (!src) throw new Error('internal: contextOf an unscored row');
    return src.branch.extend(src.m);
  }

  private isSplitPoint(j: number): boolean {
    const n = this.p.length;
    if (j === n) return true;
    if (j > n) return false;
    const [lo, hi] = this.index.range(this.p.subarray(j));
    return lo < hi;
  }

  private idsFor(j: number): number[] {
    let ids = this.idsAt.get(j);
    if (!ids) {
      ids = j === 0 ? [] : this.tok.encodeBytes(this.p.subarray(0, j));
      this.idsAt.set(j, ids);
    }
    return ids;
  }

  /**
   * Tokenizations of p[:j] other than enc(p[:j]) that a continuation produces: with lookahead
   * split patterns (`\s+(?!\S)`), a whitespace run at the end of p[:j] is split differently once
   * a non-space follows ("\n\n" is one token alone, but "\n" "\n" before "def" under GPT-2's
   * pattern). Such sequences are valid although their prefix is not canonical, so they need rows of
   * their own. Found by probing continuations (see altTails); only at the end of p.
   */
  private altIdsFor(j: number): number[][] {
    if (j !== this.p.length || j === 0 || !this.opts.lookahead) return [];
    let alts = this.altAt.get(j);
    if (!alts) {
      const A = this.p.subarray(0, j);
      const c = stableCommitPoint(this.tok, A);
      const head = tokensBefore(this.tok, this.idsFor(j), c);
      alts = head ? altTails(this.tok, A.subarray(c)).map((t) => head.concat(t)) : [];
      this.altAt.set(j, alts);
    }
    return alts;
  }

  /** Walks the trie along ids: exact log-probability, or an upper bound where a prefix is unscored. */
  private resolve(ids: number[]): { logP: number; exact: boolean; node: Node | null } {
    let node = this.root;
    let lp = 0;
    for (const id of ids) {
      if (!node.next) return { logP: lp, exact: false, node: null };
      lp += node.next.at(id);
      node = childOf(node, id);
    }
    return { logP: lp, exact: true, node };
  }

  // ---------------------------------------------------------------- moving the context

  /**
   * The committed tokens' probability and the context after them, when they were scored as (a
   * prefix of) a branch; null when they need a forward.
   */
  scoredPath(ids: readonly number[]): { logP: number; ctx: LMContext } | null {
    let node: Node | null = this.root;
    let lp = 0;
    for (const id of ids) {
      if (!node?.next) return null;
      lp += node.next.at(id);
      node = node.children.get(id) ?? null;
    }
    if (!node?.next || !node.src) return null;
    return { logP: lp, ctx: node.src.branch.extend(node.src.m) };
  }

  /**
   * Moves the first c bytes of p into the context: their tokens cIds (a stable pre-token boundary,
   * so enc(p[:j]) = cIds ++ enc(p[c:j]) for j >= c) must have been recorded; ctx is the context
   * after them. The trie root moves down to them (their scores are kept).
   */
  commit(c: number, cIds: readonly number[], ctx: LMContext): void {
    let node = this.root;
    for (const id of cIds) node = node.children.get(id)!;
    this.root = node;
    this.root.src = null;
    this.ctx = ctx;
    const ids = new Map<number, number[]>();
    for (const [j, v] of this.idsAt) {
      if (j < c) continue;
      if (v.length >= cIds.length && cIds.every((id, i) => v[i] === id)) ids.set(j - c, v.slice(cIds.length));
    }
    this.idsAt = ids;
    this.validAt.clear();
    this.altAt.clear();
    this.p = this.p.slice(c);
  }

  /** A new context for the same pending bytes (a window restart): every score is dropped. */
  restart(ctx: LMContext): void {
    this.ctx = ctx;
    this.root = newNode(ctx.next);
  }

  // ---------------------------------------------------------------- candidates and validity

  /** Σ of candidate weights of a scored row (validity not checked). */
  rowMass(r: Row): number {
    const m = this.massOf(r.node!);
    const [lo, hi] = this.candidateRange(r.j);
    let s = m.cum.range(lo, hi);
    if (r.j === this.p.length) s += m.stop - m.stopWithBytes;
    return Math.exp(r.logP) * s;
  }

  /** Positions in VocabIndex.sorted of the candidates of the row at split point j (tokens longer than p[j:] extending it). */
  private candidateRange(j: number): [number, number] {
    const at = this.p.length - j;
    if (at === 0) return [0, this.index.sorted.length];
    let [lo, hi] = this.index.range(this.p.subarray(j));
    // The token equal to p[j:] sorts first in its range and is no candidate.
    if (lo < hi && this.index.length(this.index.sorted[lo]) === at) lo++;
    return [lo, hi];
  }

  /** The node's candidate mass by vocabulary range (one pass over its distribution, once). */
  private massOf(node: Node): NodeMass {
    if (!node.mass) {
      const next = node.next!;
      let stop = 0;
      let stopWithBytes = 0;
      for (const id of this.opts.stopIds) {
        if (id >= next.length) continue;
        const p = Math.exp(next.at(id));
        stop += p;
        if (this.index.firstByte[id] >= 0) stopWithBytes += p;
      }
      node.mass = { cum: this.index.cumulativeMass(next), stop, stopWithBytes };
    }
    return node.mass;
  }

  /** Whether row r has candidates whose next byte is `byte` (END: only a canonical row at the end). */
  canProduce(r: Row, byte: number): boolean {
    const n = this.p.length;
    if (byte === END) return r.j === n && !r.alt;
    if (r.j === n) return true;
    const [lo, hi] = this.index.range(concatBytes(this.p.subarray(r.j), Uint8Array.of(byte)));
    return lo < hi;
  }

  /** Σ of candidate weights of a scored row whose next byte is `byte` (validity not checked). */
  byteMass(r: Row, byte: number): number {
    const m = this.massOf(r.node!);
    let s = 0;
    if (byte === END) {
      if (r.j === this.p.length && !r.alt) s = m.stop;
    } else {
      const [lo, hi] = this.index.range(concatBytes(this.p.subarray(r.j), Uint8Array.of(byte)));
      s = m.cum.range(lo, hi);
    }
    return Math.exp(r.logP) * s;
  }

  /** Candidate covers of a scored row (`ri`: its index in the caller's list), validity not checked. */
  candidates(r: Row, ri: number): Cover[] {
    const out: Cover[] = [];
    const n = this.p.length;
    if (r.logP === -Infinity) return out;
    const next = r.node!.next!;
    if (r.j < n) {
      for (const id of this.index.extending(this.p.subarray(r.j))) out.push({ j: r.j, row: ri, token: id, logw: r.logP + next.at(id), end: false });
    } else {
      for (let id = 0; id < next.length; id++) {
        const isStop = this.opts.stopIds.has(id);
        // Text can only end on its own canonical tokenization.
        if (isStop ? r.alt : this.index.firstByte[id] < 0) continue;
        out.push({ j: n, row: ri, token: id, logw: r.logP + next.at(id), end: isStop });
      }
    }
    return out;
  }

  /**
   * Validity of the cover ids ++ [token]: enc(p[:j] ++ bytes(token)) == ids ++ [token] (with
   * lookahead, or a prefix of a continuation's tokenization). Only the unstable tail of p[:j]
   * matters, so the check is cached per tokenizer by that tail (byte/validity.ts).
   */
  isValid(r: Row, token: number): boolean {
    return this.validityOf(r).valid(token, this.validity);
  }

  /** The row's validity cache (shared by rows with the same unstable tail). */
  private validityOf(r: Row): RowValidity {
    let tv = r.tv;
    if (!tv) {
      tv = this.validAt.get(r.ids);
      if (!tv) {
        tv = rowValidity(this.tok, this.p.subarray(0, r.j), r.ids, this.opts.lookahead);
        this.validAt.set(r.ids, tv);
      }
      r.tv = tv;
    }
    return tv;
  }

  /** Bytes a cover adds after p. */
  overhang(c: Cover): Uint8Array {
    return c.end ? new Uint8Array(0) : this.tok.tokenBytes(c.token).subarray(this.p.length - c.j);
  }

  // ---------------------------------------------------------------- the distribution

  /**
   * The exact distribution (every candidate checked) by vocabulary range: for each row and each
   * next byte b, the candidates extending p[j:] ++ b are one range of the sorted vocabulary, so
   * their mass is a difference of the node's prefix sums, less the mass of the invalid ones among
   * them (a difference of the prefix sums over the row validity's invalid positions). No loop
   * over candidates here: a row's validity is decided once per tail (and kept across rows and
   * bytes, byte/validity.ts), the prefix sums once per scored node.
   */
  private exactDistribution(rows: Row[]): { dist: Float64Array; mass: number } {
    const n = this.p.length;
    const dist = new Float64Array(257);
    let mass = 0;
    for (const r of rows) {
      const eL = Math.exp(r.logP);
      const m = this.massOf(r.node!);
      const at = n - r.j;
      const [lo, hi] = this.candidateRange(r.j);
      mass = this.addByByteRun(dist, mass, lo, hi, at, eL, this.validMass(r, lo, hi));
      if (at === 0) {
        // At the end of p the stop ids are END only (and never checked): take back the byte mass
        // of those that have bytes and were counted valid.
        for (const id of this.opts.stopIds) {
          const b = this.index.firstByte[id];
          if (b < 0 || id >= r.node!.next!.length || !this.isValid(r, id)) continue;
          const w = eL * Math.exp(r.node!.next!.at(id));
          dist[b] -= w;
          mass -= w;
        }
        // A non-canonical tokenization of the whole text cannot be followed by its end.
        if (!r.alt) {
          dist[END] += eL * m.stop;
          mass += eL * m.stop;
        }
      }
    }
    for (let b = 0; b < 257; b++) if (dist[b] < 0) dist[b] = 0;
    if (mass > 0) for (let b = 0; b < 257; b++) dist[b] /= mass;
    return { dist, mass };
  }

  /**
   * Adds a row's candidates in [lo, hi) of the sorted vocabulary to dist by their byte `at`: each
   * run of one next byte weighs eL * massOf(run). Returns acc plus the runs' weights, added in
   * order.
   */
  private addByByteRun(dist: Float64Array, acc: number, lo: number, hi: number, at: number, eL: number, massOf: (a: number, b: number) => number): number {
    for (let k = lo; k < hi; ) {
      const end = this.index.byteRunEnd(k, hi, at);
      const w = eL * massOf(k, end);
      dist[this.index.byteAt(k, at)] += w;
      acc += w;
      k = end;
    }
    return acc;
  }

  /**
   * The mass of the row's valid candidates between two positions of the sorted vocabulary (within
   * [lo, hi)): the range's mass less that of its invalid candidates (found by binary search among
   * the row validity's invalid positions, their probabilities summed over their ids).
   */
  private validMass(r: Row, lo: number, hi: number): (a: number, b: number) => number {
    const { pos, from, to } = this.validityOf(r).invalidPositions(this.index.sorted, lo, hi, this.validity);
    const cum = r.node!.mass!.cum;
    if (from === to) return (a, b) => cum.range(a, b);
    const ids = this.invalidIds(pos);
    return (a, b) => {
      const i = lowerBound(pos, a, from, to);
      const k = lowerBound(pos, b, from, to);
      // All invalid: nothing (the two sums would leave their rounding behind).
      if (k - i === b - a) return 0;
      return i === k ? cum.range(a, b) : cum.range(a, b) - cum.sumOf(ids, i, k);
    };
  }

  /** The token ids at invalid positions of the sorted vocabulary (kept per positions list). */
  private invalidIds(pos: Int32Array): Int32Array {
    let ids = this.idsOfInvalid.get(pos);
    if (!ids) {
      const sorted = this.index.sorted;
      ids = new Int32Array(pos.length);
      for (let i = 0; i < pos.length; i++) ids[i] = sorted[pos[i]];
      this.idsOfInvalid.set(pos, ids);
    }
    return ids;
  }

  private readonly idsOfInvalid = new WeakMap<Int32Array, Int32Array>();

  /**
   * Per-node data of a row at the end of p (every token is a candidate): mass by next byte, the
   * candidate ids, and their mass by log-probability bucket (bucket k holds log p in
   * (-(k+1)/BUCKETS_PER_NAT, -k/BUCKETS_PER_NAT]), so the lightest candidates can be left
   * unchecked without sorting the vocabulary.
   */
  private endData(node: Node): EndData {
    if (!node.end) {
      const next = node.next!;
      const V = Math.min(next.length, this.tokBytes.length);
      const marg = new Float64Array(257);
      const buckets = new Float64Array(N_BUCKETS);
      const stop = this.stopMask();
      const firstByte = this.index.firstByte;
      // p(id) = exp(logit - max) / sum, each exp taken as it is used (no scratch array written and read back),
      // and at(id) from the logits.
      const scale = 1 / next.sum;
      const logits = next.logits;
      const max = next.max;
      const lse = next.logSumExp;
      for (let id = 0; id < V; id++) {
        const s = stop[id];
        const fb = firstByte[id];
        if (s === 0 && fb < 0) continue;
        const l = logits[id];
        const x = l - max;
        // Scaled: NaN when the sum is.
        const p = expTerm(x) * scale;
        marg[s === 1 ? END : fb] += p;
        buckets[bucketOf(l - lse)] += p;
      }
      let total = 0;
      for (let b = 0; b < 257; b++) total += marg[b];
      node.end = { marg, total, buckets };
    }
    return node.end;
  }

  /** The end row's candidates that are not stop ids, by bucket (a counting sort, once per node). */
  private bucketOrder(node: Node): BucketOrder {
    const end = this.endData(node);
    if (!end.order) {
      const next = node.next!;
      const V = Math.min(next.length, this.tokBytes.length);
      const stop = this.stopMask();
      const bucketOfId = new Uint8Array(V);
      const start = new Int32Array(N_BUCKETS + 1);
      for (let id = 0; id < V; id++) {
        if (stop[id] === 1 || this.index.firstByte[id] < 0) continue;
        const k = bucketOf(next.at(id)) || 0; // NaN: the first bucket (checked)
        bucketOfId[id] = k;
        start[k + 1]++;
      }
      for (let k = 0; k < N_BUCKETS; k++) start[k + 1] += start[k];
      const fill = start.slice();
      const ids = new Int32Array(start[N_BUCKETS]);
      const probs = new Float64Array(start[N_BUCKETS]);
      // p(id) for the candidates only, each exp taken where it is stored.
      const scale = 1 / next.sum;
      const logits = next.logits;
      const max = next.max;
      for (let id = 0; id < V; id++) {
        if (stop[id] === 1 || this.index.firstByte[id] < 0) continue;
        const at = fill[bucketOfId[id]]++;
        ids[at] = id;
        const x = logits[id] - max;
        probs[at] = expTerm(x) * scale;
      }
      end.order = { ids, start, probs };
    }
    return end.order;
  }

  /** distribution's running total (see there). */
  private readonly massCell = new Float64Array(1);

  /** 1 for the stop ids, by id (the vocabulary's length). */
  private stopMask(): Uint8Array {
    if (!this.stops) {
      this.stops = new Uint8Array(this.tokBytes.length);
      for (const id of this.opts.stopIds) if (id < this.stops.length) this.stops[id] = 1;
    }
    return this.stops;
  }

  private stops: Uint8Array | null = null;

  /**
   * The next-byte distribution (256 bytes + END, normalised) over the given scored rows, and the
   * valid mass it normalises (Σ of valid cover weights). Candidates are checked for validity, the
   * lightest of each row left unchecked as long as together they weigh at most `eps` of the row
   * (so at most eps of the total stays unchecked). With `focus`, that byte's candidates are also
   * checked down to `focusEps` of that byte's own mass.
   */
  distribution(rows: Row[], eps: number, focus = -1, focusEps = eps): { dist: Float64Array; mass: number } {
    if (eps === 0) return this.exactDistribution(rows);
    const n = this.p.length;
    const dist = new Float64Array(257);
    // The running total in a typed array: a double that closures write is boxed anew per write.
    const tot = this.massCell;
    tot[0] = 0;
    // Candidates found invalid, by row and token (only the focus pass reads them).
    const subtracted = new Set<number>();
    const focusing = focus >= 0 && eps > focusEps;
    // Focus candidates: [row index, token, weight].
    const fr: number[] = [];
    const ft: number[] = [];
    const fw: number[] = [];
    rows.forEach((r, ri) => {
      const next = r.node!.next!;
      const eL = Math.exp(r.logP);
      // A candidate of this row found invalid: weight w taken back from next byte b.
      const subtract = (b: number, id: number, w: number): void => {
        dist[b] -= w;
        tot[0] -= w;
        if (focusing) subtracted.add(ri * 4_194_304 + id);
      };
      if (r.j === n) {
        const { marg, total, buckets } = this.endData(r.node!);
        // A non-canonical tokenization of the whole text cannot be followed by its end.
        const rowMass = eL * (r.alt ? total - marg[END] : total);
        for (let b = 0; b < END; b++) dist[b] += eL * marg[b];
        if (!r.alt) dist[END] += eL * marg[END];
        tot[0] += rowMass;
        // Candidates in the lightest buckets, together at most eps of the row, stay unchecked:
        // the checked ones are those in the buckets before skipFrom.
        const skipFrom = eps > 0 ? uncheckedBucket(buckets, (eps * rowMass) / eL) : N_BUCKETS;
        const tv = this.validityOf(r);
        const firstByte = this.index.firstByte;
        if (tv.decidesOrderByClass) {
          // The whole vocabulary's validity a class at a time (kept per tail, byte/validity.ts):
          // only the invalid candidates are visited, those in the checked buckets subtracted.
          const sorted = this.index.sorted;
          const { pos } = tv.invalidPositions(sorted, 0, sorted.length, this.validity);
          const stop = this.stopMask();
          const logits = next.logits;
          const lse = next.logSumExp;
          for (let i = 0; i < pos.length; i++) {
            const id = sorted[pos[i]];
            if (id >= logits.length || stop[id] === 1) continue;
            const lp = logits[id] - lse;
            if (skipFrom < N_BUCKETS && bucketOf(lp) >= skipFrom) continue;
            subtract(firstByte[id], id, eL * Math.exp(lp));
          }
        } else {
          const { ids, start, probs } = this.bucketOrder(r.node!);
          for (let k = 0, end = start[skipFrom]; k < end; k++) {
            if (!tv.valid(ids[k], this.validity)) subtract(firstByte[ids[k]], ids[k], eL * probs[k]);
          }
        }
        if (focusing && focus !== END) {
          const [lo, hi] = this.index.range(Uint8Array.of(focus));
          for (let k = lo; k < hi; k++) {
            const id = this.index.sorted[k];
            fr.push(ri), ft.push(id), fw.push(eL * Math.exp(next.at(id)));
          }
        }
      } else {
        // Inside a token: the row's mass by next byte from the node's prefix sums (one run of the
        // sorted vocabulary per byte), then only the candidates to check are visited.
        const at = n - r.j;
        const [lo, hi] = this.candidateRange(r.j);
        const cum = this.massOf(r.node!).cum;
        tot[0] += this.addByByteRun(dist, 0, lo, hi, at, eL, (a, b) => cum.range(a, b));
        // eps >= 1 leaves every candidate unchecked (what decoding asks outside its focus byte).
        if (eps < 1 && eL > 0) {
          const tv = this.validityOf(r);
          checkedInRange(next, this.index.sorted, lo, hi, eps, (id, p, k) => {
            if (!tv.valid(id, this.validity)) subtract(this.index.byteAt(k, at), id, eL * p);
          });
        }
        if (focusing && focus !== END) {
          const [flo, fhi] = this.index.range(concatBytes(this.p.subarray(r.j), Uint8Array.of(focus)));
          for (let k = flo; k < fhi; k++) {
            const id = this.index.sorted[k];
            if (!subtracted.has(ri * 4_194_304 + id)) fr.push(ri), ft.push(id), fw.push(eL * Math.exp(next.at(id)));
          }
        }
      }
    });
    if (fw.length > 0) {
      let A = 0;
      for (const w of fw) A += w;
      // The focus candidates taken heaviest first while more than focusEps of their mass is left.
      const { bound, ties } = heaviestTaken(Float64Array.from(fw), A, focusEps);
      let tie = 0;
      for (let i = 0; i < fw.length; i++) {
        const w = fw[i];
        if (!(w > bound || (w === bound && tie++ < ties))) continue;
        const key = fr[i] * 4_194_304 + ft[i];
        if (subtracted.has(key)) continue;
        if (!this.isValid(rows[fr[i]], ft[i])) {
          dist[focus] -= w;
          tot[0] -= w;
          subtracted.add(key);
        }
      }
    }
    for (let b = 0; b < 257; b++) if (dist[b] < 0) dist[b] = 0;
    const mass = tot[0];
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
