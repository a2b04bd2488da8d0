// Pre-tokenizer patterns from tokenizer.json cannot freeze us: catastrophic shapes are rejected
// (statically or by the load-time probe, within a time bound), every real pattern we support is
// accepted and still splits like before.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BytefillError } from '../src/index';
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { GPT2_PATTERN, onigToJs } from '../src/tokenizer/regex';
import { checkPatternShape, probeSplit } from '../src/tokenizer/regex-safety';
import { buildPreTokenizer } from '../src/tokenizer/pretokenizer';
import { repoRoot } from './helpers';

// Pre-tokenizer patterns of released tokenizers (tokenizer.json "pre_tokenizer" Split patterns).
const LLAMA3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
// (U+1F7D, U+1FD3, U+1FDB, U+2126, U+212A, U+1FBE are escaped: editors NFC-normalise them into other
// code points, which would put some ranges out of order.)
const DEEPSEEK_CODER = [
  '[\\r\\n]',
  '\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\u1F7Dᾀ-ᾴᾶ-ᾼ\u1FBEῂ-ῄῆ-ῌῐ-\u1FD3ῖ-\u1FDBῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\u2126ℨ\u212A-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+',
  '\\s?[!-/:-~！-／：-～‘-‟　-。]+',
  '\\s+$',
  '[一-龥ࠀ-一가-퟿]+',
  '\\p{N}+',
];
const DEEPSEEK_V3 = [
  '\\p{N}{1,3}',
  '[一-龥぀-ゟ゠-ヿ]+',
  "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
];
const GPT4O =
  "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

function bundledPatterns(): string[] {
  const out: string[] = [];
  const visit = (c: any) => {
    if (!c) return;
    if (c.type === 'Split' && c.pattern?.Regex) out.push(c.pattern.Regex);
    for (const x of c.pretokenizers ?? []) visit(x);
  };
  for (const m of ['tiny-code-a', 'tiny-code-b']) visit(JSON.parse(fs.readFileSync(path.join(repoRoot, 'models', m, 'tokenizer.json'), 'utf8')).pre_tokenizer);
  return out;
}

const REAL: Array<[string, string]> = [
  ['GPT-2', GPT2_PATTERN],
  ['Llama-3', LLAMA3],
  ['Qwen2', QWEN2],
  ['GPT-4o', GPT4O],
  ...DEEPSEEK_CODER.map((p, i): [string, string] => [`DeepSeek-Coder #${i}`, p]),
  ...DEEPSEEK_V3.map((p, i): [string, string] => [`DeepSeek-V3 #${i}`, p]),
  ...bundledPatterns().map((p, i): [string, string] => [`bundled #${i}`, p]),
];

const splitWith = (pattern: string) => buildPreTokenizer({ type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false }).split;

test('every supported real pattern passes the static check and the probe', () => {
  assert.ok(REAL.length >= 12);
  for (const [name, p] of REAL) {
    assert.doesNotThrow(() => checkPatternShape(p), name);
    const re = onigToJs(p);
    assert.doesNotThrow(() => probeSplit((s) => s.match(re)), name);
  }
});

test('real patterns still split as before (concatenation is the input; Llama-3 splits digits by 3)', () => {
  const s = "def foo(x):\n    return 12345 + x  # it's\r\n\t中文🙂";
  for (const [name, p] of REAL) {
    const pieces = splitWith(p)(s);
    assert.equal(pieces.join(''), s, name);
  }
  assert.deepEqual(splitWith(LLAMA3)('12345'), ['123', '45']);
});

const BAD: Array<[string, RegExp]> = [
  ['(?:[a-z]+)+[0-9]', /repeated group at character 0 contains a quantifier/],
  ["(?:[a-z]+)+[0-9]|'s|\\s+", /repeated group at character 0/],
  ['(a+)+b', /repeated group/],
  ['(a|a)*b', /repeated group/],
  ['(a|ab)*c', /repeated group/],
  ['(\\s*)*x', /repeated group/],
  ['(?:a*)*', /repeated group/],
  ['(.*a){12}', /repeated group/],
  ['(a?){25}a{25}', /repeated group/],
  ['(x+x+)+y', /repeated group/],
  ['x(?:(?:ab)+c?)+', /repeated group at character 1/],
  ['\\w*\\w*\\w*\\w*!', /4 unbounded quantifiers in one sequence/],
  ['(a)\\1', /backreference/],
  ['(?<n>a)\\k<n>', /backreference/],
  ['a'.repeat(5000), /over the limit of 4096/],
];

test('catastrophic shapes are rejected by the static check, naming where', () => {
  for (const [p, re] of BAD) assert.throws(() => checkPatternShape(p), re, p.slice(0, 40));
});

test('a polynomial pattern that passes the shape check is stopped by the probe within a bound', () => {
  const p = '[a-z]*[a-z]*[a-z]*1';
  assert.doesNotThrow(() => checkPatternShape(p));
  const t = Date.now();
  assert.throws(() => splitWith(p), (e: BytefillError) => e.code === 'MODEL_INVALID' && /probe \(budget 100 ms\)/.test(e.message));
  assert.ok(Date.now() - t < 30_000, `probe stopped after ${Date.now() - t} ms`);
});

test("a tokenizer.json with the catastrophic pattern fails to load, quickly, and names the pre-tokenizer", () => {
  const json = JSON.parse(fs.readFileSync(path.join(repoRoot, 'models', 'tiny-code-b', 'tokenizer.json'), 'utf8'));
  json.pre_tokenizer.pretokenizers[0].pattern.Regex = "(?:[a-z]+)+[0-9]|'s|\\s+|.";
  const t = Date.now();
  assert.throws(() => Tokenizer.fromJSON(json), (e: BytefillError) => {
    assert.equal(e.code, 'MODEL_INVALID');
    assert.match(e.message, /^pre_tokenizer Split pattern rejected: the repeated group at character 0/);
    return true;
  });
  assert.ok(Date.now() - t < 5000);
});
