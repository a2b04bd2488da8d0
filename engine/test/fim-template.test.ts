import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { buildPrompt, detectTemplate, FIM_CONVENTIONS } from '../src/fim/template';
import { trimPrefix, trimSuffix } from '../src/fim/budget';
import { bytesToByteLevel } from '../src/tokenizer/byte-level';
import { Tokenizer as T } from '../src/tokenizer/tokenizer';
import { modelDir } from './helpers';
import * as path from 'node:path';

/** A byte-level tokenizer whose added tokens are the given strings (ids 0..n-1). */
function withSpecials(specials: string[]): Tokenizer {
  const vocab: Record<string, number> = {};
  specials.forEach((s, i) => (vocab[s] = i));
  let id = specials.length;
  for (let b = 0; b < 256; b++) vocab[bytesToByteLevel(Uint8Array.of(b))] = id++;
  return T.fromJSON({
    added_tokens: specials.map((content, i) => ({ id: i, content, special: true })),
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, use_regex: true },
    model: { type: 'BPE', vocab, merges: [] },
  });
}

for (const conv of FIM_CONVENTIONS) {
  test(`detects the ${conv.name} FIM convention and builds PSM and SPM prompts`, () => {
    const tok = withSpecials([conv.eot[0], conv.prefix, conv.suffix, conv.middle]);
    const t = detectTemplate(tok, undefined);
    assert.equal(t.fim?.name, conv.name);
    assert.deepEqual([t.fim!.prefixId, t.fim!.suffixId, t.fim!.middleId], [1, 2, 3]);
    assert.ok(t.stopIds.has(0), 'end-of-text stops generation');
    const pre = tok.encode('a');
    const suf = tok.encode('b');
    assert.deepEqual(buildPrompt(t, pre, suf), [1, ...pre, 2, ...suf, 3]);
    const spm = detectTemplate(tok, undefined, { format: 'SPM' });
    assert.deepEqual(buildPrompt(spm, pre, suf), [1, 2, ...suf, 3, ...pre]);
  });
}

test('no FIM tokens: left-to-right prompt of the prefix', () => {
  const tok = withSpecials(['<|endoftext|>']);
  const t = detectTemplate(tok, undefined);
  assert.equal(t.fim, null);
  assert.deepEqual(buildPrompt(t, [7, 8], [9]), [7, 8]);
  assert.equal(detectTemplate(withSpecials(['<|endoftext|>', '<fim_prefix>', '<fim_suffix>', '<fim_middle>']), undefined, { disabled: true }).fim, null);
});

function bundledTemplate() {
  const tok = Tokenizer.fromFile(path.join(modelDir('tiny-code-b'), 'tokenizer.json'));
  return { tok, t: detectTemplate(tok, { prefix: '<fim_prefix>', suffix: '<fim_suffix>', middle: '<fim_middle>', eot: '<|endoftext|>', format: 'PSM' }, {}, 0) };
}

test("bundled models: config.json's fim section is used", () => {
  assert.equal(bundledTemplate().t.fim?.format, 'PSM');
});

test('bundled models: special-token strings in user text are neither stop ids nor special tokens', () => {
  const { tok, t } = bundledTemplate();
  const ids = tok.encode('x = "<fim_middle><|endoftext|>"');
  for (const id of ids) assert.ok(!t.stopIds.has(id) && !tok.isSpecial(id));
});

test('budgets trim the prefix at line starts and the suffix at line ends', () => {
  const tok = Tokenizer.fromFile(path.join(modelDir('tiny-code-b'), 'tokenizer.json'));
  const lines = Array.from({ length: 200 }, (_, i) => `value_${i} = compute(${i})\n`);
  const prefix = lines.join('') + 'result = val';
  const p = trimPrefix(tok, prefix, 50);
  assert.ok(tok.encode(p).length <= 50);
  assert.ok(p.endsWith('result = val'));
  assert.ok(prefix.endsWith(p) && (p.startsWith('value_') || p.startsWith('result')), 'starts at a line start');
  const s = trimSuffix(tok, lines.join(''), 40);
  assert.ok(tok.encode(s).length <= 40 && s.endsWith('\n') && lines.join('').startsWith(s));
  assert.equal(trimPrefix(tok, 'short', 50), 'short');
});
