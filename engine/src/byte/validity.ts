// Token validity from the BPE merge ranks (docs/DESIGN.md, "The byte layer"): whether the token
// sequence ids ++ [τ] is the canonical tokenization of tail ++ bytes(τ), where ids = enc(tail),
// decided without re-encoding in almost every case.
//
// Within one pre-token piece, a sequence of tokens is canonical iff every adjacent pair is
// (a property of BPE), and a pair (a, b) is canonical iff BPE run on bytes(a) ++ bytes(b) never
// merges across the boundary: following both tokens' own merge runs, the edge tokens along a's
// right edge and b's left edge never form a merge that ranks below both sides' next merges
// (MergeValidity.pairValid). Whether τ joins the tail's last piece or starts a piece of its own is
// the pre-tokenizer's call, answered by splitting tail ++ bytes(τ) (a short string). Only where
// that split moves the tail's own pieces in a way the token boundaries do not settle, or where a
// token exists only through ignore_merges, does the check fall back to exact re-encoding.
import { Tokenizer } from '../tokenizer/tokenizer';
import { CharClasses } from '../tokenizer/char-class';
import { BpeModel } from '../tokenizer/bpe';
import { bytesToByteLevel } from '../tokenizer/byte-level';
import { concatBytes, utf8DecodeIfValid, utf8DecodeLenient } from '../tokenizer/utf8';
import { extendable, extendsWithProbe, isAsciiSpace, PROBE_TEXTS, stableCommitPoint, tokensBefore } from './lookahead';
import { MidCharTail, NOT_COMPLETING, NOT_KEPT } from './mid-char';

const MAX_PAIR_ROWS = 512;
const MAX_SPLIT_TABLES = 4096;
/** No merge rank (larger than every rank). */
const NO_RANK = 0x7fffffff;
/** In a pair row: the pair may cross (mayCross), its walk is due. */
const PAIR_WALK = 3;

/** One token's own BPE run: the rank of each step's merge and the edge tokens after each step. */
interface MergeRun {
  ranks: number[];
  /** lefts[i] / rights[i]: first / last token after i steps (i = 0: the bytes). */
  lefts: number[];
  rights: number[];
}

/** Every token's merge run in typed arrays (see MergeValidity.flatRuns). */
interface FlatRuns {
  off: Int32Array;
  reach: Uint8Array;
  lefts: Int32Array;
  rights: Int32Array;
  ranks: Int32Array;
}

/** Per-tokenizer merge data: each token's own BPE run, and cached pair validity. */
export class MergeValidity {
  /** Vocabulary size. */
  private readonly V: number;
  /** encodePiece(bytes(t)) == [t] (ignore_merges included): 0 unknown, 1 yes, 2 no. */
  private readonly wholePieceArr: Int8Array;
  /** enc(bytes(t)) == [t] (pre-tokenizer included). */
  private readonly wholeTextArr: Int8Array;
  /** Pair validity by left token: 0 unknown, 1 valid, 2 invalid. */
  private pairs = new Map<number, Int8Array>();
  private readonly bytes: Uint8Array[];
  private readonly texts: Array<string | null | undefined>;
  /**
   * By guard distance (Infinity, 1, 2; see CharClasses.key) and token: id of its text's
   * character-class sequence (-1: none, -2: not yet computed).
   */
  private readonly classArr: Int32Array[];
  private readonly classIds = new Map<string, number>();
  /** A token of each class sequence (the one whose split stands for the class). */
  readonly classRep: number[] = [];
  /** By class sequence: a token of that class alone is one piece. */
  private readonly onePiece: boolean[] = [];
  /** Tokens grouped by class sequence, by guard distance (see ClassGroups). */
  private readonly groupsBySince: Array<ClassGroups | undefined> = [];
  /** By token: its bytes end in whitespace (the lookahead rule may apply). */
  private endsWsArr: Uint8Array | null = null;
  /** The string the pre-tokenizer splits for each token (plain or with invalid-byte markers). */
  private readonly classTexts: Array<string | null | undefined>;
  readonly ignoreMerges: boolean;

  private constructor(readonly tok: Tokenizer) {
    const V = tok.vocabSize;
    this.V = V;
    this.texts = new Array(V);
    this.wholePieceArr = new Int8Array(V);
    this.wholeTextArr = new Int8Array(V);
    this.classArr = [0, 1, 2].map(() => new Int32Array(V).fill(-2));
    this.rawClassArr = [0, 1, 2].map(() => new Int32Array(V).fill(-2));
    this.classTexts = new Array(V);
    this.bytes = tok.normalTokenBytes();
    this.ignoreMerges = tok.bpe.ignoreMerges;
  }

  static for(tok: Tokenizer): MergeValidity {
    let m = instances.get(tok);
    if (!m) instances.set(tok, (m = new MergeValidity(tok)));
    return m;
  }

  /**
   * The per-tokenizer tables the checks build on first use, as steps a caller can run apart (a
   * warm-up between keystrokes): every token's merge run (what any row check reads; 0.3 s at 151k
   * ids) and, with `pairRows`, what whole-vocabulary rows read (the exact next-byte distribution,
   * ensembles): the left edges and their inverted index, the merges by left token, and the tokens
   * grouped by character class away from a guard character.
   */
  preparation(pairRows: boolean): Array<() => void> {
    const steps = [() => void this.flatRuns()];
    if (pairRows) steps.push(() => void this.leftEdges(), () => void this.edgeIndex(), () => void this.tok.bpe.mergesByLeft(), () => void this.groups(Infinity));
    return steps;
  }

  /** Whether preparation(pairRows)'s tables are built. */
  prepared(pairRows: boolean): boolean {
    return this.flat !== null && (!pairRows || (this.edges !== null && this.inverted !== null && this.groupsBySince[0] !== undefined));
  }

  /** Whether BPE merges alone make t from its own bytes (only such tokens come out of a piece's merges). */
  reachable(t: number): boolean {
    return this.reachableTokens()[t] === 1;
  }

  /** Runs BPE on bytes(t) (as BpeModel does), recording every step; null when it does not end in t. */
  private run(t: number): MergeRun | null {
    const b = this.bytes[t];
    const m = b && b.length > 0 ? this.merge(b) : null;
    return m && m.ids.length === 1 && m.ids[0] === t ? m.run : null;
  }

  /** BPE merges alone (no ignore_merges shortcut) on a byte string, step by step. */
  private merge(b: Uint8Array): { ids: number[]; run: MergeRun } | null {
    const bpe = this.tok.bpe;
    let ids: number[] = [];
    for (let i = 0; i < b.length; i++) {
      const id = bpe.byteId(b[i]);
      if (id < 0) return null;
      ids.push(id);
    }
    const run: MergeRun = { ranks: [], lefts: [ids[0]], rights: [ids[ids.length - 1]] };
    ids = bpe.mergeIds(ids, (rank, now) => {
      run.ranks.push(rank);
      run.lefts.push(now[0]);
      run.rights.push(now[now.length - 1]);
    });
    return { ids, run };
  }

  /**
   * Whether BPE on bytes(a) ++ bytes(b) gives [a, b] (a and b reachable). Until a merge
   * crosses the boundary, the two sides run their own BPE, interleaved by the rank of each side's
   * next merge; the pair of edge tokens (x, y) crosses when its merge ranks below both next merges
   * (at a tie with the right side's merge the cross pair is leftmost and wins; at a tie with the
   * left side's it is the same pair, merged in the same step unless it is a run x x whose pairing
   * depends on parity: then the two tokens' bytes are merged outright).
   */
  pairValid(a: number, b: number): boolean {
    const row = this.pairRow(a);
    let c = row[b];
    if (c === 0 || c === PAIR_WALK) row[b] = c = this.pairDecide(a, b) ? 1 : 2;
    return c === 1;
  }

  /**
   * The cached pair validity of left token a against every right token: 0 unknown, 1 valid,
   * 2 invalid, PAIR_WALK undecided but known to need the walk (see pairRowSorted). A new row
   * starts as `init` (copied) when given, else all unknown.
   */
  pairRow(a: number, init?: Int8Array): Int8Array {
    let row = this.pairs.get(a);
    if (!row) {
      if (this.pairs.size >= MAX_PAIR_ROWS) {
        this.pairs = new Map();
        this.sortedRows.clear();
      }
      this.pairs.set(a, (row = init ? init.slice() : new Int8Array(this.V)));
    }
    return row;
  }

  /** Left tokens whose pair row has no 0 left (pairRowSorted). */
  private readonly sortedRows = new Set<number>();

  /**
   * The pair row of a reachable left token a with every right token sorted out at once: valid
   * (nothing can cross), invalid (unreachable), or PAIR_WALK: a token that mayCross lets through,
   * whose walk is still due (see crossesWhenMay). Those are found from a's danger set through the
   * left edges inverted (edgeIndex): b itself in the danger set, or a left edge y of b with
   * danger[y] at most the largest rank of b's merges while y is its left edge. So the cost per new
   * last token is its danger set and the tokens that may cross, not a test per token (same
   * decisions as pairDecide).
   */
  pairRowSorted(a: number): Int8Array {
    if (this.sortedRows.has(a)) return this.pairRow(a);
    // A row no pair test has started is a copy of "valid when reachable" with the tokens that may
    // cross marked (no pass over the vocabulary); in a started one, only its unknown entries change.
    const started = this.pairs.has(a);
    const row = this.pairRow(a, this.reachableRow());
    const open = started ? 0 : 1;
    const danger = this.dangerOf(a);
    const reach = this.reachableTokens();
    const { start, keys, sorted, scale } = this.edgeIndex();
    for (const y of this.dangerList) {
      if (row[y] === open && reach[y] === 1) row[y] = PAIR_WALK;
      const s = start[y];
      const e = start[y + 1];
      if (s === e) continue;
      if (sorted[y] === 0) {
        keys.subarray(s, e).sort();
        sorted[y] = 1;
      }
      // Keys are maxRank * scale + b, ascending: the entries with maxRank >= danger[y] end the group.
      const least = danger[y] * scale;
      for (let k = e - 1; k >= s && keys[k] >= least; k--) {
        const b = keys[k] % scale;
        if (row[b] === open) row[b] = PAIR_WALK;
      }
    }
    if (started) for (let b = 0; b < row.length; b++) if (row[b] === 0) row[b] = reach[b] === 1 ? 1 : 2;
    this.sortedRows.add(a);
    return row;
  }

  /** By token: 1 when reachable, else 2 (a pair row before any token that may cross is marked). */
  private reachableRow(): Int8Array {
    if (!this.reachRow) {
      const reach = this.reachableTokens();
      this.reachRow = new Int8Array(this.V);
      for (let b = 0; b < this.V; b++) this.reachRow[b] = reach[b] === 1 ? 1 : 2;
    }
    return this.reachRow;
  }

  private reachRow: Int8Array | null = null;

  /**
   * Whether every right token that mayCross lets through after a crosses, so that its walk can
   * only say invalid: a made without merges (one byte) has one right edge, itself, with no next
   * merge, and a left edge y of b that passes the test is met by the walk at a step whose merge
   * ranks at least rank(a, y) = danger[y] while y is b's left edge (or at b's end, y = b).
   */
  crossesWhenMay(a: number): boolean {
    const f = this.flatRuns();
    return f.reach[a] === 1 && f.off[a + 1] - f.off[a] === 1;
  }

  /** By token: 1 when BPE merges alone make it from its bytes (reachable), else 0. */
  private reachableTokens(): Uint8Array {
    return this.flatRuns().reach;
  }

  /**
   * The left edges inverted: by token y, the tokens b that have y as a left edge before their
   * last (with at least one merge made while it is: maxRank >= 0), as keys maxRank * scale + b in
   * keys[start[y] .. start[y + 1]); each group is sorted when first used (sorted[y] = 1).
   */
  private edgeIndex(): { start: Int32Array; keys: Float64Array; sorted: Uint8Array; scale: number } {
    if (!this.inverted) {
      const e = this.leftEdges();
      const V = this.V;
      let scale = 1;
      while (scale <= V) scale *= 2;
      const start = new Int32Array(V + 1);
      let maxRank = 0;
      for (let b = 0; b < V; b++) {
        for (let k = e.start[b]; k < e.start[b + 1] - 1; k++) {
          if (e.maxRank[k] < 0) continue;
          start[e.ids[k] + 1]++;
          if (e.maxRank[k] > maxRank) maxRank = e.maxRank[k];
        }
      }
      if ((maxRank + 1) * scale > Number.MAX_SAFE_INTEGER) throw new Error('internal: merge ranks too large for the edge index');
      for (let y = 0; y < V; y++) start[y + 1] += start[y];
      const keys = new Float64Array(start[V]);
      const fill = start.slice(0, V);
      for (let b = 0; b < V; b++) {
        for (let k = e.start[b]; k < e.start[b + 1] - 1; k++) if (e.maxRank[k] >= 0) keys[fill[e.ids[k]]++] = e.maxRank[k] * scale + b;
      }
      this.inverted = { start, keys, sorted: new Uint8Array(V), scale };
    }
    return this.inverted;
  }

  private inverted: { start: Int32Array; keys: Float64Array; sorted: Uint8Array; scale: number } | null = null;

  /**
   * pairValid uncached. The walk below can only find a crossing merge (x, y) with x one of a's
   * right-edge tokens, y one of b's left-edge tokens, and rank(x, y) at most both sides' next
   * merges: at most a's next merge after x (so (x, y) is in a's danger set: y with its least
   * such rank, dangerOf), and, while b's run is not finished (y is not b itself), at most the
   * largest of b's merges made while y is its left edge. When no left edge of b passes that
   * test, nothing crosses: no walk.
   */
  pairDecide(a: number, b: number): boolean {
    if (!this.reachable(b) || !this.reachable(a)) return false;
    return !this.mayCross(this.dangerOf(a), b) || this.walk(a, b);
  }

  /** The test of pairDecide (b reachable; danger: dangerOf the left token). */
  mayCross(danger: Int32Array, b: number): boolean {
    const e = this.leftEdges();
    const last = e.start[b + 1] - 1;
    if (danger[e.ids[last]] !== NO_RANK) return true;
    for (let k = e.start[b]; k < last; k++) if (danger[e.ids[k]] <= e.maxRank[k]) return true;
    return false;
  }

  /**
   * Every reachable token's run, flat: its distinct left-edge tokens ids[start[t] .. start[t + 1])
   * in order (the last one is t itself), each with the largest rank of the merges made while it
   * is the left edge (maxRank; -1 for none).
   */
  leftEdges(): { start: Int32Array; ids: Int32Array; maxRank: Int32Array } {
    if (!this.edges) {
      const V = this.V;
      const f = this.flatRuns();
      const start = new Int32Array(V + 1);
      // Counted first, then filled: typed arrays of the final size (no garbage left for a full collection).
      for (let t = 0; t < V; t++) {
        let k = 0;
        if (f.reach[t] === 1) for (let o = f.off[t]; o < f.off[t + 1]; o++) if (o === f.off[t] || f.lefts[o] !== f.lefts[o - 1]) k++;
        start[t + 1] = start[t] + k;
      }
      const ids = new Int32Array(start[V]);
      const maxRank = new Int32Array(start[V]);
      let k = -1;
      for (let t = 0; t < V; t++) {
        if (f.reach[t] !== 1) continue;
        const o = f.off[t];
        const steps = f.off[t + 1] - o - 1;
        for (let j = 0; j <= steps; j++) {
          if (j === 0 || f.lefts[o + j] !== f.lefts[o + j - 1]) {
            ids[++k] = f.lefts[o + j];
            maxRank[k] = -1;
          }
          if (j < steps) maxRank[k] = Math.max(maxRank[k], f.ranks[o + j]);
        }
      }
      this.edges = { start, ids, maxRank };
    }
    return this.edges;
  }

  private edges: { start: Int32Array; ids: Int32Array; maxRank: Int32Array } | null = null;

  /**
   * The danger set of a (see pairDecide): by token y, the least rank of a merge (x, y) with x on
   * a's right edge at most a's next merge after x, NO_RANK when there is none; kept for the last a.
   */
  dangerOf(a: number): Int32Array {
    if (this.dangerA !== a) {
      const d = this.danger ?? (this.danger = new Int32Array(this.V).fill(NO_RANK));
      for (const y of this.dangerList) d[y] = NO_RANK;
      this.dangerList = [];
      const f = this.flatRuns();
      const a0 = f.off[a];
      const aSteps = f.off[a + 1] - a0 - 1;
      const m = this.tok.bpe.mergesByLeft();
      for (let i = 0; i <= aSteps; i++) {
        const x = f.rights[a0 + i];
        const hl = i < aSteps ? f.ranks[a0 + i] : Infinity;
        if (x + 1 >= m.start.length) continue;
        for (let k = m.start[x]; k < m.start[x + 1]; k++) {
          const y = m.ys[k];
          const r = m.ranks[k];
          if (r > hl || y >= d.length) continue;
          if (d[y] === NO_RANK) this.dangerList.push(y);
          if (r < d[y]) d[y] = r;
        }
      }
      this.dangerA = a;
    }
    return this.danger!;
  }

  private danger: Int32Array | null = null;

  /** Split outcomes by class, shared by tails with the same key (RowValidity.splitKey). */
  splitTable(key: string): SplitTable {
    let t = this.splitTables.get(key);
    if (!t) {
      if (this.splitTables.size >= MAX_SPLIT_TABLES) this.splitTables.clear();
      this.splitTables.set(key, (t = newSplitTable()));
    }
    return t;
  }

  private readonly splitTables = new Map<string, SplitTable>();
  private dangerA = -1;
  private dangerList: number[] = [];

  /** The merge-rank walk of pairValid (a and b reachable). */
  walk(a: number, b: number): boolean {
    const reach = this.reachableTokens();
    if (reach[a] !== 1 || reach[b] !== 1) return false;
    const f = this.flatRuns();
    const a0 = f.off[a];
    const b0 = f.off[b];
    const c = crossing(f, this.tok.bpe, this.dangerOf(a), a0, f.off[a + 1] - a0 - 1, b0, f.off[b + 1] - b0 - 1);
    return c === Cross.None || (c === Cross.Tie && this.tieValid(a, b));
  }

  /** A cross pair tied with the left side's merge on a run x x: BPE on the two tokens' bytes decides. */
  private tieValid(a: number, b: number): boolean {
    const m = this.merge(concatBytes(this.bytes[a], this.bytes[b]))!;
    return m.ids.length === 2 && m.ids[0] === a && m.ids[1] === b;
  }

  /**
   * Every reachable token's run in flat arrays: for token t, step i (0 <= i <= steps) at
   * off[t] + i has the edge tokens after i merges, and for i < steps the rank of merge i + 1;
   * steps = off[t + 1] - off[t] - 1 (an unreachable token has one empty entry); reach[t] = 1 when
   * the run ends in t. Built for every token at once, the runs as objects not kept (a million small
   * arrays that every full collection would mark again).
   */
  private flatRuns(): FlatRuns {
    if (!this.flat) {
      const V = this.V;
      const off = new Int32Array(V + 1);
      const reach = new Uint8Array(V);
      // A run has at most one step per byte (each merge joins two tokens), so typed arrays of that
      // size are filled in place: growing JS arrays left 90 MB of copies behind in the large-object
      // space, garbage that only a full collection frees, during the walks that follow.
      let cap = 0;
      for (let t = 0; t < V; t++) cap += Math.max(1, this.bytes[t]?.length ?? 0);
      const lefts = new Int32Array(cap);
      const rights = new Int32Array(cap);
      const ranks = new Int32Array(cap);
      let n = 0;
      for (let t = 0; t < V; t++) {
        const r = this.run(t);
        if (r) {
          reach[t] = 1;
          for (let i = 0; i < r.lefts.length; i++, n++) {
            lefts[n] = r.lefts[i];
            rights[n] = r.rights[i];
            ranks[n] = i < r.ranks.length ? r.ranks[i] : NO_RANK;
          }
        } else ranks[n++] = NO_RANK;
        off[t + 1] = n;
      }
      this.flat = { off, reach, lefts: lefts.subarray(0, n), rights: rights.subarray(0, n), ranks: ranks.subarray(0, n) };
    }
    return this.flat;
  }

  private flat: FlatRuns | null = null;

  /** encodePiece(bytes(t)) == [t]: t is the whole encoding of a piece made of its bytes. */
  wholePiece(t: number): boolean {
    let c = this.wholePieceArr[t];
    if (c === 0) {
      // encodePiece is the merge run (reachable), or with ignore_merges the vocabulary entry itself.
      const b = this.bytes[t];
      const whole = b.length > 0 && this.ignoreMerges ? this.tok.bpe.vocab.get(bytesToByteLevel(b)) : undefined;
      const v = b.length > 0 && (whole !== undefined ? whole === t : this.reachable(t));
      this.wholePieceArr[t] = c = v ? 1 : 2;
    }
    return c === 1;
  }

  /** enc(bytes(t)) == [t]: t alone is a canonical tokenization (pre-tokenizer included). */
  wholeText(t: number): boolean {
    let c = this.wholeTextArr[t];
    if (c === 0) {
      const cls = this.textClass(t);
      let v: boolean;
      if (cls >= 0) {
        // One piece (decided once per class sequence) that BPE makes into t.
        let one = this.onePiece[cls];
        if (one === undefined) this.onePiece[cls] = one = this.tok.splitOffsets(this.classText(this.classRep[cls])!).length === 1;
        v = one && this.wholePiece(t);
      } else {
        const ids = this.bytes[t].length > 0 ? this.tok.encodeBytes(this.bytes[t]) : [];
        v = ids.length === 1 && ids[0] === t;
      }
      this.wholeTextArr[t] = c = v ? 1 : 2;
    }
    return c === 1;
  }

  tokenBytes(t: number): Uint8Array {
    return this.bytes[t];
  }

  /** Whether the token's bytes end in whitespace, for every token (computed once). */
  endsWs(): Uint8Array {
    if (!this.endsWsArr) {
      const a = new Uint8Array(this.bytes.length);
      for (let t = 0; t < a.length; t++) a[t] = endsInWhitespace(this.bytes[t]) ? 1 : 0;
      this.endsWsArr = a;
    }
    return this.endsWsArr;
  }

  /** Whether the token's first byte is a UTF-8 continuation byte, for every token (computed once). */
  startsMidChar(): Uint8Array {
    if (!this.midStartArr) {
      const a = new Uint8Array(this.bytes.length);
      for (let t = 0; t < a.length; t++) a[t] = this.bytes[t].length > 0 && (this.bytes[t][0] & 0xc0) === 0x80 ? 1 : 0;
      this.midStartArr = a;
    }
    return this.midStartArr;
  }

  private midStartArr: Uint8Array | null = null;

  /** By class of g (a groups() result): 1 when some member's bytes end in whitespace, computed once. */
  classEndsWs(g: ClassGroups): Uint8Array {
    let w = this.wsByGroups.get(g);
    if (!w) {
      const ws = this.endsWs();
      w = new Uint8Array(g.start.length - 1);
      for (let c = 0; c < w.length; c++) for (let i = g.start[c]; i < g.start[c + 1] && w[c] === 0; i++) w[c] = ws[g.ids[i]];
      this.wsByGroups.set(g, w);
    }
    return w;
  }

  private readonly wsByGroups = new Map<ClassGroups, Uint8Array>();

  /**
   * Every token with bytes, grouped by its class sequence at guard distance `since` (textClass),
   * the members of a group that BPE makes whole from their own bytes (wholePiece) first; tokens
   * without a class sequence apart. Computed once per tokenizer and guard distance.
   */
  groups(since: number): ClassGroups {
    const g = since <= 2 ? since : 0;
    let out = this.groupsBySince[g];
    if (!out) {
      const V = this.bytes.length;
      const cls = new Int32Array(V);
      let nCls = 0;
      for (let t = 0; t < V; t++) {
        cls[t] = this.bytes[t].length > 0 ? this.textClass(t, since) : -2;
        nCls = Math.max(nCls, cls[t] + 1);
      }
      // Counting sort by class; within a class, whole pieces first.
      const start = new Int32Array(nCls + 1);
      const wholeEnd = new Int32Array(nCls);
      const unclassed: number[] = [];
      for (let t = 0; t < V; t++) {
        if (cls[t] >= 0) start[cls[t] + 1]++;
        else if (cls[t] === -1) unclassed.push(t);
      }
      for (let c = 0; c < nCls; c++) start[c + 1] += start[c];
      const ids = new Int32Array(start[nCls]);
      const fill = start.slice(0, nCls);
      for (let t = 0; t < V; t++) if (cls[t] >= 0 && this.wholePiece(t)) ids[fill[cls[t]]++] = t;
      wholeEnd.set(fill);
      for (let t = 0; t < V; t++) if (cls[t] >= 0 && !this.wholePiece(t)) ids[fill[cls[t]]++] = t;
      this.groupsBySince[g] = out = { ids, start, wholeEnd, unclassed: Int32Array.from(unclassed) };
    }
    return out;
  }

  /**
   * The string the pre-tokenizer splits for the token's bytes when they follow a complete UTF-8
   * tail: its text, or with bytes that are not valid UTF-8 on their own, marker characters for
   * them (Tokenizer.markedText). Null when the tokenizer adds a prefix space.
   */
  classText(t: number): string | null {
    let s = this.classTexts[t];
    if (s === undefined) {
      s = this.text(t);
      if (s === null && !this.tok.addsPrefixSpace && this.bytes[t].length > 0) s = this.tok.markedText(this.bytes[t]);
      this.classTexts[t] = s;
    }
    return s;
  }

  /**
   * Id of the character-class sequence of the token's classText (see tokenizer/char-class.ts), or
   * -1 when the split of tail ++ token cannot be answered by class: no text, no classes, or (with
   * a normalizer) text that is not normalized or starts with a character that can combine with or
   * reorder against what precedes it (a combining mark or a Hangul jamo): any other first
   * character keeps a normalized tail followed by the token normalized.
   */
  textClass(t: number, since = Infinity): number {
    return this.cachedClass(this.classArr, t, since, false);
  }

  /** textClass (raw: rawTextClass's rule) through its per-token cache. */
  private cachedClass(arrs: Int32Array[], t: number, since: number, raw: boolean): number {
    const arr = arrs[since <= 2 ? since : 0];
    let c = arr[t];
    if (c === -2) {
      c = -1;
      const s = raw ? this.text(t) : this.classText(t);
      const cc = this.tok.charClasses;
      if (!raw && since <= 2) c = this.nearGuardClass(t, since);
      else if (s !== null && s.length > 0 && cc && (raw || this.tok.keepsNormalizedAfter(s))) {
        c = this.classId(cc.key(s, since), t);
      }
      arr[t] = c;
    }
    return c;
  }

  /**
   * textClass after a guard 1 or 2 characters back: key(s, since) differs from key(s, Infinity)
   * only in the first 3 - since characters (fine classes there), so it is a function of the
   * class without a guard and those characters' fine classes; the key string is built once per
   * such combination instead of once per token.
   */
  private nearGuardClass(t: number, since: number): number {
    const base = this.textClass(t, Infinity);
    if (base < 0) return base;
    const s = this.classText(t)!;
    const cc = this.tok.charClasses!;
    const c0 = s.codePointAt(0)!;
    const f0 = cc.classOf(c0, true);
    const c1 = since === 1 ? s.codePointAt(c0 > 0xffff ? 2 : 1) : undefined;
    const f1 = c1 === undefined ? 0 : cc.classOf(c1, true) + 1;
    if (f0 >= 1024 || f1 >= 1024) return this.classId(cc.key(s, since), t);
    const key = (base * 1024 + f0) * 1024 + f1;
    const m = this.nearGuardIds[since];
    let id = m.get(key);
    if (id === undefined) m.set(key, (id = this.classId(cc.key(s, since), t)));
    return id;
  }

  /** By guard distance (1, 2): class id by (class without a guard, fine classes of the first characters). */
  private readonly nearGuardIds = [new Map<number, number>(), new Map<number, number>(), new Map<number, number>()];

  /**
   * The class sequence id of the token's text (the ids textClass uses) for a token that textClass
   * leaves without one because normalization might join it to what precedes (a first character
   * that combines backward, or a normalizer at all): for a caller that has checked that the
   * concatenation is normalized. -1 without text or classes.
   */
  rawTextClass(t: number, since = Infinity): number {
    const c = this.textClass(t, since);
    return c >= 0 ? c : this.cachedClass(this.rawClassArr, t, since, true);
  }

  /** By guard distance and token: rawTextClass (-2: not yet computed). */
  private readonly rawClassArr: Int32Array[];

  /** isNormalized(the ASCII character c ++ text(t)) (t with text), cached. */
  normalizedAfter(c: number, t: number): boolean {
    let m = this.normAfter[c];
    if (!m) m = this.normAfter[c] = new Int8Array(this.V);
    let v = m[t];
    if (v === 0) m[t] = v = this.tok.isNormalized(String.fromCharCode(c) + this.text(t)!) ? 1 : 2;
    return v === 1;
  }

  /** By ASCII character: 0 unknown, 1 normalized after it, 2 not (by token). */
  private readonly normAfter: Array<Int8Array | undefined> = [];

  /** The id of a class key, new (with t as its representative) if unseen. */
  private classId(key: string, t: number): number {
    let id = this.classIds.get(key);
    if (id === undefined) {
      id = this.classRep.length;
      this.classIds.set(key, id);
      this.classRep.push(t);
    }
    return id;
  }

  /**
   * The token's bytes as a string when they are valid UTF-8 on their own, else null: concatenated
   * with the tail's string it gives the pre-tokenizer's input without decoding bytes per candidate
   * (when the normalizer leaves it unchanged).
   */
  text(t: number): string | null {
    let s = this.texts[t];
    if (s === undefined) {
      s = plainText(this.tok, this.bytes[t]);
      this.texts[t] = s;
    }
    return s;
  }
}

const instances = new WeakMap<Tokenizer, MergeValidity>();

/**
 * Split outcomes (see Split) of tail ++ τ by τ's class sequence id (0: not yet computed), and for
 * the lookahead rule of tail ++ τ ++ X by class sequence id, per probe continuation X (and, last,
 * which outcomes occur among them); shared by
 * the tails with one RowValidity.splitKey (what both depend on).
 */
interface SplitTable {
  byClass: Int8Array;
  probes: Map<number, Int8Array>;
}

function newSplitTable(): SplitTable {
  return { byClass: new Int8Array(0), probes: new Map() };
}

/**
 * Tokens by class sequence: class c's members are ids[start[c] .. start[c + 1]), those before
 * wholeEnd[c] whole pieces (encodePiece(bytes(t)) == [t]); `unclassed` have no class sequence.
 */
export interface ClassGroups {
  ids: Int32Array;
  start: Int32Array;
  wholeEnd: Int32Array;
  unclassed: Int32Array;
}

export interface ValidityStats {
  /** Decided from merge ranks and piece boundaries. */
  fast: number;
  /** Decided by re-encoding (pre-tokenizer moves, lookahead probes, non-canonical rows). */
  exact: number;
  /** Lookahead probe continuations re-encoded (their split left the answer open). */
  probes: number;
}

/**
 * Validity of ids ++ [τ] after the bytes `tail` for every token τ, cached per token: exact
 * (encode(tail ++ bytes(τ)) == ids ++ [τ]), or with `lookahead`, also valid when some probe
 * continuation makes it a prefix of the canonical tokenization (see extendable).
 */
export class RowValidity {
  /** By token: 0 unknown, 1 valid, 2 invalid. */
  private readonly arr: Int8Array;
  private readonly mv: MergeValidity;
  /** ids == enc(tail) and the tokenizer maps pieces onto input offsets: the fast test applies. */
  private readonly canonical: boolean;
  /**
   * Not canonical (a lookahead row), but the fast test applies by pieces (see nonCanonicalOutcome):
   * ids cover the tail exactly, its text (or marked text) is split as it is, only merges make tokens.
   */
  private readonly byPieces: boolean;
  /** byPieces: token index of each token boundary of ids, by byte offset in the tail (-1: none). */
  private tokenAt: Int32Array | null = null;
  /** byPieces: whether a piece tail[a:b] encodes to the row's tokens over it, by a * (|tail| + 1) + b. */
  private readonly pieceOk = new Map<number, boolean>();
  private readonly tailStarts: number[];
  /** Token boundaries of ids, as a byte-offset bitmap over tail. */
  private readonly bound: Uint8Array;
  private readonly lastPiece: Uint8Array;
  /** The tail as a string (see MergeValidity.text), or null. */
  private readonly tailText: string | null;
  /** The last piece is one token that exists only through ignore_merges. */
  private readonly lastByShortcut: boolean;
  /** The tail's text is normalized: the split of tail ++ τ can be cached by τ's class sequence. */
  private readonly byClassOk: boolean;
  /** Characters from the tail's last guard character (see CharClasses.key). */
  private readonly since: number;
  /** The split's outcome (see Split) by the token's class sequence id (0: not yet computed), shared by tails with one splitKey. */
  private splits: SplitTable = newSplitTable();
  readonly stats: ValidityStats = { fast: 0, exact: 0, probes: 0 };
  /** A tail that is not valid UTF-8 (canonical or byPieces): splits by group of candidates (byte/mid-char.ts). */
  private readonly midChar: MidCharTail | null;
  /** midChar's split outcomes: by τ's class sequence id (0: not yet computed), by completion group. */
  private midByClass: Int8Array = new Int8Array(0);
  private readonly midByGroup = new Map<number, Split>();
  /** Invalid positions of a token order over [lo, hi) (see invalidPositions). */
  private invalid: { order: Int32Array; lo: number; hi: number; pos: Int32Array } | null = null;
  /** Checks every fast decision against re-encoding and throws on a difference (tests). */
  static audit = false;

  constructor(
    readonly tok: Tokenizer,
    readonly tail: Uint8Array,
    readonly ids: number[],
    readonly lookahead: boolean,
  ) {
    this.mv = MergeValidity.for(tok);
    this.arr = new Int8Array(tok.vocabSize);
    const enc = tok.encodeBytes(tail);
    const starts = tail.length > 0 ? tok.pieceStartsIfUnchanged(tail) : [0];
    this.canonical = !!starts && enc.length === ids.length && enc.every((id, i) => id === ids[i]);
    this.tailStarts = starts ?? [0];
    this.bound = new Uint8Array(tail.length + 1);
    let off = 0;
    this.bound[0] = 1;
    for (const id of ids) {
      off += tok.tokenBytes(id).length;
      if (off <= tail.length) this.bound[off] = 1;
    }
    // A tail starting with U+FEFF: the tokenizer's own decoding drops it, so take the bytes path.
    this.tailText = tail[0] === 0xef && tail[1] === 0xbb && tail[2] === 0xbf ? null : plainText(tok, tail);
    const ls = this.tailStarts[this.tailStarts.length - 1];
    this.lastPiece = tail.subarray(ls);
    let k = 0;
    off = tail.length;
    while (k < ids.length && off > ls) off -= tok.tokenBytes(ids[ids.length - 1 - k++]).length;
    this.lastByShortcut = this.mv.ignoreMerges && k === 1 && ids.length > 0 && !this.mv.reachable(ids[ids.length - 1]);
    this.byClassOk = this.tailText !== null && tok.charClasses !== null && tok.isNormalized(this.tailText);
    this.since = this.byClassOk ? tok.charClasses!.guardDistance(this.tailText!) : Infinity;
    // A tail that is not valid UTF-8 splits as marked text (byte/mid-char.ts).
    const marked = this.tailText === null ? MidCharTail.of(tok, tail) : null;
    this.byPieces = !this.canonical && (this.byClassOk || marked !== null) && !this.mv.ignoreMerges && tail.length > 0 && ids.reduce((a, id) => a + tok.tokenBytes(id).length, 0) === tail.length;
    // A shared table holds canonical outcomes only (a non-canonical row's depend on its tokens).
    if (this.byClassOk && this.canonical) this.splits = this.mv.splitTable(this.splitKey());
    this.midChar = this.canonical || this.byPieces ? marked : null;
  }

  /**
   * invalidPositions over a whole token order decides it a class at a time (cheaply per token): a
   * tail with a normalized text (its canonical row, or a lookahead row decided by pieces), or one
   * that is not valid UTF-8 (byte/mid-char.ts).
   */
  get decidesOrderByClass(): boolean {
    return ((this.byClassOk && (this.canonical || this.byPieces)) || this.midChar !== null) && this.tail.length > 0 && !RowValidity.audit;
  }

  /**
   * The positions k in [lo, hi) of `order` (a token order, e.g. VocabIndex.sorted) whose token is
   * invalid, ascending. The list is kept for the widest range asked, so a narrower range later
   * (a row whose suffix grew) is a slice of it found by binary search; the caller bounds it.
   */
  invalidPositions(order: Int32Array, lo: number, hi: number, stats?: ValidityStats): { pos: Int32Array; from: number; to: number } {
    let inv = this.invalid;
    if (!inv || inv.order !== order || lo < inv.lo || hi > inv.hi) {
      const byClass = lo === 0 && hi === order.length && this.decidesOrderByClass;
      const pos = byClass ? this.invalidByClass(order, stats) : this.invalidByToken(order, lo, hi, stats);
      this.invalid = inv = { order, lo, hi, pos };
    }
    return { pos: inv.pos, from: lowerBound(inv.pos, lo), to: lowerBound(inv.pos, hi) };
  }

  private invalidByToken(order: Int32Array, lo: number, hi: number, stats?: ValidityStats): Int32Array {
    const pos: number[] = [];
    for (let k = lo; k < hi; k++) if (!this.valid(order[k], stats)) pos.push(k);
    return Int32Array.from(pos);
  }

  /**
   * The invalid positions of the whole vocabulary, a class sequence at a time (the same
   * decisions as fast()): a class whose tokens start a piece of their own is valid for its whole
   * pieces and invalid for the rest, a class that the split makes invalid is invalid throughout,
   * and in a class that joins the tail's last piece the whole pieces are decided by their pair
   * with the last token (cached per last token), the rest invalid. Only tokens ending in
   * whitespace under lookahead (the probe rule), classes the split leaves undecided and tokens
   * without a class sequence go through valid() one by one; valid whole pieces of a starting
   * class cost nothing. A tail that is not valid UTF-8: the classes are those of τ's own text
   * after marked(tail) (midCharSplit's), and the tokens that may complete a character (they start
   * with a continuation byte) go through valid().
   */
  private invalidByClass(order: Int32Array, stats?: ValidityStats): Int32Array {
    const mid = this.midChar !== null ? this.mv.startsMidChar() : null;
    const g = this.mv.groups(mid !== null ? this.midChar!.sinceMarked : this.since);
    const at = positionsOf(order, this.arr.length);
    // Members' positions in group order: the loops below read them in sequence, not through `at`.
    const gp = groupPositions(g, at);
    // A zeroed scratch array, taken out of the pool while in use (a fresh one per row is page faults).
    const bad = badScratch !== null && badScratch.length === order.length ? badScratch : new Uint8Array(order.length);
    badScratch = null;
    const ws = this.lookahead ? this.mv.endsWs() : null;
    // By class: some member ends in whitespace (only those members can need the probe rule).
    const wsClass = ws !== null ? this.mv.classEndsWs(g) : null;
    // Joining tokens are decided by the pair (last token, τ) when only merges make tokens.
    const a = this.ids[this.ids.length - 1];
    const pairs = !this.mv.ignoreMerges && this.mv.reachable(a) ? this.mv.pairRowSorted(a) : null;
    const noWalks = pairs !== null && this.mv.crossesWhenMay(a);
    let decided = 0;
    for (let c = 0; c + 1 < g.start.length; c++) {
      const s0 = g.start[c];
      const e = g.start[c + 1];
      // Class ids are shared by all guard distances: most have no member at this one.
      if (s0 === e) continue;
      const split = mid !== null ? this.midClassSplit(c) : this.splitOfClass(c);
      if (split === Split.Undecided || (split === Split.Joins && !pairs)) {
        for (let i = s0; i < e; i++) if (!this.valid(g.ids[i], stats)) bad[gp[i]] = 1;
        continue;
      }
      if (mid !== null) {
        // Those that may complete the character split otherwise: one by one, then left out below.
        for (let i = s0; i < e; i++) {
          if (mid[g.ids[i]] !== 1) continue;
          if (!this.valid(g.ids[i], stats)) bad[gp[i]] = 1;
          if (split === Split.Starts && i < g.wholeEnd[c]) decided--;
        }
      }
      const probe = wsClass !== null && wsClass[c] === 1;
      let we = g.wholeEnd[c];
      if (split === Split.Starts) decided += we - s0;
      else if (split === Split.Invalid) we = s0;
      else {
        for (let i = s0; i < we; i++) {
          const t = g.ids[i];
          if (mid !== null && mid[t] === 1) continue;
          let p = pairs![t];
          // The walk of pairDecide (τ is reachable: a whole piece), unless its outcome is known.
          if (p === PAIR_WALK) pairs![t] = p = !noWalks && this.mv.walk(a, t) ? 1 : 2;
          if (p === 1) decided++;
          else if (probe && ws![t] === 1) {
            if (!this.valid(t, stats)) bad[gp[i]] = 1;
          } else {
            bad[gp[i]] = 1;
            decided++;
          }
        }
      }
      // The rest of the class is invalid as it stands (the probe rule may save a whitespace end;
      // those that may complete a character were decided above).
      if (mid === null && !probe) {
        for (let i = we; i < e; i++) bad[gp[i]] = 1;
        decided += e - we;
      } else {
        for (let i = we; i < e; i++) {
          const t = g.ids[i];
          if (mid !== null && mid[t] === 1) continue;
          if (probe && ws![t] === 1) {
            if (!this.valid(t, stats)) bad[gp[i]] = 1;
          } else {
            bad[gp[i]] = 1;
            decided++;
          }
        }
      }
    }
    for (const t of g.unclassed) if (at[t] >= 0 && !this.valid(t, stats)) bad[at[t]] = 1;
    this.stats.fast += decided;
    if (stats) stats.fast += decided;
    // One pass over the marks, into a pooled array of positions (the result is a copy of its start).
    const all = posScratch !== null && posScratch.length === order.length ? posScratch : new Int32Array(order.length);
    let n = 0;
    for (let k = 0; k < bad.length; k++)
      if (bad[k] === 1) {
        all[n++] = k;
        bad[k] = 0;
      }
    badScratch = bad;
    posScratch = all;
    return all.slice(0, n);
  }

  /**
   * What the split outcomes by class depend on: the tail's class sequence (so the pieces of
   * tail ++ τ, in characters), its token boundaries and its own pieces, in characters. Tails
   * with the same key share one table of outcomes (startsOutcome reads nothing else).
   */
  private splitKey(): string {
    const text = this.tailText!;
    const bounds: number[] = [];
    const starts = new Set(this.tailStarts);
    const pieces: number[] = [];
    let off = 0;
    let ch = 0;
    for (const c of text) {
      if (this.bound[off]) bounds.push(ch);
      if (starts.has(off)) pieces.push(ch);
      const cp = c.codePointAt(0)!;
      off += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      ch++;
    }
    return `${this.tok.charClasses!.key(text)}|${this.since}|${bounds}|${pieces}|${off === this.tail.length}`;
  }

  /** The split of tail ++ (a token of class sequence cls), cached per class. */
  private splitOfClass(cls: number): Split {
    const sp = this.splits;
    sp.byClass = withRoom(sp.byClass, cls);
    let split = sp.byClass[cls];
    if (split === 0) sp.byClass[cls] = split = this.startsOutcome(this.tok.splitOffsets(this.tailText + this.mv.classText(this.mv.classRep[cls])!), -1);
    // The tail's own pieces moved (e.g. "\n   " + "\t\n" is one whitespace piece): this row's
    // tokens still decide it by pieces, as for a lookahead row.
    if (split === Split.Undecided && this.canonical && !this.mv.ignoreMerges) split = this.movedOutcome(cls);
    return split;
  }

  /**
   * nonCanonicalOutcome of tail ++ (a token of class sequence cls) for a canonical row whose
   * shared outcome is Undecided: every piece within the tail must encode to the row's tokens over
   * it. Kept per row, not in the shared table: it reads the tail's bytes and tokens, not only the
   * class key.
   */
  private movedOutcome(cls: number): Split {
    this.moved = withRoom(this.moved, cls);
    let split = this.moved[cls];
    if (split === 0) this.moved[cls] = split = this.nonCanonicalOutcome(this.tok.splitOffsets(this.tailText + this.mv.classText(this.mv.classRep[cls])!), -1);
    return split;
  }

  /** movedOutcome's outcomes by class (0: not yet computed). */
  private moved: Int8Array = new Int8Array(0);

  /** Validity of ids ++ [token]; `stats` counts the uncached decisions by how they were made. */
  valid(token: number, stats?: ValidityStats): boolean {
    const c = this.arr[token];
    if (c !== 0) return c === 1;
    let v = this.fast(token);
    const tb = this.mv.tokenBytes(token);
    // A token ending in whitespace may be valid only once more text follows: probe it.
    let probed = false;
    if (v === false && this.lookahead && this.mv.endsWs()[token] === 1) {
      v = this.probeByClass(token, tb);
      probed = true;
    }
    if (v === undefined) {
      this.stats.exact++;
      if (stats) stats.exact++;
      v = extendable(this.tok, this.tail, this.ids, token, this.tok.tokenBytes(token), this.lookahead);
    } else {
      this.stats.fast++;
      if (stats) stats.fast++;
      if (RowValidity.audit) {
        const exact = extendable(this.tok, this.tail, this.ids, token, this.tok.tokenBytes(token), probed);
        if (exact !== v) throw new Error(`validity audit: fast ${v}, exact ${exact} for tail ${JSON.stringify(utf8DecodeLenient(this.tail))} ids [${this.ids}] token ${token}`);
      }
    }
    this.arr[token] = v ? 1 : 2;
    return v;
  }

  /**
   * The fast test: true/false when the merge ranks and the piece boundaries decide it, undefined
   * when re-encoding must (exported for the tests that compare it with re-encoding).
   */
  fast(token: number): boolean | undefined {
    if (!this.canonical && !this.byPieces) return undefined;
    const tb = this.mv.tokenBytes(token);
    if (tb.length === 0) return undefined;
    const n = this.tail.length;
    if (n === 0) return this.mv.wholeText(token);
    let split: number;
    const cls = this.byClassOk ? this.mv.textClass(token, this.since) : -1;
    if (cls >= 0) {
      // The pieces of tail ++ τ depend only on τ's class sequence: split once per class.
      split = this.splitOfClass(cls);
    } else {
      const tt = this.tailText !== null ? this.mv.text(token) : null;
      // The encoding of a text the normalizer changes decodes to other bytes than tail ++ τ.
      if (tt !== null && !this.joinedNormalized(tt, token)) return false;
      // Normalized as it stands, tail ++ τ splits by class sequence like any other token's text.
      const raw = tt !== null && this.byClassOk ? this.mv.rawTextClass(token, this.since) : -1;
      if (raw >= 0) split = this.splitOfClass(raw);
      else if (this.midChar !== null) split = this.midCharSplit(token, tb);
      else split = this.bytesSplit(tb, tt !== null ? this.tailText + tt : null);
    }
    if (split === Split.Invalid) return false;
    if (split === Split.Undecided) return undefined;
    if (split === Split.Starts) return this.mv.wholePiece(token);
    return this.joinValid(token, tb);
  }

  /** The split of tail ++ bytes(τ) from the pieces of the string (text) or of the bytes. */
  private bytesSplit(tb: Uint8Array, text: string | null): Split {
    const starts = text !== null ? this.tok.splitOffsets(text) : this.tok.pieceStartsIfUnchanged(concatBytes(this.tail, tb));
    if (starts) return this.startsOutcome(starts, -1);
    // The normalizer rewrote tail ++ τ: its encoding decodes to other bytes, so it is not ids ++ [τ]
    // (a token in decomposed form, say). A prefix space or a leading U+FEFF moves the bytes for
    // other reasons: left to re-encoding.
    const t = this.tail;
    return this.tok.hasNormalizer && !this.tok.addsPrefixSpace && !(t[0] === 0xef && t[1] === 0xbb && t[2] === 0xbf) ? Split.Invalid : Split.Undecided;
  }

  /**
   * bytesSplit for a tail ending inside a character, once per group of τ (see byte/mid-char.ts),
   * from the split text itself (the tokenizer rewrites none: a marker is its byte).
   */
  private midCharSplit(token: number, tb: Uint8Array): Split {
    const mc = this.midChar!;
    const g = mc.groupOf(token, tb);
    if (g === NOT_KEPT) return this.bytesSplit(tb, null);
    if (g !== NOT_COMPLETING) {
      let split = this.midByGroup.get(g);
      if (split === undefined) this.midByGroup.set(g, (split = this.completedOutcome(this.tok.markedSplitOffsets(mc.text + mc.completionOf(g)), -1)));
      return split;
    }
    const cls = this.mv.textClass(token, mc.sinceMarked);
    return cls < 0 ? this.bytesSplit(tb, null) : this.midClassSplit(cls);
  }

  /** The split of marked(tail) + (a token's text of class sequence cls), for a tail that is not valid UTF-8. */
  private midClassSplit(cls: number): Split {
    this.midByClass = withRoom(this.midByClass, cls);
    let split = this.midByClass[cls];
    if (split === 0) this.midByClass[cls] = split = this.startsOutcome(this.tok.markedSplitOffsets(this.midChar!.marked + this.mv.classText(this.mv.classRep[cls])!), -1);
    return split;
  }

  /**
   * isNormalized(tail ++ τ's text) for τ's text tt (the tail's text not null). A normalized tail
   * ending in an ASCII character (a starter that nothing composes with from before) is normalized
   * together with τ iff that character is (normalization only reaches back to the last such
   * character), so the answer is cached per (last character, τ) and the joined text not made.
   */
  private joinedNormalized(tt: string, token: number): boolean {
    if (!this.tok.hasNormalizer) return true;
    const last = this.byClassOk ? this.tailText!.charCodeAt(this.tailText!.length - 1) : 0x80;
    if (last >= 0x80) return this.tok.isNormalized(this.tailText + tt);
    return this.mv.normalizedAfter(last, token);
  }

  /** τ joins the tail's last piece: enc(piece ++ bytes(τ)) == enc(piece) ++ [τ]. */
  private joinValid(token: number, tb: Uint8Array): boolean | undefined {
    if (!this.mv.reachable(token)) return false;
    if (this.mv.ignoreMerges) {
      if (this.lastByShortcut) return undefined;
      if (this.tok.bpe.vocab.has(bytesToByteLevel(concatBytes(this.lastPiece, tb)))) return false;
    }
    const a = this.ids[this.ids.length - 1];
    if (!this.mv.reachable(a)) return undefined;
    return this.mv.pairValid(a, token);
  }

  /**
   * The lookahead rule for a token ending in whitespace that is not valid as it stands: valid when
   * for some probe continuation X, enc(tail ++ bytes(τ) ++ X) starts with ids ++ [τ]. With X
   * starting a piece of its own right after τ, that is the same merge-rank question as without X,
   * so only the split of tail ++ τ ++ X is needed, and it is cached per (class sequence of τ,
   * class of X). A probe whose split leaves it open (X joins τ's piece) is re-encoded alone.
   * Undefined when τ has no class sequence.
   */
  /**
   * One outcome per probe for τ of class sequence cls, then which outcomes occur (PROBE_* bits),
   * read by every token of the class. With `shared` (the shared table's outcomes), the probes it
   * leaves Undecided are decided by pieces (nonCanonicalOutcome: this row's own tokens).
   */
  private probeOutcomes(cls: number, shared: Int8Array | null): Int8Array {
    const mc = this.midChar;
    const cc = this.tok.charClasses!;
    const repText = this.mv.classText(this.mv.classRep[cls])!;
    const base = (mc !== null ? mc.marked : this.tailText) + repText;
    const m = mc !== null ? this.tail.length + this.mv.tokenBytes(this.mv.classRep[cls]).length : Buffer.byteLength(base);
    const rep = probeReps(cc, cc.guardDistance(base));
    const outs = new Int8Array(PROBE_TEXTS.length + 1);
    let seen = 0;
    for (let k = 0; k < PROBE_TEXTS.length; k++) {
      let o: Split;
      if (rep[k] < k) o = outs[rep[k]];
      else if (shared !== null && shared[k] !== Split.Undecided) o = shared[k];
      else {
        const text = base + PROBE_TEXTS[k];
        const starts = mc !== null ? this.tok.markedSplitOffsets(text) : this.tok.splitOffsets(text);
        o = shared !== null ? this.nonCanonicalOutcome(starts, m) : this.startsOutcome(starts, m);
      }
      outs[k] = o;
      seen |= o === Split.Starts ? PROBE_STARTS : o === Split.Joins ? PROBE_JOINS : o === Split.Undecided ? PROBE_UNDECIDED : 0;
    }
    outs[PROBE_TEXTS.length] = seen;
    return outs;
  }

  /** probeOutcomes decided by this row's pieces where the shared ones are open, by class. */
  private readonly movedProbes = new Map<number, Int8Array>();

  private probeByClass(token: number, tb: Uint8Array): boolean | undefined {
    if (!this.canonical && !this.byPieces) return undefined;
    // A tail ending inside a character: τ's own class after marked(tail), for a τ that leaves the
    // character incomplete (see midCharSplit); the split text is marked, a marker one byte.
    const mc = this.midChar;
    const cls = this.byClassOk ? this.mv.textClass(token, this.since) : mc !== null && mc.groupOf(token, tb) === NOT_COMPLETING ? this.mv.textClass(token, mc.sinceMarked) : -1;
    if (cls < 0) return undefined;
    let outs = this.splits.probes.get(cls);
    if (!outs) this.splits.probes.set(cls, (outs = this.probeOutcomes(cls, null)));
    // Left open where the tail's own pieces moved: this row's tokens may decide it by pieces.
    if ((outs[PROBE_TEXTS.length] & PROBE_UNDECIDED) !== 0 && this.canonical && mc === null && !this.mv.ignoreMerges) {
      let own = this.movedProbes.get(cls);
      if (!own) this.movedProbes.set(cls, (own = this.probeOutcomes(cls, outs)));
      outs = own;
    }
    const seen = outs[PROBE_TEXTS.length];
    if ((seen & PROBE_STARTS) !== 0 && this.mv.wholePiece(token)) return true;
    if ((seen & PROBE_JOINS) !== 0) {
      const j = this.joinValid(token, tb);
      if (j !== false) return j;
    }
    if ((seen & PROBE_UNDECIDED) === 0) return false;
    // Only the probes whose split left it open are re-encoded (one or two, not all of them).
    for (let k = 0; k < PROBE_TEXTS.length; k++) {
      if (outs[k] !== Split.Undecided) continue;
      this.stats.probes++;
      if (extendsWithProbe(this.tok, this.tail, this.ids, token, tb, k)) return true;
    }
    return false;
  }

  /**
   * The split outcome when τ completes the tail's last character: the tail's own pieces had that
   * character's bytes apart (as markers), so they move whenever it joins a piece; decided by pieces
   * (nonCanonicalOutcome: each piece within the tail, and the tail's part of τ's piece, must encode
   * to the row's tokens over it) where only merges make tokens, else as startsOutcome.
   */
  private completedOutcome(starts: number[], m: number): Split {
    return this.mv.ignoreMerges ? this.startsOutcome(starts, m) : this.nonCanonicalOutcome(starts, m);
  }

  /**
   * What the piece starts of tail ++ bytes(τ) (m < 0) or of tail ++ τ ++ X (m: the byte length of
   * tail ++ τ; X a probe that must start a piece at m) say: every piece start must be a token
   * boundary of the encoding, so one inside τ or off the tail's token boundaries is invalid; pieces
   * of the tail that moved leave it undecided, and so does X joining τ's piece (whether BPE still
   * ends a token at τ's end needs re-encoding); else τ starts a piece of its own or joins the last.
   */
  private startsOutcome(starts: number[], m: number): Split {
    if (!this.canonical) return this.nonCanonicalOutcome(starts, m);
    const n = this.tail.length;
    let i = 1;
    let moved = false;
    let atEnd = false;
    let xStarts = false;
    for (const s of starts) {
      if (s === 0) continue;
      if (s < n) {
        if (!this.bound[s]) return Split.Invalid;
        if (i < this.tailStarts.length && this.tailStarts[i] === s) i++;
        else moved = true;
      } else if (s === n) atEnd = true;
      else if (m < 0 || s < m) return Split.Invalid; // a piece starts inside τ
      else if (s === m) xStarts = true;
    }
    if (moved || i < this.tailStarts.length) return Split.Undecided;
    if (m < 0) return atEnd ? Split.Starts : Split.Joins;
    if (!xStarts) return Split.Undecided;
    return atEnd || n === 0 ? Split.Starts : Split.Joins;
  }

  /**
   * startsOutcome for a row that is not the canonical tokenization of its tail (byPieces; e.g.
   * "\n" + 15 spaces then " ", as a following word splits a whitespace run): the pieces of the
   * tail in tail ++ τ are not the tail's own, so instead of comparing them, each piece that lies
   * within the tail must encode to the row's tokens over it, and so must the tail's part of the
   * piece τ joins (then, as in a canonical row, τ is decided by its pair with the last token:
   * within a piece a sequence is canonical iff its pairs are). Piece starts must be token
   * boundaries and none may fall inside τ, as in startsOutcome.
   */
  private nonCanonicalOutcome(starts: number[], m: number): Split {
    const n = this.tail.length;
    let prev = 0;
    let atEnd = false;
    let xStarts = false;
    for (const s of starts) {
      if (s === 0) continue;
      if (s < n) {
        if (!this.bound[s] || !this.encodesTo(prev, s)) return Split.Invalid;
        prev = s;
      } else if (s === n) atEnd = true;
      else if (m < 0 || s < m) return Split.Invalid;
      else if (s === m) xStarts = true;
    }
    if (m >= 0 && !xStarts) return Split.Undecided;
    if (!this.encodesTo(prev, n)) return Split.Invalid;
    return atEnd ? Split.Starts : Split.Joins;
  }

  /** byPieces: encodePiece(tail[a:b]) is the row's tokens between those boundaries (a, b token boundaries). */
  private encodesTo(a: number, b: number): boolean {
    const key = a * (this.tail.length + 1) + b;
    let ok = this.pieceOk.get(key);
    if (ok === undefined) {
      let at = this.tokenAt;
      if (!at) {
        at = this.tokenAt = new Int32Array(this.tail.length + 1).fill(-1);
        let off = 0;
        at[0] = 0;
        this.ids.forEach((id, i) => (at![(off += this.tok.tokenBytes(id).length)] = i + 1));
      }
      const enc = this.tok.bpe.encodePiece(this.tail.subarray(a, b));
      const i0 = at[a];
      ok = enc.length === at[b] - i0 && enc.every((id, i) => id === this.ids[i0 + i]);
      this.pieceOk.set(key, ok);
    }
    return ok;
  }
}

/** What the walk of a pair found (see crossing). */
const enum Cross {
  None = 0,
  Crosses = 1,
  /** A cross pair tied with the left side's merge on a run x x: parity decides. */
  Tie = 2,
}

/**
 * The merge-rank walk of MergeValidity.pairValid on the flat runs: the left token's run at a0 with
 * aSteps merges, the right token's at b0 with bSteps. Until a merge crosses the boundary, the two
 * sides run their own BPE, interleaved by the rank of each side's next merge; the pair of edge
 * tokens (x, y) crosses when its merge ranks below both next merges (at a tie with the right
 * side's merge the cross pair is leftmost and wins; at a tie with the left side's it is the same
 * pair, merged in the same step unless it is a run x x: Tie). danger: dangerOf the left token (a
 * crossing (x, y) ranks at least danger[y], so below that there is no rank to look up).
 */
function crossing(f: FlatRuns, bpe: BpeModel, danger: Int32Array, a0: number, aSteps: number, b0: number, bSteps: number): Cross {
  const { lefts, rights, ranks } = f;
  let i = 0;
  let j = 0;
  // The edge pair stays the same over most steps (a merge inside a side): look its rank up once.
  let px = -1;
  let py = -1;
  let c = -1;
  for (;;) {
    const x = rights[a0 + i];
    const y = lefts[b0 + j];
    const hl = i < aSteps ? ranks[a0 + i] : NO_RANK;
    const hr = j < bSteps ? ranks[b0 + j] : NO_RANK;
    const next = hl < hr ? hl : hr;
    if (danger[y] <= next) {
      if (x !== px || y !== py) {
        c = bpe.rankOf(x, y);
        px = x;
        py = y;
      }
      if (c >= 0 && c <= next) return c < hl || x !== y ? Cross.Crosses : Cross.Tie;
    }
    if (next === NO_RANK) return Cross.None;
    if (hl === next) i++;
    if (hr === next) j++;
  }
}

const positionCaches = new WeakMap<Int32Array, Int32Array>();

/** RowValidity.invalidByClass's by-position marks, all 0 between calls (null while one is in use). */
let badScratch: Uint8Array | null = null;
/** RowValidity.invalidByClass's positions before they are copied out. */
let posScratch: Int32Array | null = null;

const groupPositionCaches = new WeakMap<ClassGroups, { at: Int32Array; pos: Int32Array }>();

/** By index into g.ids, the member's position in the order whose inverse is `at` (see positionsOf). */
function groupPositions(g: ClassGroups, at: Int32Array): Int32Array {
  let c = groupPositionCaches.get(g);
  if (!c || c.at !== at) {
    const pos = new Int32Array(g.ids.length);
    for (let i = 0; i < pos.length; i++) pos[i] = at[g.ids[i]];
    groupPositionCaches.set(g, (c = { at, pos }));
  }
  return c.pos;
}

/** The inverse of a token order: position by token id (-1 for ids not in it). */
function positionsOf(order: Int32Array, V: number): Int32Array {
  let at = positionCaches.get(order);
  if (!at) {
    at = new Int32Array(Math.max(V, order.length)).fill(-1);
    for (let k = 0; k < order.length; k++) at[order[k]] = k;
    positionCaches.set(order, at);
  }
  return at;
}

/** The first index in [lo, hi) of a sorted array whose value is >= x (hi if none). */
export function lowerBound(a: Int32Array, x: number, lo = 0, hi = a.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The pre-tokenizer's verdict on tail ++ bytes(τ) (values are stored in an Int8Array; 0: unknown). */
/** a, or a copy grown (zero-filled, at least doubled) so that index i fits: a table by class id. */
function withRoom(a: Int8Array, i: number): Int8Array {
  if (i < a.length) return a;
  const grown = new Int8Array(Math.max(i + 1, 64, 2 * a.length));
  grown.set(a);
  return grown;
}

const enum Split {
  Invalid = 1,
  Undecided = 2,
  /** τ starts a piece of its own. */
  Starts = 3,
  /** τ joins the tail's last piece. */
  Joins = 4,
}

const probeRepCache = new WeakMap<CharClasses, Map<number, Int32Array>>();

/**
 * By probe k, the first probe with its class sequence after a guard distance d (a probe splits
 * as that one does): the same for every tail, so made once per tokenizer and distance.
 */
function probeReps(cc: CharClasses, d: number): Int32Array {
  let m = probeRepCache.get(cc);
  if (!m) probeRepCache.set(cc, (m = new Map()));
  let rep = m.get(d);
  if (!rep) {
    const first = new Map<string, number>();
    rep = new Int32Array(PROBE_TEXTS.length);
    for (let k = 0; k < PROBE_TEXTS.length; k++) {
      const key = cc.key(PROBE_TEXTS[k], d);
      const f = first.get(key);
      if (f === undefined) first.set(key, k);
      rep[k] = f ?? k;
    }
    m.set(d, rep);
  }
  return rep;
}

/** Bits of the last entry of a probe outcome table (SplitTable.probes): the outcomes among its probes. */
const PROBE_STARTS = 1;
const PROBE_JOINS = 2;
const PROBE_UNDECIDED = 4;

/**
 * Bytes as a string (valid UTF-8), or null; the pre-tokenizer splits such a string as it is when
 * the tokenizer adds no prefix space and its normalizer leaves the string unchanged.
 */
function plainText(tok: Tokenizer, b: Uint8Array): string | null {
  return tok.addsPrefixSpace ? null : utf8DecodeIfValid(b);
}

function endsInWhitespace(tb: Uint8Array): boolean {
  if (tb.length === 0) return false;
  const last = tb[tb.length - 1];
  if (last < 0x80) return isAsciiSpace(last);
  return /[\s\x85]$/u.test(utf8DecodeLenient(tb.subarray(Math.max(0, tb.length - 4))));
}

const rowCaches = new WeakMap<Tokenizer, Map<string, RowValidity>>();
const MAX_ROWS = 4096;

/**
 * The validity cache of a cover row whose branch is `ids` = a tokenization of the bytes `prefix`.
 * Everything before the last stable pre-token boundary of `prefix` tokenizes the same with or
 * without the next token, so only the unstable tail t of the prefix matters: the check is
 * enc(t ++ bytes(τ)) == tail tokens ++ [τ]. Rows are shared per tokenizer by that tail (tails
 * such as "    " or " self" recur), so a tail's checks are done once.
 */
export function rowValidity(tok: Tokenizer, prefix: Uint8Array, ids: number[], lookahead: boolean): RowValidity {
  const c = stableCommitPoint(tok, prefix);
  const head = tokensBefore(tok, ids, c);
  // Rows whose tokens do not split at the stable point are checked on their whole prefix.
  const bytes = head ? prefix.subarray(c) : prefix;
  const tailIds = head ? ids.slice(head.length) : ids;
  let m = rowCaches.get(tok);
  if (!m) rowCaches.set(tok, (m = new Map()));
  const key = (lookahead ? 'L' : 'E') + String.fromCharCode(...bytes) + '\u0000' + tailIds.join(',');
  let rv = m.get(key);
  if (!rv) {
    if (m.size >= MAX_ROWS) m.clear();
    rv = new RowValidity(tok, bytes.slice(), tailIds, lookahead);
    m.set(key, rv);
  }
  return rv;
}

export interface ValidityTiming {
  tail: string;
  tokens: number;
  valid: number;
  reencodeMs: number;
  mergeRanksMs: number;
  /** Of the merge-rank checks, how many re-encoded after all. */
  reencoded: number;
}

/**
 * Measurement (bench): validity of every token after each tail, by re-encoding and through
 * RowValidity (a fresh one, so nothing is cached but the per-tokenizer merge runs), in one process.
 * Throws if the two ever disagree.
 */
export function measureValidity(tok: Tokenizer, tails: string[]): ValidityTiming[] {
  const out: ValidityTiming[] = [];
  const cands: number[] = [];
  for (let c = 0; c < tok.vocabSize; c++) if (!tok.isSpecial(c) && tok.tokenBytes(c).length > 0) cands.push(c);
  // Per-tokenizer work done once (each token's own merge run) is not part of a row's cost.
  const warm = new RowValidity(tok, new TextEncoder().encode('\u0000'), tok.encode('\u0000'), true);
  for (const c of cands) warm.valid(c);
  for (const s of tails) {
    const tail = new TextEncoder().encode(s);
    const ids = tok.encodeBytes(tail);
    const exact = new Uint8Array(tok.vocabSize);
    let t0 = performance.now();
    for (const c of cands) exact[c] = extendable(tok, tail, ids, c, tok.tokenBytes(c), true) ? 1 : 0;
    const reencodeMs = performance.now() - t0;
    const rv = new RowValidity(tok, tail, ids, true);
    let valid = 0;
    t0 = performance.now();
    for (const c of cands) if (rv.valid(c)) valid++;
    const mergeRanksMs = performance.now() - t0;
    for (const c of cands) if (rv.valid(c) !== (exact[c] === 1)) throw new Error(`validity differs from re-encoding after ${JSON.stringify(s)} for token ${c}`);
    out.push({ tail: s, tokens: cands.length, valid, reencodeMs, mergeRanksMs, reencoded: rv.stats.exact });
  }
  return out;
}
