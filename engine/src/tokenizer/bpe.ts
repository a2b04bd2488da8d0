// Byte-level BPE model: merges by rank over the byte alphabet, with a bounded cache of pieces.
import { BytefillError } from '../core/types';
import { byteChar, bytesToByteLevel } from './byte-level';

const PAIR_SHIFT = 2 ** 21; // ids below 2M; a pair key stays within 2^53

export class BpeModel {
  private readonly ranks = new Map<number, number>(); // pair key -> rank
  private readonly mergedId = new Map<number, number>(); // pair key -> id of the merged token
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
    merges.forEach((m, rank) => {
      const [a, b] = typeof m === 'string' ? splitMerge(m) : m;
      const ia = vocab.get(a);
      const ib = vocab.get(b);
      const im = vocab.get(a + b);
      if (ia === undefined || ib === undefined || im === undefined) return;
      const key = ia * PAIR_SHIFT + ib;
      if (!this.ranks.has(key)) {
        this.ranks.set(key, rank);
        this.mergedId.set(key, im);
      }
    });
  }

  /** Rank of the merge (a, b), or undefined when the pair does not merge. */
  pairRank(a: number, b: number): number | undefined {
    return this.ranks.get(a * PAIR_SHIFT + b);
  }

  /** Id of the token the merge (a, b) makes (only for pairs that merge). */
  pairMerged(a: number, b: number): number | undefined {
    return this.mergedId.get(a * PAIR_SHIFT + b);
  }

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
    while (ids.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < ids.length; i++) {
        const r = this.ranks.get(ids[i] * PAIR_SHIFT + ids[i + 1]);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      const key = ids[best] * PAIR_SHIFT + ids[best + 1];
      const merged = this.mergedId.get(key)!;
      // Merge every non-overlapping occurrence of this pair, left to right (what HF's queue does).
      const out: number[] = [];
      for (let i = 0; i < ids.length; i++) {
        if (i + 1 < ids.length && ids[i] * PAIR_SHIFT + ids[i + 1] === key) {
          out.push(merged);
          i++;
        } else out.push(ids[i]);
      }
      ids.splice(0, ids.length, ...out);
    }
    return ids;
  }
}

function splitMerge(m: string): [string, string] {
  const i = m.indexOf(' ', 1);
  return [m.slice(0, i), m.slice(i + 1)];
}
