// The vocabulary's byte strings in sorted order, so "all tokens whose bytes start with s" is a
// contiguous range found by binary search (no per-request scan of the vocabulary).
import { Tokenizer } from '../tokenizer/tokenizer';
import { expNonPositive } from '../decode/distribution';
import { KeptLogits } from './lm';

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
   * Cumulative probability in sorted order: out[k] = Σ exp(logp[sorted[i]]) for i < k. One pass
   * over the vocabulary; afterwards the mass of every token extending a prefix is
   * rangeMass(out, range(prefix)) in O(log V) (the range is contiguous in sorted order). `kept`:
   * the logits logp came from (byte/lm.ts), read instead of logp (half the bytes gathered).
   */
  cumulativeMass(logp: Float64Array, kept?: KeptLogits): Float64Array {
    const s = this.sorted;
    const out = new Float64Array(s.length + 1);
    // A model whose output is narrower than the tokenizer gives its extra ids no mass.
    const n = logp.length;
    let acc = 0;
    if (kept) {
      const { logits, max } = kept;
      const inv = 1 / kept.sum;
      for (let k = 0; k < s.length; k++) {
        const id = s[k];
        if (id < n) acc += expNonPositive(logits[id] - max);
        out[k + 1] = acc * inv;
      }
    } else {
      for (let k = 0; k < s.length; k++) {
        const id = s[k];
        if (id < n) acc += expNonPositive(logp[id]);
        out[k + 1] = acc;
      }
    }
    return out;
  }

  /**
   * Mass of the tokens that start with `prefix` (strictly longer than it with `longer`: the token
   * equal to the prefix sorts first in its range, so it is the one left out).
   */
  prefixMass(cum: Float64Array, prefix: Uint8Array, longer = false): number {
    const [lo, hi] = this.range(prefix);
    if (lo === hi) return 0;
    let from = lo;
    if (longer && this.bytes[this.sorted[lo]].length === prefix.length) from++;
    return cum[hi] - cum[from];
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
    let a = lo + 1;
    while (a < hi) {
      const mid = (a + hi) >> 1;
      if (this.bytes[s[mid]][at] <= b) a = mid + 1;
      else hi = mid;
    }
    return a;
  }

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
