import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { buildPreTokenizer } from '../src/tokenizer/pretokenizer';
import { utf8Encode } from '../src/tokenizer/utf8';
import { repoRoot } from './helpers';

const MODELS = ['tiny-code-a', 'tiny-code-b'];

// Texts that exercise the pre-tokenizers: code, Unicode, CRLF, contractions, digits, whitespace runs.
const TEXTS = [
  'def foo(x):\n    return x + 1\n',
  'for item in items:\n        conti',
  "it's we'll they'RE I'M don't 'S",
  'x = 12345678 + 3.14159e-10\n',
  'const s = "héllo wörld 中文 🙂 emoji";\r\n\tif (a !== b) { return; }  \n\n\n   ',
  '    \n\t\t  \r\n  x',
  'a  b   c    ',
  '<|endoftext|> and <fim_middle> are plain text here',
  '\u00a0nbsp\u3000ideographic\u2028sep\u0085nel\ufeffbom',
  'ÀÉÎõü ßẞ İı ǅ',
  '',
  ' ',
  '1',
  '##$$%%^^&&**(()) =>>= !==',
];

async function reference(modelDir: string) {
  const { Tokenizer: HF } = await import('@huggingface/tokenizers');
  const json = JSON.parse(fs.readFileSync(path.join(modelDir, 'tokenizer.json'), 'utf8'));
  return new HF(json, {});
}

for (const m of MODELS) {
  const dir = path.join(repoRoot, 'models', m);
  test(`${m}: encode matches @huggingface/tokenizers on code and Unicode`, async () => {
    const tok = Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
    const hf = await reference(dir);
    // Also held-out code from this repo's own sources: a few hundred lines.
    const src = fs.readFileSync(path.join(repoRoot, 'engine', 'src', 'tokenizer', 'tokenizer.ts'), 'utf8');
    const texts = [...TEXTS.filter((t) => !t.includes('<|') && !t.includes('<fim')), src];
    for (const t of texts) {
      const ours = tok.encode(t);
      const theirs = hf.encode(t, { add_special_tokens: false }).ids;
      assert.deepEqual(ours, theirs, `mismatch on ${JSON.stringify(t.slice(0, 60))}`);
    }
  });

  test(`${m}: decode(encode(x)) == x`, () => {
    const tok = Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
    for (const t of TEXTS) assert.equal(tok.decode(tok.encode(t)), t);
  });

  test(`${m}: special-token strings in text encode to ordinary tokens`, () => {
    const tok = Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
    for (const t of TEXTS) {
      for (const id of tok.encode(t)) assert.ok(!tok.isSpecial(id), `special id ${id} in ${JSON.stringify(t)}`);
    }
  });

  test(`${m}: the special tokens keep their ids (<fim_middle> = 2, id 0 special)`, () => {
    const tok = Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
    assert.equal(tok.tokenId('<fim_middle>'), 2);
    assert.ok(tok.isSpecial(0));
  });

  test(`${m}: every prefix of a multi-byte string (cut characters) round-trips as bytes`, () => {
    const tok = Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
    const full = utf8Encode('x = "中文🙂é"');
    for (let cut = 0; cut <= full.length; cut++) {
      const b = full.subarray(0, cut);
      assert.deepEqual(tok.decodeBytes(tok.encodeBytes(b)), b);
    }
  });

  test(`${m}: invalid UTF-8 round-trips as bytes`, () => {
    const tok = Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
    const junk = Uint8Array.from([0xff, 0x41, 0xc3, 0x20, 0x80, 0x80, 0xe4, 0xb8]);
    assert.deepEqual(tok.decodeBytes(tok.encodeBytes(junk)), junk);
  });

  test(`${m}: pieceStarts gives the byte offsets of the pre-tokenizer pieces`, () => {
    const tok = Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
    assert.deepEqual(tok.pieceStarts(utf8Encode('foo bar')), [0, 3]);
  });
}

test('pieces of random bytes, valid UTF-8 or not, are the pre-tokenizer pieces of their text (invalid bytes as markers)', () => {
  const tok = Tokenizer.fromFile(path.join(repoRoot, 'models', 'tiny-code-b', 'tokenizer.json'));
  // Characters of every length, cut characters, stray continuations, overlong, surrogate and
  // out-of-range sequences, a BOM.
  const frags = [[0x41], [0x20], [0x0a], [0x27], [0x31], [0xc3, 0xa9], [0xe4, 0xb8, 0xad], [0xf0, 0x9f, 0x99, 0x82], [0xc3], [0x80], [0xe4, 0xb8], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xff], [0xef, 0xbb, 0xbf]];
  const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const MARKER = 0x10ff00;
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  let invalid = 0;
  for (let s = 0; s < 500; s++) {
    const bytes = Uint8Array.from(Array.from({ length: 1 + Math.floor(rnd() * 12) }, () => frags[Math.floor(rnd() * frags.length)]).flat());
    let text: string;
    try {
      text = fatal.decode(bytes);
    } catch {
      text = tok.markedText(bytes);
      invalid++;
    }
    // The pieces in characters (splitOffsets counts a marker as its 4 UTF-8 bytes), then in input bytes.
    const chars = Array.from(text);
    const at = new Map<number, number>();
    let off = 0;
    chars.forEach((c, i) => (at.set(off, i), (off += utf8Encode(c).length)));
    const starts = tok.splitOffsets(text).map((o) => at.get(o)!);
    const want = starts.map((a, k) => chars.slice(a, starts[k + 1] ?? chars.length).flatMap((c) => (c.codePointAt(0)! >= MARKER ? [c.codePointAt(0)! - MARKER] : Array.from(utf8Encode(c)))));
    assert.deepEqual(tok.pieces(bytes).map((p) => Array.from(p)), want, `bytes ${Array.from(bytes)}`);
  }
  assert.ok(invalid > 100 && invalid < 500, `${invalid} invalid of 500`);
});

test('lone surrogates are encoded as U+FFFD, not a crash', () => {
  const tok = Tokenizer.fromFile(path.join(repoRoot, 'models', 'tiny-code-b', 'tokenizer.json'));
  assert.equal(tok.decode(tok.encode('a\ud800b')), 'a\ufffdb');
});

test('unsupported tokenizer types fail with a clear error', () => {
  assert.throws(() => Tokenizer.fromJSON({ model: { type: 'Unigram', vocab: [] } }), /only byte-level BPE/);
  const tmp = fs.mkdtempSync('/tmp/bf-tok-');
  fs.writeFileSync(path.join(tmp, 'tokenizer.json'), '{not json');
  assert.throws(() => Tokenizer.fromFile(path.join(tmp, 'tokenizer.json')), /not valid JSON/);
});

test('piece starts (no piece strings) equal the starts of the split pieces, for patterns that leave gaps', () => {
  const patterns = ['\\d+', 'a+', "'s|'t| ?\\p{L}+| ?\\p{N}+", '\\s+(?!\\S)|\\s+'];
  const texts = [...TEXTS, '12ab345 c6', 'aaa bab  a', "it's 42 x", '🙂a🙂1', '   \n  x  '];
  let gaps = 0;
  for (const p of patterns) {
    const pre = buildPreTokenizer({ type: 'Split', pattern: { Regex: p }, behavior: 'Isolated', invert: false });
    for (const t of texts) {
      const want: number[] = [];
      let off = 0;
      for (const piece of pre.split(t)) want.push(off), (off += piece.length);
      assert.deepEqual(pre.starts(t), want, `pattern ${p} text ${JSON.stringify(t)}`);
      if (want.length > 0 && !new RegExp(`^(?:${p})`, 'u').test(t)) gaps++;
    }
  }
  assert.ok(gaps > 0, 'some texts start with a gap');
});

for (const [name, file] of [
  ['tiny-code-a', path.join(repoRoot, 'models', 'tiny-code-a', 'tokenizer.json')],
  ['llama3', path.join(repoRoot, 'node_modules', '@lenml', 'tokenizer-llama3', 'models', 'tokenizer.json')],
  ['deepseek-v3', path.join(repoRoot, 'node_modules', '@lenml', 'tokenizer-deepseek_v3', 'models', 'tokenizer.json')],
]) {
  test(`${name}: markedSplitOffsets of the marked text equals the piece starts of random bytes, valid UTF-8 or not`, () => {
    const tok = Tokenizer.fromFile(file);
    const frags = [[0x41], [0x20], [0x0a], [0x27], [0x31], [0xc3, 0xa9], [0xe4, 0xb8, 0xad], [0xf0, 0x9f, 0x99, 0x82], [0xc3], [0x80], [0xe4, 0xb8], [0xed, 0xa0, 0x80], [0xff]];
    let seed = 11;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    let multi = 0;
    for (let s = 0; s < 400; s++) {
      const bytes = Uint8Array.from(Array.from({ length: 1 + Math.floor(rnd() * 12) }, () => frags[Math.floor(rnd() * frags.length)]).flat());
      const want = tok.pieceStartsIfUnchanged(bytes);
      assert.deepEqual(tok.markedSplitOffsets(tok.markedText(bytes)), want, `bytes ${Array.from(bytes)}`);
      if (want && want.length > 1) multi++;
    }
    assert.ok(multi > 100, `${multi} of 400 with several pieces`);
  });
}

test('splitOffsets (piece starts without piece strings) equals the UTF-8 offsets of the pieces of split', () => {
  const lenml = (name: string) => path.join(repoRoot, 'node_modules', '@lenml', `tokenizer-${name}`, 'models', 'tokenizer.json');
  // One pattern (Qwen3: a Split and a ByteLevel without its own), several (Llama-3, DeepSeek-V3), the bundled ones.
  const files = [...MODELS.map((m) => path.join(repoRoot, 'models', m, 'tokenizer.json')), lenml('qwen3'), lenml('llama3'), lenml('deepseek_v3')];
  const texts = [...TEXTS, 'a\ud800b \ud83d', '\u{10ff41}\u{10ff80} marked bytes', 'x'.repeat(200) + ' y'.repeat(100)];
  let pieces = 0;
  for (const file of files) {
    const tok = Tokenizer.fromFile(file);
    const pre = buildPreTokenizer(JSON.parse(fs.readFileSync(file, 'utf8')).pre_tokenizer);
    for (const text of texts) {
      let off = 0;
      const want: number[] = [];
      for (const p of pre.split(text)) want.push(off), (off += utf8Encode(p).length);
      assert.deepEqual(tok.splitOffsets(text), want, `${path.basename(path.dirname(path.dirname(file)))} ${JSON.stringify(text)}`);
      pieces += want.length;
    }
  }
  assert.ok(pieces > 500, `${pieces} pieces`);
});
