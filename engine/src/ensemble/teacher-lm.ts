// A BranchLM (byte/lm.ts) for scoring a known document: the document's canonical tokens T = [start] ++ enc(text)
// are run through the model in windows, with the logits of every position kept, so a branch that
// follows T from a context that is a prefix of T (the common case: committed tokens are canonical,
// and so is the most likely split of the pending bytes) is looked up instead of run. Any other
// branch (a non-canonical split) runs on the window's KV state: with a tree-mask graph, all of
// them as one token tree whose roots each follow the window up to where their branch leaves T
// (the tokens along T are not run again); else with the slots after the context masked out
// (OnnxBranchLM, a padded batch when `tree` is false). Results are the same as OnnxBranchLM's on
// the same context (up to float rounding).
//
// Windows: window k holds T[s_k : s_k + W] with W = min(maxPositions, maxContext + 64). ByteStream
// restarts its context (restart()) once it passes maxContext tokens, keeping the last keepTokens:
// the next window starts there. Positions start at 0 in every window.
import { logSoftmax } from '../decode/distribution';
import { KVState } from '../model/kv-state';
import { OnnxModel } from '../model/onnx-model';
import { BranchLM, LMContext, newStats, ScoredBranch, stepLogps } from '../byte/lm';
import { LogDist, MassPlan } from '../byte/log-dist';
import { OnnxBranchLM, tokenTrie } from '../byte/onnx-lm';

interface Window {
  s: number;
  len: number;
  state: KVState;
  /** logits[i]: after T[s .. s+i]. */
  logits: Float32Array[];
  /** First context position a (tokens of T) this window serves. */
  activeFrom: number;
}

interface TFContext extends LMContext {
  /** The context is T[:a] (window w holds its last a - w.s tokens). */
  a: number;
  win: Window;
}

export class TeacherForcedLM implements BranchLM {
  readonly stats = newStats();
  readonly windows: Window[] = [];
  private readonly plain: OnnxBranchLM;
  private readonly tree: boolean;
  private readonly W: number;
  private view: { w: Window; a: number; ctx: LMContext } | null = null;
  /**
   * Normalized positions of the current window from the lowest context scored on (contexts only
   * move forward): a branch along the document reads every position it follows, and planned rows
   * (ByteStream.expect) follow the window for many bytes.
   */
  private recent: { w: Window; at: Array<LogDist | undefined>; from: number } | null = null;
  /** The blocks the byte layer sums this LM's probabilities into (byte/log-dist.ts MassPlan; set on first use). */
  private readonly plan: MassPlan = { blockOf: null, count: 0 };

  constructor(
    readonly model: OnnxModel,
    readonly T: number[],
    maxContext: number,
    opts: { tree?: boolean } = {},
  ) {
    this.tree = opts.tree !== false;
    this.plain = new OnnxBranchLM(model, { tree: this.tree });
    this.W = Math.min(model.config.maxPositions, maxContext + 64);
  }

  get vocabSize(): number {
    return this.plain.vocabSize;
  }

  get maxPositions(): number {
    return this.plain.maxPositions;
  }

  private async open(s: number, activeFrom: number, signal?: AbortSignal): Promise<Window> {
    const ids = this.T.slice(s, s + this.W);
    const t0 = performance.now();
    const r = await this.model.forward(null, [ids], { allLogits: true, signal });
    this.count(ids.length, t0);
    const w: Window = { s, len: ids.length, state: r.state, logits: r.logits[0], activeFrom };
    this.windows.push(w);
    return w;
  }

  private ctxAt(win: Window, a: number): TFContext {
    return { a, win, next: this.logpAt(win, a - 1 - win.s), length: a - win.s };
  }

  /** log p(next token) after window position i (kept from the lowest context position asked on). */
  private logpAt(w: Window, i: number): LogDist {
    if (this.recent?.w !== w) this.recent = { w, at: [], from: 0 };
    // The logits are kept with it (and summed by the byte layer's blocks once it has set them):
    // the byte layer's mass pass then needs no second exp pass.
    return (this.recent.at[i] ??= LogDist.fromLogits(w.logits[i], this.plan));
  }

  /** Positions before i are not kept any more (a context at window position i + 1 was scored on). */
  private dropBefore(w: Window, i: number): void {
    const r = this.recent;
    if (r?.w !== w) return;
    for (; r.from < i; r.from++) r.at[r.from] = undefined;
  }

  /** The context T[:1] (the start token). */
  async first(signal?: AbortSignal): Promise<LMContext> {
    const w = await this.open(0, 1, signal);
    return this.ctxAt(w, 1);
  }

  async start(ids: number[], signal?: AbortSignal): Promise<LMContext> {
    return this.plain.start(ids, signal);
  }

  async restart(ctx: LMContext, ids: number[], signal?: AbortSignal): Promise<LMContext> {
    const c = ctx as Partial<TFContext>;
    if (c.win) {
      const s = c.a! - ids.length;
      if (s >= 0 && ids.every((id, i) => this.T[s + i] === id)) return this.ctxAt(await this.open(s, c.a!, signal), c.a!);
    }
    return this.plain.start(ids, signal);
  }

  async score(ctx: LMContext, branches: number[][], signal?: AbortSignal): Promise<ScoredBranch[]> {
    const c = ctx as Partial<TFContext>;
    if (!c.win) return this.countPlain(() => this.plain.score(ctx, branches, signal));
    const a = c.a!;
    const w = c.win;
    this.dropBefore(w, a - 1 - w.s);
    // Per branch: how many of its tokens follow T, and whether all its logits are in the window.
    const along = branches.map((ids) => {
      let k = 0;
      while (k < ids.length && ids[k] === this.T[a + k]) k++;
      return k;
    });
    const looked = branches.map((ids, i) => along[i] === ids.length && a + ids.length - 1 - w.s < w.len);
    const others = branches.filter((_, i) => !looked[i]);
    let plain: ScoredBranch[] = [];
    if (others.length > 0 && (await this.offTrunkTree(w))) {
      plain = await this.scoreOffTrunk(ctx, w, a, others, along.filter((_, i) => !looked[i]), signal);
    } else if (others.length > 0) {
      // The window's KV with everything after T[:a] masked out, as a plain context (kept while
      // the stream stays at this context: the plain LM compacts it once).
      if (!this.view || this.view.w !== w || this.view.a !== a) {
        const S = w.state.length;
        const mask = new Uint8Array(S);
        mask.fill(1, 0, a - w.s);
        const state = w.state.withMask(mask, Int32Array.of(a - w.s));
        this.view = { w, a, ctx: this.plain.wrap(state, ctx.next) };
      }
      const plainCtx = this.view.ctx;
      plain = await this.countPlain(() => this.plain.score(plainCtx, others, signal));
    }
    let o = 0;
    return branches.map((ids, i): ScoredBranch => {
      const k = along[i];
      let out: ScoredBranch;
      if (looked[i]) {
        const nexts = ids.map((_, t) => this.logpAt(w, a + t - w.s));
        out = { ids, stepLogp: stepLogps(ctx, ids, nexts), nexts, extend: () => ctx };
      } else out = plain[o++];
      // Extensions along T stay teacher-forced contexts (so later branches are looked up again).
      return { ...out, extend: (m: number) => (m === 0 ? ctx : m <= k && a + m - 1 - w.s < w.len ? this.ctxAt(w, a + m) : out.extend(m)) };
    });
  }

  /**
   * Whether branches leaving T run as one token tree on the window's own KV (scoreOffTrunk): a
   * tree-mask graph on the CPU and a window without masked slots.
   */
  private async offTrunkTree(w: Window): Promise<boolean> {
    return this.tree && !w.state.onDevice && w.state.mask.every((m) => m === 1) && (await this.model.treeSupported());
  }

  /**
   * Branches that follow T for their first along[i] tokens and then leave it, scored in one
   * forward: only the tokens after each branch's last token of T run, as a token tree on the
   * window's KV, each root following the window's slots up to that point. The tokens along T are
   * not run again (their logits are the window's).
   */
  private async scoreOffTrunk(ctx: LMContext, w: Window, a: number, branches: number[][], along: number[], signal?: AbortSignal): Promise<ScoredBranch[]> {
    // Tokens along T past the window's end run in the tree like the others.
    const ks = along.map((k) => Math.min(k, w.s + w.len - a));
    // One trie per point of leaving T (each root follows the window up to there).
    const { tokens, parents, paths } = tokenTrie(branches.map((ids, i) => ids.slice(ks[i])), ks);
    const prefixSlots = new Array<number>(tokens.length);
    paths.forEach((path, i) => path.forEach((t) => (prefixSlots[t] = a + ks[i] - w.s)));
    const t0 = performance.now();
    const r = await this.model.forwardTree(w.state, tokens, parents, { signal, prefixSlots });
    this.count(tokens.length, t0);
    // Every tree token lies on some branch's path.
    const dists = r.logits.map((l) => LogDist.fromLogits(l, this.plan));
    const S = w.state.length;
    return branches.map((ids, i): ScoredBranch => {
      const k = ks[i];
      const path = paths[i];
      const nexts = ids.map((_, t) => (t < k ? this.logpAt(w, a + t - w.s) : dists[path[t - k]]));
      return {
        ids,
        stepLogp: stepLogps(ctx, ids, nexts),
        nexts,
        // m <= k: the caller's teacher-forced context; past it, the window up to the branch's
        // last token of T and the branch's tree slots.
        extend: (m: number): LMContext => {
          if (!(Number.isInteger(m) && m > k && m <= ids.length)) throw new Error(`extend(${m}) outside ${k + 1}..${ids.length}`);
          const mask = new Uint8Array(S + tokens.length);
          mask.fill(1, 0, a + k - w.s);
          for (let q = 0; q < m - k; q++) mask[S + path[q]] = 1;
          return this.plain.wrap(r.state.withMask(mask, Int32Array.of(a + m - w.s)), nexts[m - 1]);
        },
      };
    });
  }

  private count(tokens: number, t0: number): void {
    this.stats.forwards++;
    this.stats.forwardTokens += tokens;
    this.stats.forwardMs += performance.now() - t0;
  }

  private async countPlain<T>(f: () => Promise<T>): Promise<T> {
    const before = { ...this.plain.stats };
    const out = await f();
    this.stats.forwards += this.plain.stats.forwards - before.forwards;
    this.stats.forwardTokens += this.plain.stats.forwardTokens - before.forwardTokens;
    this.stats.forwardMs += this.plain.stats.forwardMs - before.forwardMs;
    return out;
  }

  /**
   * Token-level log-likelihood (nats) of T[1:], each token predicted in the window that served its
   * context in the byte-level pass (an extra window where none covers it).
   */
  async tokenLogLikelihood(signal?: AbortSignal): Promise<number> {
    let ll = 0;
    for (let i = 1; i < this.T.length; i++) {
      let w: Window | undefined;
      for (const x of this.windows) if (x.activeFrom <= i && i - 1 - x.s < x.len) w = x;
      if (!w) w = await this.open(Math.max(0, i - 256), i, signal);
      const lp = logSoftmax(w.logits[i - 1 - w.s]);
      ll += lp[this.T[i]];
    }
    return ll;
  }
}
