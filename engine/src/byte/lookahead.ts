// Where token boundaries can move once more text follows (byte-level BPE with regex
// pre-tokenizers that look ahead, like `\s+(?!\S)`), and the token sequences that are valid
// because of it. Shared by single-model byte mode (cover-tree) and the ensembles' byte streams.
import { Tokenizer } from '../tokenizer/tokenizer';
import { concatBytes, incompleteUtf8Tail, utf8DecodeLenient, utf8Encode } from '../tokenizer/utf8';

const MAX_TAILS = 4096;

/**
 * Whether ids ++ [token] can start the tokenization of some text beginning with tail ++
 * bytes(token): enc(tail ++ bytes(token)) == ids ++ [token], or, when the token ends in
 * whitespace (whose split depends on what follows), enc(tail ++ bytes(token) ++ X) starts with it
 * for some probe continuation X. Such a cover is a prefix of valid sequences even though, as a
 * whole, it is not canonical ("\n" then "\n" before "def" under GPT-2's pattern).
 */
export function extendable(tok: Tokenizer, tail: Uint8Array, ids: number[], token: number, tb: Uint8Array, lookahead: boolean): boolean {
  const text = concatBytes(tail, tb);
  if (startsWithCover(tok.encodeBytes(text), ids, token, true)) return true;
  if (!lookahead || !probed(tb)) return false;
  for (const x of PROBES) if (startsWithCover(tok.encodeBytes(concatBytes(text, x)), ids, token, false)) return true;
  return false;
}

/**
 * The probe rule of extendable for one probe continuation (PROBE_TEXTS[k]): enc(tail ++ bytes(token)
 * ++ X) starts with ids ++ [token], for a token ending in whitespace (false for any other).
 */
export function extendsWithProbe(tok: Tokenizer, tail: Uint8Array, ids: number[], token: number, tb: Uint8Array, k: number): boolean {
  return probed(tb) && startsWithCover(tok.encodeBytes(concatBytes(concatBytes(tail, tb), PROBES[k])), ids, token, false);
}

/** The token's bytes end in whitespace: the probe rule applies. */
function probed(tb: Uint8Array): boolean {
  return tb.length > 0 && WS_CHAR.test(utf8DecodeLenient(tb.subarray(Math.max(0, tb.length - 3))).slice(-1));
}

/** enc is ids ++ [token] (exact), or starts with it. */
function startsWithCover(enc: number[], ids: number[], token: number, exact: boolean): boolean {
  if (exact ? enc.length !== ids.length + 1 : enc.length < ids.length + 1) return false;
  if (enc[ids.length] !== token) return false;
  for (let i = 0; i < ids.length; i++) if (enc[i] !== ids[i]) return false;
  return true;
}

/** The first tokens of `ids` that cover exactly `c` bytes, or null when no token boundary is at c. */
export function tokensBefore(tok: Tokenizer, ids: number[], c: number): number[] | null {
  let off = 0;
  let k = 0;
  while (k < ids.length && off < c) off += tok.tokenBytes(ids[k++]).length;
  return off === c ? ids.slice(0, k) : null;
}

/** Continuations that probe how a trailing whitespace run is split: one per character class. */
export const PROBE_TEXTS: readonly string[] = Array.from({ length: 0x7f - 0x21 }, (_, i) => String.fromCharCode(0x21 + i)).concat(['é', 'λ', '中', '\u00a0']);
const PROBES = PROBE_TEXTS.map((c) => new TextEncoder().encode(c));
const altCaches = new WeakMap<Tokenizer, Map<string, number[][]>>();

/**
 * Tokenizations of `tail` (an unstable tail: the last piece, or a trailing whitespace run) other
 * than enc(tail) that continuations produce: for each probe character X, the tokens of
 * enc(tail ++ X) before |tail| when a token boundary falls there. Only tails ending in whitespace
 * can have any. Cached per tokenizer.
 */
export function altTails(tok: Tokenizer, tail: Uint8Array): number[][] {
  if (tail.length === 0 || !WS_CHAR.test(utf8DecodeLenient(tail.subarray(Math.max(0, tail.length - 3))).slice(-1))) return [];
  let m = altCaches.get(tok);
  if (!m) altCaches.set(tok, (m = new Map()));
  const key = String.fromCharCode(...tail);
  let alts = m.get(key);
  if (!alts) {
    const canon = tok.encodeBytes(tail).join(',');
    const seen = new Map<string, number[]>();
    for (const x of PROBES) {
      const ids = tokensBefore(tok, tok.encodeBytes(concatBytes(tail, x)), tail.length);
      if (!ids) continue;
      const k = ids.join(',');
      if (k !== canon && !seen.has(k)) seen.set(k, ids);
    }
    alts = [...seen.values()];
    if (m.size >= MAX_TAILS) m.clear();
    m.set(key, alts);
  }
  return alts;
}

// ---------------------------------------------------------------- stable boundaries

const WS_CHAR = /[\t\n\v\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]/u;

/** An ASCII whitespace byte (space, \t \n \v \f \r). */
export function isAsciiSpace(b: number): boolean {
  return b === 0x20 || (b >= 0x09 && b <= 0x0d);
}

/** Byte offset where the trailing run of whitespace characters starts (length if none). */
export function trailingWhitespaceStart(b: Uint8Array): number {
  // ASCII at the end (the usual case): the run is read off the bytes; a non-ASCII byte before the
  // run's first byte is decoded with the rest below.
  let i = b.length;
  while (i > 0 && isAsciiSpace(b[i - 1])) i--;
  if (i === 0 || b[i - 1] < 0x80) return i;
  const s = utf8DecodeLenient(b);
  const chars = Array.from(s);
  let k = chars.length;
  while (k > 0 && WS_CHAR.test(chars[k - 1])) k--;
  const tail = chars.slice(k).join('');
  return b.length - utf8Encode(tail).length;
}

/**
 * The largest pre-token piece start c > 0 of `bytes` that no continuation can move: all pieces
 * before c are final, so every valid tokenization of any extension starts with enc(bytes[:c]).
 * 0 when there is none. The last piece always stays pending. Also held back (for the GPT-2 and
 * Llama-3 style split patterns of byte-level BPE):
 *  - boundaries inside the trailing whitespace run: a later newline can merge the run into one
 *    piece (`\s*[\r\n]+`), and `\s+(?!\S)` moves the last space onto the next word;
 *  - the boundary right after a lone apostrophe piece: "'" + "r" becomes "'re" (contractions);
 *  - an incomplete UTF-8 tail is ignored (the character it starts may join the last piece).
 */
export function stableCommitPoint(tok: Tokenizer, bytes: Uint8Array): number {
  const n = bytes.length - incompleteUtf8Tail(bytes);
  if (n <= 0) return 0;
  const b = bytes.subarray(0, n);
  const starts = tok.pieceStarts(b);
  if (starts.length < 2) return 0;
  const wsStart = trailingWhitespaceStart(b);
  for (let k = starts.length - 1; k >= 1; k--) {
    const c = starts[k];
    if (c > wsStart) continue;
    if (c - starts[k - 1] === 1 && b[c - 1] === 0x27) continue;
    return c;
  }
  return 0;
}

