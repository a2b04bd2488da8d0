// A row tail that ends inside a UTF-8 character (the pending bytes stop after 1-3 bytes of one):
// the pre-tokenizer's split of tail ++ bytes(τ), grouped so that it runs once per group of
// candidates instead of once per candidate (byte/validity.ts, RowValidity.fast).
//
// The split sees tail ++ bytes(τ) as text with every invalid byte a marker character
// (Tokenizer.markedText). With T the tail's complete characters and P its last, incomplete ones:
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
    /** T, the tail's complete characters. */
    readonly text: string,
    /** marked(tail). */
    readonly marked: string,
    lead: Uint8Array,
  ) {
    this.seq = new Uint8Array(utf8SeqLen(lead[0]));
    this.seq.set(lead);
  }

  /**
   * For a tail that is valid UTF-8 but for an incomplete last character, split as it stands (no
   * normalizer, no prefix space) by a pre-tokenizer with character classes; else null.
   */
  static of(tok: Tokenizer, tail: Uint8Array): MidCharTail | null {
    const k = incompleteUtf8Tail(tail);
    const cc = tok.charClasses;
    if (k === 0 || tok.rewritesText || cc === null) return null;
    const head = tail.subarray(0, tail.length - k);
    // A leading U+FEFF takes the bytes path (as RowValidity's tail text does).
    if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return null;
    const text = utf8DecodeIfValid(head);
    if (text === null) return null;
    const marked = tok.markedText(tail);
    return new MidCharTail(tok, k, guardSince(text), guardSince(marked), text, marked, tail.subarray(tail.length - k));
  }

  /**
   * When a token's bytes complete the character: ch + marked(rest), what follows T in the split
   * text. Null when they do not (then it is marked(tail) + marked(τ), grouped by τ's own class
   * sequence after marked(tail)).
   */
  completion(tb: Uint8Array): string | null {
    const seq = this.seq;
    const need = seq.length - this.k;
    if (tb.length < need) return null;
    for (let i = 0; i < need; i++) seq[this.k + i] = tb[i];
    if (validSeqLen(seq, 0) !== seq.length) return null;
    const ch = this.tok.markedText(seq);
    return tb.length > need ? ch + this.tok.markedText(tb.subarray(need)) : ch;
  }

  /** The group of a completion: its class sequence after T. */
  completionKey(completion: string): string {
    return this.tok.charClasses!.key(completion, this.sinceText);
  }
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
