// One model's exact next-byte distribution over a growing byte history h (docs/DESIGN.md, "The byte
// layer"): the middle being generated (or a document being scored), tokenized from its own start.
// The covers, their validity and mass are the byte layer's core (byte/covers.ts); this file is the
// streaming scheduler: which rows to score, when, and when to move the context.
//
//   context   fixed tokens (the prompt) with their KV state, then the COMMITTED tokens: the
//             canonical tokens of h[:c] for a stable pre-token boundary c (see stableCommitPoint);
//   pending   p = h[c:], whose covers are the core's rows.
//
// push(b) appends a byte. Rows survive while p[j:]+b is still a token prefix, so their scores are
// reused; the only new row is enc(p+b) at j = |p+b|. Its probability is bounded without running
// the model (enc(p+b) = enc(p[:k]) ++ [τ] with row k already scored), and rows are scored only
// while their mass can matter (lazyMass; 0 = always): heaviest first, all the rows that must be
// scored in one batched call (see batchOf).
// Committing moves the core's trie root down to the committed tokens, reusing their KV state (no
// forward) when they were scored.
//
// Exactness: with uncheckedMass = lazyMass = 0 the distribution is exactly the covers' marginal
// (the same as a fresh CoverTree over the whole history after the same context; tests check
// that). uncheckedMass > 0 counts the lightest candidates as valid without checking them (at most
// that share of the total mass); lazyMass > 0 leaves out rows whose whole mass is below that share
// of the scored mass (the row's probability bounds it).
import { Tokenizer } from '../tokenizer/tokenizer';
import { concatBytes } from '../tokenizer/utf8';
import { VocabIndex } from './vocab-index';
import { stableCommitPoint, tokensBefore } from './lookahead';
import { BranchLM, LMContext, ScoredBranch } from './lm';
import { CoverSet, Row } from './covers';
import { PlannedScores, plannedRows } from './row-plan';
import { guessedRows, heaviestContinuation, Speculation, SpeculationStats, SpeculativeRows } from './speculation';

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
   * whitespace run that continuations produce, and covers whose token ends in whitespace counted
   * when some continuation makes them canonical. Off, the covers are exactly CoverTree's
   * (prefix-closed validity), which misses that mass.
   */
  lookahead?: boolean;
  /** Lengthen due rows by the tokens of guessed next bytes (byte/speculation.ts). Default: off. */
  speculate?: Speculation;
  /**
   * Scoring a known document under one model: push() scores no rows; telescopedLogProb() scores
   * the rows alive at the end (and a window restart those alive at the restart) in one batched
   * call each. See telescopedLogProb. The next-byte distribution covers only the rows scored by
   * the last telescopedLogProb (none after a push).
   */
  rowsOnDemand?: boolean;
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

export class ByteStream {
  private readonly covers: CoverSet;
  private ctxIds: number[];
  private historyBytes: Uint8Array[] = [];
  private historyLen = 0;
  /** The rows of the pending bytes, as last scheduled. */
  private rows: Row[] = [];
  private dist: Float64Array | null = null;
  private committedLogP = 0;
  private readonly eps: number;
  private readonly lazy: number;
  private readonly focusEps: number;
  private readonly counts = { commits: 0, restarts: 0, lazyRows: 0 };
  private readonly spec: SpeculativeRows | null;
  /** expect(): bytes known to follow the history from history length `at` on. */
  private ahead: { bytes: Uint8Array; at: number; horizon: number } | null = null;
  private readonly planned = new PlannedScores();
  /** rowsOnDemand: Σ over closed windows of log(prefix mass at its end / at its start), and the open window's start. */
  private closedLog = 0;
  private openLog: number | null = null;

  get stats(): ByteStreamStats {
    const v = this.covers.validity;
    return { ...this.counts, validityChecks: v.fast + v.exact, reencodings: v.exact };
  }

  private constructor(
    readonly lm: BranchLM,
    readonly tok: Tokenizer,
    readonly index: VocabIndex,
    ctx: LMContext,
    ctxIds: number[],
    readonly opts: ByteStreamOptions,
  ) {
    this.covers = new CoverSet(tok, index, ctx, { stopIds: opts.stopIds, lookahead: opts.lookahead !== false });
    this.ctxIds = ctxIds.slice();
    this.eps = opts.uncheckedMass ?? 0;
    this.lazy = opts.lazyMass ?? 0;
    this.focusEps = opts.focusMass ?? this.eps;
    this.spec = opts.speculate ? new SpeculativeRows() : null;
  }

  /** Speculation's counts (null without speculation). */
  get speculation(): SpeculationStats | null {
    return this.spec?.stats ?? null;
  }

  /** A guess of the next bytes: the stream's heaviest scored continuation (byte/speculation.ts). */
  continuation(maxBytes: number): Uint8Array {
    return heaviestContinuation(this.covers, this.covers.rows(), this.spec, this.tok, maxBytes);
  }

  /**
   * A stream after a context (ctxIds are its tokens, used only for window restarts) whose history
   * starts with `history` (e.g. the pending bytes u of the prompt boundary; may be empty).
   */
  static async create(lm: BranchLM, tok: Tokenizer, index: VocabIndex, ctx: LMContext, ctxIds: number[], history: Uint8Array, opts: ByteStreamOptions, signal?: AbortSignal): Promise<ByteStream> {
    const s = new ByteStream(lm, tok, index, ctx, ctxIds, opts);
    s.covers.append(history);
    s.historyBytes.push(history.slice());
    s.historyLen = history.length;
    await s.commitStable(signal);
    if (opts.rowsOnDemand) s.openLog = await s.prefixLogMass(signal);
    else await s.ensureRows(signal);
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
    return this.covers.context.length;
  }

  /** Bytes not yet committed. */
  get pendingBytes(): Uint8Array {
    return this.covers.pending;
  }

  /** Longest branch of the current rows, in tokens (positions a next forward may need). */
  get pendingTokens(): number {
    let m = 0;
    for (const r of this.rows) m = Math.max(m, r.ids.length + 1);
    return m;
  }

  async push(byte: number, signal?: AbortSignal): Promise<void> {
    if (!(Number.isInteger(byte) && byte >= 0 && byte < 256)) throw new Error(`push: not a byte: ${byte}`);
    const b = Uint8Array.of(byte);
    if (this.ahead && this.ahead.bytes[this.historyLen - this.ahead.at] !== byte) this.ahead = null;
    this.covers.append(b);
    this.historyBytes.push(b);
    this.historyLen++;
    this.dist = null;
    await this.commitStable(signal);
    if (this.opts.rowsOnDemand) this.rows = [];
    else await this.ensureRows(signal);
  }

  /**
   * For a caller that knows the bytes it will push next (scoring a document): when the row that
   * pushing next[0] creates, enc(p ++ next[0]), is unscored, scores it together with the unscored
   * rows enc(p ++ next[:k]) of the following bytes, in one batched call. Scores of rows that the
   * pushes then need are found in the trie (they survive commits: the committed tokens are a prefix
   * of them); a row that turns out not to matter is a wasted batch row, not a wrong score.
   * Lookahead rows are left to push. With expect() the call usually needs no forward.
   */
  async prefetch(next: Uint8Array, signal?: AbortSignal): Promise<void> {
    if (next.length === 0) return;
    const p = this.covers.pending;
    const first = this.tok.encodeBytes(concatBytes(p, next.subarray(0, 1)));
    if (first.length === 0 || this.covers.isScored(first)) return;
    const want: number[][] = [first];
    for (let k = 2; k <= next.length; k++) {
      const ids = this.tok.encodeBytes(concatBytes(p, next.subarray(0, k)));
      if (ids.length > 0 && !this.covers.isScored(ids)) want.push(ids);
    }
    const scored = await this.scoreOnContext(want, signal);
    want.forEach((ids, k) => this.covers.record(ids, scored[k]));
  }

  /**
   * For a caller that knows the bytes it will push next (scoring a document): from now on every
   * forward also runs the rows that pushing up to `horizon` of those bytes will create
   * (byte/row-plan.ts: the end rows and their lookahead variants, found from the text and the
   * tokenizer), so a stretch of the document costs one forward, not one per row as it is found.
   * Their scores are kept apart (PlannedScores) and handed out when the stream asks for the row, so
   * which rows the distributions count, hence the bits, does not change. Pushing a byte other than
   * the expected one drops the expectation.
   */
  expect(next: Uint8Array, horizon: number): void {
    this.ahead = next.length > 0 && horizon > 0 ? { bytes: next, at: this.historyLen, horizon } : null;
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
      const rows = this.covers.rows();
      let mass = 0;
      const unscored: Row[] = [];
      for (const r of rows) {
        if (this.covers.ready(r)) mass += this.covers.byteMass(r, byte);
        else if (this.covers.canProduce(r, byte)) unscored.push(r);
      }
      this.rows = rows;
      const batch = this.batchOf(unscored, mass);
      if (batch.length === 0) break;
      await this.scoreRows(batch, signal);
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

  /**
   * rowsOnDemand: Σ over the context windows since create of log(P(history so far is a prefix |
   * window) / P(history at the window's start | window)), each window closed when its context
   * restarts (after the commit that triggered it). Within a window this is the product of the
   * next-byte probabilities only when the valid covers keep all their mass; a real model puts some
   * on invalid continuations of the covers that end exactly at a byte, which the per-byte
   * distribution renormalises away, so the per-byte product is at most this (docs/DESIGN.md).
   */
  async telescopedLogProb(signal?: AbortSignal): Promise<number> {
    if (this.openLog === null) throw new Error('telescopedLogProb needs rowsOnDemand');
    return this.closedLog + (await this.prefixLogMass(signal)) - this.openLog;
  }

  /** logPrefixProb after scoring the rows alive now (batched, lazyMass applies). */
  private async prefixLogMass(signal?: AbortSignal): Promise<number> {
    await this.ensureRows(signal);
    return this.logPrefixProb();
  }

  private computeDistribution(focus = -1): { dist: Float64Array; mass: number } {
    return this.covers.distribution(
      this.rows.filter((r) => this.covers.ready(r)),
      this.eps,
      focus,
      this.focusEps,
    );
  }

  // ---------------------------------------------------------------- scheduling rows

  /**
   * The unscored rows to score next, heaviest first: a row joins while its bound can still matter
   * against `scored` plus the bounds of the heavier rows already in the batch (a row's mass is at
   * most its probability). So the batch holds only rows that scoring one at a time, heaviest first,
   * would also score (up to bounds that scoring the others tightens), and the exact case
   * (lazyMass 0) takes them all at once. Empty when none can matter.
   */
  private batchOf(unscored: Row[], scored: number): Row[] {
    if (this.lazy <= 0) return unscored;
    unscored.sort((a, b) => b.logP - a.logP);
    const batch: Row[] = [];
    let bound = scored;
    for (const r of unscored) {
      const w = Math.exp(r.logP);
      if (bound > 0 && w <= this.lazy * bound) break;
      batch.push(r);
      bound += w;
    }
    return batch;
  }

  /** One batched call for the rows' branches (the context row is always scored). */
  private async scoreRows(rows: Row[], signal?: AbortSignal): Promise<void> {
    if (rows.some((r) => r.ids.length === 0)) throw new Error('internal: the context row is always scored');
    const scored = await this.scoreBranches(rows.map((r) => r.ids), signal);
    rows.forEach((r, k) => this.covers.record(r.ids, scored[k]));
  }

  /** lm.score on the context, or through the speculative rows. */
  private scoreBranches(branches: number[][], signal?: AbortSignal): Promise<ScoredBranch[]> {
    const ctx = this.covers.context;
    const o = this.opts.speculate;
    if (!this.spec || !o) return this.scoreOnContext(branches, signal);
    const room = this.lm.maxPositions - ctx.length;
    return this.spec.score(this.lm, ctx, branches, () => guessedRows(this.tok, this.covers.pending, o.guesses(), branches, o.maxTokens, room), signal);
  }

  /**
   * Branches on the context: planned scores where kept, else one lm.score for the others with the
   * expected bytes' unscored rows (kept for later).
   */
  private async scoreOnContext(branches: number[][], signal?: AbortSignal): Promise<ScoredBranch[]> {
    const ctx = this.covers.context;
    const out = branches.map((ids) => this.planned.take(ctx, ids));
    const missing = branches.filter((_, i) => !out[i]);
    if (missing.length === 0) return out as ScoredBranch[];
    const ahead = this.aheadRows();
    const scored = await this.lm.score(ctx, missing.concat(ahead), signal);
    this.planned.recordAll(ahead, scored.slice(missing.length));
    let k = 0;
    return out.map((b) => b ?? scored[k++]);
  }

  /** The expected bytes' rows within the horizon that are not scored yet (and fit the context). */
  private aheadRows(): number[][] {
    const a = this.ahead;
    if (!a) return [];
    const from = this.historyLen - a.at;
    const next = a.bytes.subarray(from, from + a.horizon);
    if (next.length === 0) return [];
    const used = this.covers.context.length;
    const room = this.lm.maxPositions - used;
    const maxTokens = Math.min(room, (this.opts.maxContext ?? Infinity) - used);
    const rows = plannedRows(this.tok, this.covers.pending, next, { lookahead: this.opts.lookahead !== false, maxTokens });
    return rows.filter((ids) => ids.length < room && !this.covers.isScored(ids) && !this.planned.has(ids));
  }

  /** Scores rows (batched, heaviest first) until the unscored ones cannot matter. */
  private async ensureRows(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const rows = this.covers.rows();
      let scored = 0;
      const unscored: Row[] = [];
      for (const r of rows) {
        if (this.covers.ready(r)) scored += this.covers.rowMass(r);
        else unscored.push(r);
      }
      const batch = this.batchOf(unscored, scored);
      if (batch.length === 0) {
        this.rows = rows;
        this.counts.lazyRows += unscored.length;
        return;
      }
      await this.scoreRows(batch, signal);
    }
  }

  // ---------------------------------------------------------------- committing

  /** Moves the stable part of the pending bytes into the context. */
  private async commitStable(signal?: AbortSignal): Promise<void> {
    const p = this.covers.pending;
    const c = stableCommitPoint(this.tok, p);
    if (c <= 0) return;
    // The committed tokens are those of the pending bytes' own tokenization (enc(p[:c]) alone can
    // differ: a whitespace run before c tokenizes differently at the end of a string).
    const cIds = tokensBefore(this.tok, this.tok.encodeBytes(p), c);
    if (!cIds) throw new Error('internal: no token boundary at a pre-token boundary');
    // Reuse the KV of a scored branch when the committed tokens were scored.
    let path = this.covers.scoredPath(cIds);
    if (!path) {
      const [b] = await this.scoreBranches([cIds], signal);
      this.covers.record(cIds, b);
      path = { logP: b.stepLogp.reduce((a, x) => a + x, 0), ctx: b.extend(cIds.length) };
    }
    this.committedLogP += path.logP;
    this.covers.commit(c, cIds, path.ctx);
    this.planned.commit(cIds);
    this.spec?.commit(cIds);
    this.ctxIds.push(...cIds);
    this.counts.commits++;
    this.dist = null;
    const max = this.opts.maxContext;
    if (max !== undefined && this.covers.context.length > max) await this.restart(signal);
  }

  /** Window restart: a fresh context from the last keepTokens context tokens. */
  private async restart(signal?: AbortSignal): Promise<void> {
    if (this.openLog !== null) this.closedLog += (await this.prefixLogMass(signal)) - this.openLog;
    const keep = Math.max(1, Math.min(this.opts.keepTokens ?? 256, this.ctxIds.length));
    this.ctxIds = this.ctxIds.slice(-keep);
    const old = this.covers.context;
    this.spec?.clear();
    this.planned.clear();
    this.covers.restart(this.lm.restart ? await this.lm.restart(old, this.ctxIds, signal) : await this.lm.start(this.ctxIds, signal));
    this.counts.restarts++;
    if (this.openLog !== null) this.openLog = await this.prefixLogMass(signal);
  }
}
