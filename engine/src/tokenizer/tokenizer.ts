// A tokenizer.json (Hugging Face) byte-level BPE tokenizer: normalizer -> pre-tokenizer -> BPE.
// User text is always encoded as plain text: special-token strings in it stay text. Our own
// implementation (checked against @huggingface/tokenizers in the tests) because the byte layer
// needs the pre-tokenizer's piece boundaries and a fast encode of short byte strings.
import { BytefillError } from '../core/types';
import { modelFileLimit } from '../core/limits';
import { readJsonFile } from '../core/json-file';
import { byteLevelToBytes } from './byte-level';
import { BpeModel } from './bpe';
import { isControlTokenText } from './control-tokens';
import { buildPreTokenizer, PreTokenizer } from './pretokenizer';
import { CharClasses } from './char-class';
import { utf8DecodeIfValid, utf8DecodeLenient, utf8Encode, validSeqLen } from './utf8';
import { validateTokenizerJson } from './validate-json';

/**
 * UTF-8 length of s[from, to) (lone surrogates count as U+FFFD, 3 bytes, as TextEncoder writes
 * them); with `marked`, a marker character (see INVALID_BYTE_BASE) counts as its one byte.
 */
function utf8Length(s: string, from = 0, to = s.length, marked = false): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < to && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += marked && c === 0xdbff && s.charCodeAt(i + 1) >= 0xdf00 ? 1 : 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * The pieces' UTF-8 byte offsets from their UTF-16 starts in s (each piece measured on its own, as
 * utf8Length of the piece string), rewritten in place, and the end (s's UTF-8 length) pushed last.
 */
function utf8Offsets(s: string, starts: number[], marked = false): number[] {
  let off = 0;
  for (let k = 0; k < starts.length; k++) {
    const from = starts[k];
    starts[k] = off;
    off += utf8Length(s, from, k + 1 < starts.length ? starts[k + 1] : s.length, marked);
  }
  starts.push(off);
  return starts;
}

// Invalid UTF-8 bytes are carried through the regex split as code points of this private-use
// range (one per byte) and mapped back afterwards; they behave like punctuation in the patterns.
const INVALID_BYTE_BASE = 0x10ff00;

export interface AddedToken {
  id: number;
  content: string;
  /** Marked special in tokenizer.json, or a control token by its text (see control-tokens.ts). */
  special: boolean;
}

export class Tokenizer {
  readonly vocabSize: number;
  readonly added: AddedToken[];
  private readonly idToBytes: Uint8Array[];
  /** 1 where the id is in the vocabulary or an added token (0: a gap in the id range). */
  private readonly known: Uint8Array;
  private readonly specialSet: Set<number>;
  private readonly addedByContent: Map<string, number>;
  private readonly normalize: ((s: string) => string) | null;

  private constructor(
    private readonly pre: PreTokenizer,
    /** The BPE model (merge ranks: the byte layer decides token validity from them). */
    readonly bpe: BpeModel,
    added: AddedToken[],
    normalize: ((s: string) => string) | null,
  ) {
    this.added = added;
    this.normalize = normalize;
    let max = -1;
    for (const id of bpe.vocab.values()) max = Math.max(max, id);
    for (const t of added) max = Math.max(max, t.id);
    this.vocabSize = max + 1;
    this.idToBytes = new Array(this.vocabSize).fill(new Uint8Array(0));
    this.known = new Uint8Array(this.vocabSize);
    for (const [tok, id] of bpe.vocab) {
      const b = byteLevelToBytes(tok);
      if (b) this.idToBytes[id] = b;
      this.known[id] = 1;
    }
    this.addedByContent = new Map();
    this.specialSet = new Set();
    for (const t of added) {
      this.idToBytes[t.id] = utf8Encode(t.content);
      this.addedByContent.set(t.content, t.id);
      this.known[t.id] = 1;
      if (t.special) this.specialSet.add(t.id);
    }
  }

  static fromFile(path: string): Tokenizer {
    // Bounded, regular-file-only read; the JSON error names the position, not the text.
    const json = readJsonFile(path, modelFileLimit('tokenizer.json'), 'Tokenizer file');
    try {
      return Tokenizer.fromJSON(json);
    } catch (e) {
      if (e instanceof BytefillError) throw new BytefillError(e.code, `${path}: ${e.message}`);
      throw new BytefillError('MODEL_INVALID', `Tokenizer file ${path} is not usable: ${(e as Error).message}`);
    }
  }

  static fromJSON(json: any): Tokenizer {
    validateTokenizerJson(json);
    const model = json?.model;
    if (!model || model.type !== 'BPE' || typeof model.vocab !== 'object') {
      throw new BytefillError('UNSUPPORTED', `only byte-level BPE tokenizers are supported (model type '${model?.type}')`);
    }
    if (model.byte_fallback) throw new BytefillError('UNSUPPORTED', 'SentencePiece-style byte_fallback BPE is not supported');
    const vocab = new Map<string, number>(Object.entries(model.vocab as Record<string, number>));
    const bpe = new BpeModel(vocab, model.merges ?? [], !!model.ignore_merges);
    const added: AddedToken[] = (json.added_tokens ?? []).map((t: any) => ({ id: t.id, content: t.content, special: !!t.special || isControlTokenText(String(t.content)) }));
    return new Tokenizer(buildPreTokenizer(json.pre_tokenizer), bpe, added, buildNormalizer(json.normalizer));
  }

  /**
   * Whether pre-tokenization can change bytes (a normalizer, or a prefix space): then piece
   * boundaries do not map onto input offsets one to one.
   */
  get rewritesText(): boolean {
    return !!this.normalize || this.pre.addPrefixSpace;
  }

  tokenBytes(id: number): Uint8Array {
    return this.idToBytes[id];
  }

  /** Whether `id` is a vocabulary entry or an added token (false for gaps and ids >= vocabSize). */
  hasId(id: number): boolean {
    return id >= 0 && id < this.vocabSize && this.known[id] === 1;
  }

  isSpecial(id: number): boolean {
    return this.specialSet.has(id);
  }

  get specialIds(): ReadonlySet<number> {
    return this.specialSet;
  }

  /** Id of an added token or vocabulary entry by its exact string, if any. */
  tokenId(content: string): number | undefined {
    return this.addedByContent.get(content) ?? this.bpe.vocab.get(content);
  }

  /** Encodes plain text: special-token strings inside it are ordinary text. */
  encode(text: string): number[] {
    return this.encodeBytes(utf8Encode(text));
  }

  encodeBytes(bytes: Uint8Array): number[] {
    const ids: number[] = [];
    for (const piece of this.pieces(bytes)) for (const id of this.bpe.encodePiece(piece)) ids.push(id);
    return ids;
  }

  /** Pre-token pieces of a byte string (concatenation = input, after normalisation). */
  pieces(bytes: Uint8Array): Uint8Array[] {
    if (bytes.length === 0) return [];
    const text = utf8DecodeIfValid(bytes);
    // Invalid UTF-8 (e.g. a cursor inside a character): carry bad bytes through as markers.
    if (text === null) return this.splitText(decodeMarkingInvalid(bytes)).map(encodeMarked);
    if (this.normalize || this.pre.addPrefixSpace) return this.splitText(text).map((p) => utf8Encode(p));
    // Common case: slice the input bytes at the pieces' character boundaries (no re-encoding).
    const offs = utf8Offsets(text, this.pre.starts(text));
    const out: Uint8Array[] = new Array(offs.length - 1);
    for (let k = 0; k + 1 < offs.length; k++) out[k] = bytes.subarray(offs[k], offs[k + 1]);
    return out;
  }

  private splitText(text: string): string[] {
    if (this.normalize) text = this.normalize(text);
    if (this.pre.addPrefixSpace && !text.startsWith(' ')) text = ' ' + text;
    return this.pre.split(text);
  }

  /** Byte offsets at which pre-token pieces start (always includes 0 for non-empty input). */
  pieceStarts(bytes: Uint8Array): number[] {
    const starts: number[] = [];
    let off = 0;
    for (const p of this.pieces(bytes)) {
      starts.push(off);
      off += p.length;
    }
    return starts;
  }

  /**
   * UTF-8 byte offsets of the pre-token pieces of `text`, split as it is (no normalisation, no
   * prefix space): for callers that know those would not change it (ASCII text, or a tokenizer
   * without them).
   */
  splitOffsets(text: string): number[] {
    const offs = utf8Offsets(text, this.pre.starts(text));
    offs.pop();
    return offs;
  }

  /**
   * pieceStartsIfUnchanged of the bytes whose markedText is `text`, for text the tokenizer leaves
   * as it is (no prefix space; normalized, where there is a normalizer): the piece starts of the
   * text as byte offsets, a marker character being its one byte (no decoding or encoding of the pieces).
   */
  markedSplitOffsets(text: string): number[] {
    const offs = utf8Offsets(text, this.pre.starts(text), true);
    offs.pop();
    return offs;
  }

  /**
   * The string the pre-tokenizer splits for bytes that are not valid UTF-8 on their own: invalid
   * bytes become marker characters (what pieces() does). Valid UTF-8 gives its plain text.
   */
  markedText(bytes: Uint8Array): string {
    return decodeMarkingInvalid(bytes);
  }

  /** The tokenizer normalizes text before splitting. */
  get hasNormalizer(): boolean {
    return !!this.normalize;
  }

  /** Whether the normalizer leaves `text` as it is (always, without a normalizer). */
  isNormalized(text: string): boolean {
    return !this.normalize || this.normalize(text) === text;
  }

  /**
   * Whether `text` stays as it is after any normalized text: normalized itself, and its first
   * character cannot combine with or reorder against the character before it (a combining mark -
   * every character with a non-zero combining class is one - or a Hangul jamo vowel or trailing
   * consonant, which compose with a preceding syllable). Normalization reaches back no further than
   * such a character, so a normalized text followed by this one is normalized. Always true without
   * a normalizer.
   */
  keepsNormalizedAfter(text: string): boolean {
    return !this.normalize || (!COMBINES_BACKWARD.test(text) && this.normalize(text) === text);
  }

  /**
   * The pre-tokenizer's character classes (see char-class.ts): splitOffsets of two strings with the
   * same class key start pieces at the same character offsets. Null when its patterns have none.
   */
  get charClasses(): CharClasses | null {
    if (this.classes === undefined) this.classes = CharClasses.of(this.pre.patterns);
    return this.classes;
  }
  private classes: CharClasses | null | undefined;

  /** A prefix space is added before splitting (offsets of pieces are not input offsets). */
  get addsPrefixSpace(): boolean {
    return this.pre.addPrefixSpace;
  }

  /**
   * Piece starts of `bytes` when the pieces are exactly the input bytes; null when normalisation
   * or a prefix space changed them (then offsets in the pieces are not offsets in the input).
   */
  pieceStartsIfUnchanged(bytes: Uint8Array): number[] | null {
    const ps = this.pieces(bytes);
    const starts: number[] = [];
    let off = 0;
    for (const p of ps) {
      if (this.rewritesText) {
        if (off + p.length > bytes.length) return null;
        for (let i = 0; i < p.length; i++) if (p[i] !== bytes[off + i]) return null;
      }
      starts.push(off);
      off += p.length;
    }
    return off === bytes.length ? starts : null;
  }

  decodeBytes(ids: readonly number[], opts: { skipSpecial?: boolean } = {}): Uint8Array {
    let n = 0;
    for (const id of ids) if (!(opts.skipSpecial && this.specialSet.has(id))) n += this.idToBytes[id]?.length ?? 0;
    const out = new Uint8Array(n);
    let o = 0;
    for (const id of ids) {
      if (opts.skipSpecial && this.specialSet.has(id)) continue;
      const b = this.idToBytes[id];
      if (b) {
        out.set(b, o);
        o += b.length;
      }
    }
    return out;
  }

  decode(ids: readonly number[], opts: { skipSpecial?: boolean } = {}): string {
    return utf8DecodeLenient(this.decodeBytes(ids, opts));
  }

  /** The bytes of every id (for tries over the vocabulary); special tokens get an empty array. */
  normalTokenBytes(): Uint8Array[] {
    return this.idToBytes.map((b, id) => (this.specialSet.has(id) ? new Uint8Array(0) : b));
  }
}

function buildNormalizer(cfg: any): ((s: string) => string) | null {
  if (!cfg) return null;
  switch (cfg.type) {
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD':
      return (s) => s.normalize(cfg.type);
    case 'Sequence': {
      const fs = (cfg.normalizers as any[]).map(buildNormalizer).filter((f): f is (s: string) => string => !!f);
      return fs.length ? (s) => fs.reduce((acc, f) => f(acc), s) : null;
    }
    default:
      throw new BytefillError('UNSUPPORTED', `normalizer type '${cfg.type}' is not supported`);
  }
}

/** A first character that normalization can combine with or reorder against what precedes it (see keepsNormalizedAfter). */
const COMBINES_BACKWARD = /^[\p{M}\u1100-\u11FF]/u;

function decodeMarkingInvalid(bytes: Uint8Array): string {
  const text = utf8DecodeIfValid(bytes);
  if (text !== null) return text;
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const len = validSeqLen(bytes, i);
    if (len > 0) {
      // The code point of a valid sequence (what a decoder gives), without a decoder call per character.
      let cp = len === 1 ? bytes[i] : bytes[i] & (0x7f >> len);
      for (let k = 1; k < len; k++) cp = (cp << 6) | (bytes[i + k] & 0x3f);
      out += String.fromCodePoint(cp);
      i += len;
    } else {
      out += String.fromCodePoint(INVALID_BYTE_BASE + bytes[i]);
      i++;
    }
  }
  return out;
}

function encodeMarked(piece: string): Uint8Array {
  const parts: number[] = [];
  for (const ch of piece) {
    let cp = ch.codePointAt(0)!;
    if (cp >= INVALID_BYTE_BASE && cp < INVALID_BYTE_BASE + 256) parts.push(cp - INVALID_BYTE_BASE);
    else {
      // UTF-8 by hand (a lone surrogate as U+FFFD, as TextEncoder writes it).
      if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
      if (cp < 0x80) parts.push(cp);
      else if (cp < 0x800) parts.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
      else if (cp < 0x10000) parts.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
      else parts.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    }
  }
  return Uint8Array.from(parts);
}

