// A row tail that is not valid UTF-8: it ends inside a character (the pending bytes stop after 1-3
// bytes of one), or holds bytes of a character cut off before it (a row that starts inside one),
// or both. The pre-tokenizer's split of tail ++ bytes(τ) is grouped so that it runs once per group
// of candidates instead of once per candidate (byte/validity.ts, RowValidity.fast). With a
// normalizer (Qwen's NFC) this holds where the joined text is already normalized, which every
// completion is checked for; the others take the split of their bytes.
//
// The split sees tail ++ bytes(τ) as text with every invalid byte a marker character
// (Tokenizer.markedText). With T the marked text of the tail up to its last, incomplete
// character P (all of it when there is none; bytes before T's end decode the same whatever
// follows):
//   - τ completes P into a character ch (its first bytes are the missing continuation bytes):
//     the text is T + ch + marked(rest of τ);
//   - else P stays invalid: the text is marked(tail) + marked(τ) (a continuation byte never
//     starts a sequence, so τ's bytes decode as they do alone).
// Strings with one class sequence split at the same character offsets (tokenizer/char-class.ts),
// and the tail's characters are fixed, so tokens whose part after T (or after marked(tail)) has
// one class sequence put piece starts at the same bytes within the tail and all past its end:
// one split outcome (RowValidity.startsOutcome reads no more) serves them all.
import { Tokenizer } from '../tokenizer/tokenizer';
import { incompleteUtf8Tail, utf8DecodeIfValid, utf8SeqLen, validSeqLen } from '../tokenizer/utf8';

const GUARD = 0x27;

export class MidCharTail {
  /** The incomplete character's bytes followed by the missing ones (scratch for validSeqLen). */
  private readonly seq: Uint8Array;

  private constructor(
    private readonly tok: Tokenizer,
    /** Bytes of the incomplete character in the tail. */
    private readonly k: number,
    /** Guard distance (CharClasses.key) after T, for a completed character. */
    private readonly sinceText: number,
    /** Guard distance after marked(tail), for τ's own class sequence (MergeValidity.textClass). */
    readonly sinceMarked: number,
    /** T, the marked text of the tail up to its incomplete character (all of it without one). */
    readonly text: string,
    /** marked(tail). */
    readonly marked: string,
    lead: Uint8Array,
  ) {
    this.seq = new Uint8Array(k > 0 ? utf8SeqLen(lead[0]) : 0);
    this.seq.set(lead);
    this.groups = k > 0 ? groupsFor(tok, lead, sinceText) : null;
  }

  /** Null when the tail ends with a whole character (or an invalid byte): no token completes one. */
  private readonly groups: CompletionGroups | null;

  /**
   * For a tail that is not valid UTF-8, split by a pre-tokenizer with character classes that adds
   * no prefix space; else null. With a normalizer the tail's marked text must be normalized, and
   * so must each completion (see group); the marker characters of invalid bytes are private-use
   * starters that nothing composes with.
   */
  static of(tok: Tokenizer, tail: Uint8Array): MidCharTail | null {
    const cc = tok.charClasses;
    if (tok.addsPrefixSpace || cc === null || utf8DecodeIfValid(tail) !== null) return null;
    const k = incompleteUtf8Tail(tail);
    const head = tail.subarray(0, tail.length - k);
    // A leading U+FEFF takes the bytes path (as RowValidity's tail text does).
    if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return null;
    const text = tok.markedText(head);
    if (!tok.isNormalized(text)) return null;
    const marked = tok.markedText(tail);
    if (!tok.isNormalized(marked)) return null;
    return new MidCharTail(tok, k, guardSince(text), guardSince(marked), text, marked, tail.subarray(tail.length - k));
  }

  /**
   * The group of token t (bytes tb) among this tail's candidates: NOT_COMPLETING when its bytes do
   * not complete the character (then the text is marked(tail) + marked(τ), grouped by τ's own class
   * sequence after marked(tail)), NOT_KEPT when they do but the normalizer would change T + the
   * completion (its split is the bytes' own), else the id of its completion's class sequence after
   * T (see completionOf). Tails with the same incomplete character and guard distance share the
   * table, so each token's completion is made once, not once per row.
   */
  groupOf(t: number, tb: Uint8Array): number {
    const groups = this.groups;
    if (groups === null) return NOT_COMPLETING;
    const g = groups.of[t];
    return g !== UNKNOWN ? g : (groups.of[t] = this.group(groups, tb));
  }

  /** A completion (ch + marked(rest of τ)) of group g: what follows T in the split text. */
  completionOf(g: number): string {
    return this.groups!.reps[g];
  }

  private group(groups: CompletionGroups, tb: Uint8Array): number {
    const seq = this.seq;
    const need = seq.length - this.k;
    if (tb.length < need) return NOT_COMPLETING;
    for (let i = 0; i < need; i++) seq[this.k + i] = tb[i];
    if (validSeqLen(seq, 0) !== seq.length) return NOT_COMPLETING;
    const ch = this.tok.markedText(seq);
    const completion = tb.length > need ? ch + this.tok.markedText(tb.subarray(need)) : ch;
    // T is normalized, so T + completion is when the completion stays normalized after it.
    if (!this.tok.keepsNormalizedAfter(completion)) return NOT_KEPT;
    const key = this.tok.charClasses!.key(completion, this.sinceText);
    let id = groups.ids.get(key);
    if (id === undefined) {
      groups.ids.set(key, (id = groups.reps.length));
      groups.reps.push(completion);
    }
    return id;
  }
}

/** MidCharTail.groupOf: τ does not complete the character. */
export const NOT_COMPLETING = -1;
/** MidCharTail.groupOf: τ completes it, but the normalizer would rewrite the text. */
export const NOT_KEPT = -2;
const UNKNOWN = -3;

/** Groups of one incomplete character and guard distance: by token its group, by class key its id and a completion. */
interface CompletionGroups {
  of: Int32Array;
  ids: Map<string, number>;
  reps: string[];
}

/** Tables kept per tokenizer (a vocabulary-size array each: a few, the most recent). */
const GROUP_TABLES = 16;
const groupTables = new WeakMap<Tokenizer, Map<string, CompletionGroups>>();

function groupsFor(tok: Tokenizer, lead: Uint8Array, sinceText: number): CompletionGroups {
  let m = groupTables.get(tok);
  if (!m) groupTables.set(tok, (m = new Map()));
  const key = `${lead.join(',')}|${sinceText}`;
  let g = m.get(key);
  if (g) {
    // Most recently used last.
    m.delete(key);
  } else {
    if (m.size >= GROUP_TABLES) m.delete(m.keys().next().value!);
    g = { of: new Int32Array(tok.vocabSize).fill(UNKNOWN), ids: new Map(), reps: [] };
  }
  m.set(key, g);
  return g;
}

/** CharClasses.key's guard distance after s (by code points: a marker character is a surrogate pair). */
function guardSince(s: string): number {
  let d = 1;
  for (let i = s.length; i > 0 && d <= 2; d++) {
    const lo = s.charCodeAt(i - 1);
    i -= i >= 2 && lo >= 0xdc00 && lo <= 0xdfff && (s.charCodeAt(i - 2) & 0xfc00) === 0xd800 ? 2 : 1;
    if (s.charCodeAt(i) === GUARD) return d;
  }
  return Infinity;
}
