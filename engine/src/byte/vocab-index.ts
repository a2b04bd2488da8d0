// The vocabulary's byte strings in sorted order, so "all tokens whose bytes start with s" is a
// contiguous range found by binary search (no per-request scan of the vocabulary).
import { Tokenizer } from '../tokenizer/tokenizer';
import { sumExp } from '../decode/distribution';
import { LogDist } from './log-dist';

function compare(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

export class VocabIndex {
  /** Non-special token ids sorted by their bytes. */
  readonly sorted: Int32Array;
  private readonly bytes: Uint8Array[];
  /** For each id, the first byte of its bytes (-1 for specials and empty tokens). */
  readonly firstByte: Int16Array;

  constructor(readonly tok: Tokenizer) {
    this.bytes = tok.normalTokenBytes();
    const ids: number[] = [];
    this.firstByte = new Int16Array(this.bytes.length).fill(-1);
    this.bytes.forEach((b, id) => {
      if (b.length > 0) {
        ids.push(id);
        this.firstByte[id] = b[0];
      }
    });
    // Byte order = code-unit order of the bytes read as Latin-1 strings (native comparison).
    const keys: string[] = new Array(this.bytes.length);
    for (const id of ids) keys[id] = latin1(this.bytes[id]);
    ids.sort((x, y) => (keys[x] < keys[y] ? -1 : keys[x] > keys[y] ? 1 : 0));
    this.sorted = Int32Array.from(ids);
  }

  /** [lo, hi) in `sorted` of the tokens whose bytes start with `prefix`. */
  range(prefix: Uint8Array): [number, number] {
    const s = this.sorted;
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compare(this.bytes[s[mid]], prefix) < 0) lo = mid + 1;
      else hi = mid;
    }
    const start = lo;
    hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const b = this.bytes[s[mid]];
      if (startsWith(b, prefix)) lo = mid + 1;
      else hi = mid;
    }
    return [start, lo];
  }

  /**
   * Cumulative probability in sorted order (see PrefixMass): afterwards the mass of every token
   * extending a prefix is a difference of two prefix sums (the range is contiguous in sorted
   * order). Read straight off the distribution's logits (no array of probabilities).
   */
  cumulativeMass(dist: LogDist): PrefixMass {
    const nb = Math.ceil(this.sorted.length / MASS_BLOCK);
    if (!this.blockOf) {
      if (nb + 1 > 0xffff) throw new Error('internal: vocabulary too large for PrefixMass blocks');
      this.blockOf = new Uint16Array(this.bytes.length).fill(nb);
      this.sorted.forEach((id, k) => (this.blockOf![id] = Math.floor(k / MASS_BLOCK)));
    }
    // The LM sums its next positions by these blocks in its own exp pass (no pass here).
    if (dist.plan && dist.plan.blockOf === null) {
      dist.plan.blockOf = this.blockOf;
      dist.plan.count = nb + 1;
    }
    return new PrefixMass(this.sorted, this.blockOf, dist);
  }

  /** By token id, its block of PrefixMass (see there). */
  private blockOf: Uint16Array | null = null;

  /**
   * Mass of the tokens that start with `prefix` (strictly longer than it with `longer`: the token
   * equal to the prefix sorts first in its range, so it is the one left out).
   */
  prefixMass(cum: PrefixMass, prefix: Uint8Array, longer = false): number {
    const [lo, hi] = this.range(prefix);
    if (lo === hi) return 0;
    let from = lo;
    if (longer && this.bytes[this.sorted[lo]].length === prefix.length) from++;
    return cum.range(from, hi);
  }

  /** Byte length of a token (0 for specials). */
  length(id: number): number {
    return this.bytes[id].length;
  }

  /**
   * Within [lo, hi), a range of tokens sharing their first `at` bytes and all longer than that:
   * the end of the run that shares byte `at` with the token at lo (tokens are sorted by bytes,
   * so that byte only grows along the range).
   */
  byteRunEnd(lo: number, hi: number, at: number): number {
    const s = this.sorted;
    const b = this.bytes[s[lo]][at];
    // The runs of the first byte are the same for every caller: a table, no search.
    if (at === 0) return Math.min(hi, this.firstByteEnds()[b]);
    let a = lo + 1;
    while (a < hi) {
      const mid = (a + hi) >> 1;
      if (this.bytes[s[mid]][at] <= b) a = mid + 1;
      else hi = mid;
    }
    return a;
  }

  /** By byte b: the end in `sorted` of the tokens whose first byte is at most b. */
  private firstByteEnds(): Int32Array {
    if (!this.firstEnds) {
      const e = new Int32Array(256);
      for (const id of this.sorted) e[this.bytes[id][0]]++;
      for (let b = 1; b < 256; b++) e[b] += e[b - 1];
      this.firstEnds = e;
    }
    return this.firstEnds;
  }

  private firstEnds: Int32Array | null = null;

  /** Byte `at` of the token at position k of `sorted`. */
  byteAt(k: number, at: number): number {
    return this.bytes[this.sorted[k]][at];
  }

  /** Ids of tokens that start with `prefix` and are strictly longer than it. */
  extending(prefix: Uint8Array): number[] {
    const [lo, hi] = this.range(prefix);
    const out: number[] = [];
    for (let k = lo; k < hi; k++) {
      const id = this.sorted[k];
      if (this.bytes[id].length > prefix.length) out.push(id);
    }
    return out;
  }
}

/** Positions per stored prefix sum of PrefixMass. */
const MASS_BLOCK = 16;

/**
 * Prefix sums of the probabilities in a token order: at(k) = Σ p(order[i]) for i < k. One pass
 * stores the sum at every MASS_BLOCK-th position only; at(k) adds the at most MASS_BLOCK - 1
 * probabilities after the stored sum. So a scored position costs a 1/16-size array instead of a
 * vocabulary-size one (150k Float64 entries: fresh pages, page faults and full collections
 * for every position), and a lookup a few exps.
 */
export class PrefixMass {
  private readonly blocks: Float64Array;
  /** p(id) = exp(values[id] - shift) * scale: the distribution's logits, max and 1 / sum. */
  private readonly values: Float32Array | Float64Array;
  private readonly shift: number;
  private readonly scale: number;

  /** blockOf: by token id, the block of its position in the order (nb, one past the last, for ids not in it). */
  constructor(
    private readonly order: Int32Array,
    blockOf: Uint16Array,
    dist: LogDist,
  ) {
    this.values = dist.logits;
    this.shift = dist.max;
    this.scale = 1 / dist.sum;
    const nb = Math.ceil(order.length / MASS_BLOCK);
    // One pass in id order, each term added to its block (reading the vocabulary in sorted order
    // instead gathers from the whole logits array: cache misses), then the blocks' prefix sums;
    // none when the LM summed the same blocks in its log-softmax.
    let sums = dist.blockOf === blockOf ? dist.blockSums : undefined;
    if (!sums) {
      sums = new Float64Array(nb + 2);
      sumExp(this.values, this.shift, 0, this.values.length, undefined, blockOf, sums);
    }
    const blocks = new Float64Array(nb + 1);
    let acc = 0;
    for (let b = 0; b < nb; b++) {
      blocks[b] = acc;
      acc += sums[b] * this.scale;
    }
    blocks[nb] = acc;
    this.blocks = blocks;
  }

  /** Σ p(ids[k]) for k in [from, to) (ids: token ids, e.g. those of some positions of the order). */
  sumOf(ids: Int32Array, from: number, to: number): number {
    return sumExp(this.values, this.shift, from, to, ids) * this.scale;
  }

  /**
   * Σ p over the positions [lo, hi): summed directly within a few blocks (a difference of two large
   * prefix sums would lose a small range's low digits), else stored sums and the two partial blocks.
   */
  range(lo: number, hi: number): number {
    if (hi - lo <= 2 * MASS_BLOCK) return sumExp(this.values, this.shift, lo, hi, this.order) * this.scale;
    return this.at(hi) - this.at(lo);
  }

  /** Σ p over the positions before k (0 <= k <= order.length). */
  at(k: number): number {
    const b = (k / MASS_BLOCK) | 0;
    const from = b * MASS_BLOCK;
    return from === k ? this.blocks[b] : this.blocks[b] + sumExp(this.values, this.shift, from, k, this.order) * this.scale;
  }
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

function startsWith(b: Uint8Array, p: Uint8Array): boolean {
  if (b.length < p.length) return false;
  for (let i = 0; i < p.length; i++) if (b[i] !== p[i]) return false;
  return true;
}
