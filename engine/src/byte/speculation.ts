// Speculative rows for streaming decoding (docs/DESIGN.md, "Ensembles across vocabularies"). A
// decoder does not know its next bytes, so each pushed byte that makes a new row heavy costs a
// forward. When a forward is due anyway, the due row is lengthened by the tokens of guessed next
// bytes: one row of a few more tokens costs about what one token costs (the forward's time is the
// context's KV, not the new tokens), and every prefix of the row is scored with it.
//
// The guessed rows are NOT recorded in the covers' trie: they wait here until the scheduler asks
// for exactly those branches, and are then handed over as if just scored. So the trie, the rows'
// bounds and the lazy rule see the same scores at the same moments as without speculation, and the
// distributions (hence the picked bytes) are the same; a wrong guess costs a few token positions
// of a forward that ran anyway, never a forward of its own.
import { Tokenizer } from '../tokenizer/tokenizer';
import { concatBytes } from '../tokenizer/utf8';
import { BranchLM, isPrefix, LMContext, ScoredBranch, scoredBranch } from './lm';
import { CoverSet, Row } from './covers';

export interface Speculation {
  /** Guesses of the bytes after the stream's history, best first (the first that fits is used). */
  guesses(): Iterable<Uint8Array>;
  /** Tokens a due row is lengthened by at most. */
  maxTokens: number;
}

export interface SpeculationStats {
  /** Scoring calls answered from guessed rows without a forward. */
  hits: number;
  /** Forwards whose row was lengthened by guessed tokens. */
  lengthened: number;
}

/**
 * Guessed rows kept per stream, newest first. Each holds its batch's KV state; on the 30 prompts of
 * `bench --byte-level` keeping 1, 2, 4 or 8 saved the same forwards (a guess that failed is rarely
 * reached later), so few are kept.
 */
const MAX_KEPT = 2;

/** A scored branch seen from a later context: its tokens from `offset` on. */
interface Kept {
  branch: ScoredBranch;
  offset: number;
}

export class SpeculativeRows {
  private kept: Kept[] = [];
  readonly stats: SpeculationStats = { hits: 0, lengthened: 0 };

  /** The branch `ids` on ctx, read off a kept row it is a prefix of; null when none. */
  find(ctx: LMContext, ids: readonly number[]): ScoredBranch | null {
    if (ids.length === 0) return null;
    for (const k of this.kept) {
      const rest = k.branch.ids.slice(k.offset);
      if (!isPrefix(ids, rest)) continue;
      const nexts = k.branch.nexts.slice(k.offset, k.offset + ids.length);
      return scoredBranch(ctx, ids.slice(), nexts, (m) => k.branch.extend(k.offset + m));
    }
    return null;
  }

  /**
   * Scores branches on ctx: from kept rows when every one is there (no forward), else one call for
   * the missing ones in which a missing branch that is a prefix of a guessed row is scored as that
   * row (the same batch row, longer); the guessed rows are kept.
   */
  async score(lm: BranchLM, ctx: LMContext, branches: number[][], guessed: () => number[][], signal?: AbortSignal): Promise<ScoredBranch[]> {
    const found = branches.map((ids) => this.find(ctx, ids));
    const missing = branches.filter((_, i) => !found[i]);
    if (missing.length === 0) {
      this.stats.hits++;
      return found as ScoredBranch[];
    }
    const longer = guessed().filter((g) => missing.some((m) => m.length < g.length && isPrefix(m, g)));
    const scored = await lm.score(ctx, [...missing, ...longer], signal);
    if (longer.length > 0) {
      this.stats.lengthened++;
      this.kept.unshift(...longer.map((_, i) => ({ branch: scored[missing.length + i], offset: 0 })));
      this.kept.length = Math.min(this.kept.length, MAX_KEPT);
    }
    let next = 0;
    return found.map((f) => f ?? scored[next++]);
  }

  /** The context moved down by the committed tokens: keep the rows that start with them. */
  commit(cIds: readonly number[]): void {
    this.kept = this.kept.filter((k) => isPrefix(cIds, k.branch.ids.slice(k.offset)));
    for (const k of this.kept) k.offset += cIds.length;
  }

  /** A new context (window restart): nothing kept applies. */
  clear(): void {
    this.kept = [];
  }
}

/**
 * The guessed row for a batch of due rows: enc(pending ++ guess) for the first guess that a due row
 * is a prefix of (so it rides in that row's batch entry), cut to maxTokens more tokens than that
 * row and to `room` tokens in all; none otherwise (a batch entry of its own would cost about a
 * forward: the time of a forward grows with its batch entries, each reading the context's KV).
 */
export function guessedRows(tok: Tokenizer, pending: Uint8Array, guesses: Iterable<Uint8Array>, due: readonly (readonly number[])[], maxTokens: number, room: number): number[][] {
  if (maxTokens <= 0) return [];
  for (const guess of guesses) {
    if (guess.length === 0) continue;
    const ids = tok.encodeBytes(concatBytes(pending, guess));
    let base = -1;
    for (const d of due) if (d.length > base && d.length < ids.length && isPrefix(d, ids)) base = d.length;
    const n = Math.min(ids.length, base + maxTokens, room);
    if (base >= 0 && n > base) return [ids.slice(0, n)];
  }
  return [];
}

/**
 * The next bytes the stream itself finds likeliest: the part past the pending bytes of its heaviest
 * scored candidate cover (validity not checked: it is a guess), followed, while the kept guessed
 * rows have scored them, by the argmax tokens after it.
 */
export function heaviestContinuation(covers: CoverSet, rows: readonly Row[], spec: SpeculativeRows | null, tok: Tokenizer, maxBytes: number): Uint8Array {
  let best: { logw: number; row: Row; token: number; bytes: Uint8Array } | null = null;
  rows.forEach((r, ri) => {
    if (!covers.ready(r)) return;
    for (const c of covers.candidates(r, ri)) {
      if (!c.end && (!best || c.logw > best.logw)) best = { logw: c.logw, row: r, token: c.token, bytes: covers.overhang(c) };
    }
  });
  if (!best) return new Uint8Array(0);
  const b: { row: Row; token: number; bytes: Uint8Array } = best;
  let out = b.bytes;
  const path = [...b.row.ids, b.token];
  while (spec && out.length < maxBytes) {
    const scored = spec.find(covers.context, path);
    if (!scored) break;
    const next = scored.nexts[path.length - 1];
    let a = -1;
    for (let id = 0; id < next.length; id++) if (a < 0 || next.at(id) > next.at(a)) a = id;
    const bytes = tok.isSpecial(a) ? new Uint8Array(0) : tok.tokenBytes(a);
    if (bytes.length === 0) break;
    out = concatBytes(out, bytes);
    path.push(a);
  }
  return out.subarray(0, maxBytes);
}
