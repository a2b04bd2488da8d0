// Byte-level BPE model: merges by rank over the byte alphabet, with a bounded cache of pieces.
import { BytefillError } from '../core/types';
import { byteChar, bytesToByteLevel } from './byte-level';


export class BpeModel {
  /** (a, b) -> rank and id of the merged token (the byte layer asks it per candidate pair). */
  private readonly pairs: PairTable;
  private readonly byteIds = new Int32Array(256);
  private readonly cache = new Map<string, number[]>();
  private static readonly CACHE_LIMIT = 100_000;

  constructor(
    readonly vocab: Map<string, number>,
    merges: Array<string | [string, string]>,
    readonly ignoreMerges: boolean,
  ) {
    for (let b = 0; b < 256; b++) {
      const id = vocab.get(byteChar(b));
      // A vocabulary without some byte cannot encode arbitrary text; -1 marks it and encode fails loudly.
      this.byteIds[b] = id ?? -1;
    }
    this.pairs = new PairTable(merges.length);
    merges.forEach((m, rank) => {
      const [a, b] = typeof m === 'string' ? splitMerge(m) : m;
      const ia = vocab.get(a);
      const ib = vocab.get(b);
      const im = vocab.get(a + b);
      if (ia === undefined || ib === undefined || im === undefined) return;
      if (this.pairs.rank(ia, ib) < 0) this.pairs.set(ia, ib, rank, im);
    });
  }

  /** Rank of the merge (a, b), or undefined when the pair does not merge. */
  pairRank(a: number, b: number): number | undefined {
    const r = this.pairs.rank(a, b);
    return r < 0 ? undefined : r;
  }

  /** Rank of the merge (a, b), -1 when the pair does not merge (pairRank without undefined, for hot loops). */
  rankOf(a: number, b: number): number {
    return this.pairs.rank(a, b);
  }

  /** Id of the token the merge (a, b) makes (only for pairs that merge). */
  pairMerged(a: number, b: number): number | undefined {
    const m = this.pairs.merged(a, b);
    return m < 0 ? undefined : m;
  }

  /**
   * Every merge grouped by its left token: the merges (x, y) are ys[start[x] .. start[x + 1])
   * with their ranks (x below start.length - 1; computed once).
   */
  mergesByLeft(): MergesByLeft {
    if (!this.byLeft) this.byLeft = this.pairs.byLeft();
    return this.byLeft;
  }

  private byLeft: MergesByLeft | null = null;

  /** Id of the single-byte token of byte b (-1 when the vocabulary lacks it). */
  byteId(b: number): number {
    return this.byteIds[b];
  }

  /** Token ids of one pre-token (raw bytes). */
  encodePiece(bytes: Uint8Array): number[] {
    // Cache key: one char per byte (cheaper to build than the byte-level string).
    const key = bytes.length < 64 ? String.fromCharCode.apply(null, bytes as unknown as number[]) : bytesToByteLevel(bytes);
    const hit = this.cache.get(key);
    if (hit) return hit;
    let ids: number[];
    const whole = this.ignoreMerges ? this.vocab.get(bytesToByteLevel(bytes)) : undefined;
    if (whole !== undefined) ids = [whole];
    else ids = this.merge(bytes);
    if (this.cache.size >= BpeModel.CACHE_LIMIT) this.cache.clear();
    this.cache.set(key, ids);
    return ids;
  }

  private merge(bytes: Uint8Array): number[] {
    const ids: number[] = new Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) {
      const id = this.byteIds[bytes[i]];
      if (id < 0) throw new BytefillError('UNSUPPORTED', `the vocabulary has no token for byte 0x${bytes[i].toString(16)}`);
      ids[i] = id;
    }
    return this.mergeIds(ids);
  }

  /**
   * Applies the merges to a sequence of ids: the lowest-ranked adjacent pair first, every
   * non-overlapping occurrence of it left to right (what HF's queue does). onMerge sees each
   * step's rank and the ids after it (the validity test reads the merge history from it).
   */
  mergeIds(start: readonly number[], onMerge?: (rank: number, ids: readonly number[]) => void): number[] {
    let ids = start.slice();
    while (ids.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < ids.length; i++) {
        const r = this.pairs.rank(ids[i], ids[i + 1]);
        if (r >= 0 && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      const x = ids[best];
      const y = ids[best + 1];
      const merged = this.pairs.merged(x, y);
      const out: number[] = [];
      for (let i = 0; i < ids.length; i++) {
        if (i + 1 < ids.length && ids[i] === x && ids[i + 1] === y) {
          out.push(merged);
          i++;
        } else out.push(ids[i]);
      }
      ids = out;
      onMerge?.(bestRank, ids);
    }
    return ids;
  }
}

/**
 * Open-addressing hash table from a token pair to its merge (rank and merged id) in one typed
 * array, a slot's four fields side by side (a, b, rank, merged): a lookup is a few integer
 * operations and one cache line, not a Map lookup of a 53-bit key (nor a miss per field).
 */
class PairTable {
  /** Slot h at 4h: left id (-1: empty), right id, rank, merged id. */
  private readonly slots: Int32Array;
  private readonly mask: number;

  constructor(n: number) {
    let size = 16;
    while (size < 2 * n + 16) size *= 2;
    this.mask = size - 1;
    this.slots = new Int32Array(4 * size);
    for (let h = 0; h < size; h++) this.slots[4 * h] = -1;
  }

  /** Index in `slots` of the pair's slot, or of the empty slot where it would go. */
  private slot(a: number, b: number): number {
    const s = this.slots;
    let h = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca6b)) & this.mask;
    while (s[4 * h] !== -1 && (s[4 * h] !== a || s[4 * h + 1] !== b)) h = (h + 1) & this.mask;
    return 4 * h;
  }

  set(a: number, b: number, rank: number, merged: number): void {
    const h = this.slot(a, b);
    this.slots[h] = a;
    this.slots[h + 1] = b;
    this.slots[h + 2] = rank;
    this.slots[h + 3] = merged;
  }

  /** Rank of the merge (a, b), -1 when there is none. */
  rank(a: number, b: number): number {
    const h = this.slot(a, b);
    return this.slots[h] === -1 ? -1 : this.slots[h + 2];
  }

  merged(a: number, b: number): number {
    const h = this.slot(a, b);
    return this.slots[h] === -1 ? -1 : this.slots[h + 3];
  }

  byLeft(): MergesByLeft {
    const s = this.slots;
    let n = 0;
    for (let h = 0; h < s.length; h += 4) n = Math.max(n, s[h] + 1);
    const start = new Int32Array(n + 1);
    for (let h = 0; h < s.length; h += 4) if (s[h] >= 0) start[s[h] + 1]++;
    for (let x = 0; x < n; x++) start[x + 1] += start[x];
    const fill = start.slice(0, n);
    const ys = new Int32Array(start[n]);
    const ranks = new Int32Array(start[n]);
    for (let h = 0; h < s.length; h += 4) {
      const x = s[h];
      if (x < 0) continue;
      ys[fill[x]] = s[h + 1];
      ranks[fill[x]++] = s[h + 2];
    }
    return { start, ys, ranks };
  }
}

export interface MergesByLeft {
  start: Int32Array;
  ys: Int32Array;
  ranks: Int32Array;
}

function splitMerge(m: string): [string, string] {
  const i = m.indexOf(' ', 1);
  return [m.slice(0, i), m.slice(i + 1)];
}
