// Completion cache. An entry remembers where a completion started (document offset) and the
// text around it; a later request at a further offset hits when the user typed the first
// characters of the cached completion: it gets the remainder. An entry holds all candidates of
// one request; typing keeps those the typed text agrees with. An entry typed to its end no longer
// answers (the next completion there is new work, or a speculative entry stored at that point).
import { LruMap } from './lru';

export interface CacheEntry {
  uri: string;
  /** Document offset where the completion was inserted. */
  at: number;
  /** The last `tailChars` characters before `at`. */
  prefixTail: string;
  /** The first `headChars` characters of the suffix. */
  suffixHead: string;
  /** Candidates, best first (at least one, none empty). */
  completions: string[];
  multiline: boolean;
  /** Computed ahead of time, as if the previous suggestion had been accepted. */
  speculative: boolean;
  /** Candidates the engine was asked for (it may return fewer distinct ones). */
  asked: number;
}

export interface CacheHit {
  /** The remainder of the first candidate that agrees with what was typed. */
  completion: string;
  /** Remainders of all candidates that agree, first = `completion`. */
  items: string[];
  typed: number;
  entry: CacheEntry;
}

export interface CacheLookup {
  uri: string;
  /** Full document text and cursor offset. */
  text: string;
  offset: number;
}

export class CompletionCache {
  private readonly lru: LruMap<string, CacheEntry>;
  constructor(
    capacity = 256,
    readonly tailChars = 500,
    readonly headChars = 200,
  ) {
    this.lru = new LruMap(capacity);
  }

  get size(): number {
    return this.lru.size;
  }

  clear(): void {
    this.lru.clear();
  }

  /** Drops every entry of a document (closed). */
  forget(uri: string): void {
    for (const [k, e] of [...this.lru.entries()]) if (e.uri === uri) this.lru.delete(k);
  }

  store(
    uri: string, text: string, offset: number, completion: string | string[], multiline: boolean,
    opts: { speculative?: boolean; asked?: number } = {},
  ): void {
    const completions = (typeof completion === 'string' ? [completion] : completion).filter((c) => c.length > 0);
    if (completions.length === 0) return;
    const entry: CacheEntry = {
      uri,
      at: offset,
      prefixTail: text.slice(Math.max(0, offset - this.tailChars), offset),
      suffixHead: text.slice(offset, offset + this.headChars),
      completions,
      multiline,
      speculative: opts.speculative ?? false,
      asked: opts.asked ?? 1,
    };
    this.lru.set(`${uri}\u0000${offset}\u0000${entry.prefixTail}\u0000${entry.suffixHead}`, entry);
  }

  /** Remainder of a cached completion the user typed into, or undefined. */
  lookup(q: CacheLookup): CacheHit | undefined {
    let best: CacheHit | undefined;
    for (const e of this.lru.values()) {
      if (e.uri !== q.uri) continue;
      const typed = q.offset - e.at;
      if (typed < 0) continue;
      // The text typed since must be the start of a candidate (and not all of it)...
      const typedText = q.text.slice(e.at, q.offset);
      const items = e.completions.filter((c) => c.length > typed && c.startsWith(typedText)).map((c) => c.slice(typed));
      if (items.length === 0) continue;
      // ...what was before the completion must be unchanged, and so must the suffix.
      if (q.text.slice(Math.max(0, e.at - this.tailChars), e.at) !== e.prefixTail) continue;
      if (q.text.slice(q.offset, q.offset + this.headChars) !== e.suffixHead) continue;
      // Prefer the entry started closest to the cursor (most specific).
      if (!best || typed < best.typed) best = { completion: items[0], items, typed, entry: e };
    }
    if (best) this.touch(best.entry);
    return best;
  }

  private touch(e: CacheEntry): void {
    this.lru.get(`${e.uri}\u0000${e.at}\u0000${e.prefixTail}\u0000${e.suffixHead}`);
  }
}
