import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  editSimilarity,
  exactMatch,
  firstLineExactMatch,
  identifierContinuation,
  levenshtein,
  prefixMatchLength,
} from '../src/eval/metrics';
import { mulberry32 } from '../src/core/rng';

// Full-matrix reference implementation over code points.
function naive(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  const d = Array.from({ length: x.length + 1 }, (_, i) => Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= x.length; i++)
    for (let j = 1; j <= y.length; j++)
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
  return d[x.length][y.length];
}

test('levenshtein: known answers', () => {
  assert.equal(levenshtein('kitten', 'sitting'), 3);
  assert.equal(levenshtein('sitting', 'kitten'), 3);
  assert.equal(levenshtein('flaw', 'lawn'), 2);
  assert.equal(levenshtein('', 'abc'), 3);
  assert.equal(levenshtein('abc', ''), 3);
  assert.equal(levenshtein('', ''), 0);
  assert.equal(levenshtein('same', 'same'), 0);
  // Code points, not UTF-16 units: one emoji is one character.
  assert.equal(levenshtein('😀a', 'a'), 1);
  assert.equal(levenshtein('😀', '😁'), 1);
});

test('levenshtein: matches a full-matrix implementation on random strings', () => {
  const rng = mulberry32(7);
  const alphabet = ['a', 'b', 'c', ' ', '\n', '😀'];
  const rand = () => Array.from({ length: Math.floor(rng() * 12) }, () => alphabet[Math.floor(rng() * alphabet.length)]).join('');
  for (let k = 0; k < 300; k++) {
    const a = rand();
    const b = rand();
    assert.equal(levenshtein(a, b), naive(a, b), JSON.stringify([a, b]));
  }
});

// Large inputs exercise the single-row (linear memory) path with shared prefix/suffix trimming;
// checked against the full-matrix definition rather than a wall-clock bound (busy machines).
test('levenshtein: 1000 x 1000 characters equals the full-matrix definition', () => {
  const rng = mulberry32(3);
  const s = (n: number) => Array.from({ length: n }, () => String.fromCharCode(97 + Math.floor(rng() * 26))).join('');
  const a = 'shared head ' + s(1000) + ' shared tail';
  const b = 'shared head ' + s(1000) + ' shared tail';
  assert.equal(levenshtein(a, b), naive(a, b));
});

test('editSimilarity', () => {
  assert.equal(editSimilarity('', ''), 1);
  assert.equal(editSimilarity('abc', ''), 0);
  assert.equal(editSimilarity('abc', 'abc'), 1);
  assert.equal(editSimilarity('kitten', 'sitting'), 1 - 3 / 7);
  assert.equal(editSimilarity('ab', 'ac'), 0.5);
  assert.equal(editSimilarity('😀😀', '😀a'), 0.5); // 2 code points each, 1 substitution
});

test('firstLineExactMatch', () => {
  assert.equal(firstLineExactMatch('    return x\r\nmore', '    return x  \n'), true);
  assert.equal(firstLineExactMatch('    return x', '    return y\n'), false);
  assert.equal(firstLineExactMatch('return x', '    return x'), false); // leading whitespace counts
  assert.equal(firstLineExactMatch('', '\nfoo'), true);
});

test('exactMatch', () => {
  assert.equal(exactMatch('abc  \n', 'abc'), true);
  assert.equal(exactMatch('abc', 'abc\n\n'), true);
  assert.equal(exactMatch('abc', 'abd'), false);
  assert.equal(exactMatch(' abc', 'abc'), false);
  assert.equal(exactMatch('a\nb', 'a\nb \n'), true);
  assert.equal(exactMatch('a\nb\nc', 'a\nb'), false);
});

test('prefixMatchLength', () => {
  assert.equal(prefixMatchLength('retux', 'return'), 4);
  assert.equal(prefixMatchLength('retx', 'return'), 3);
  assert.equal(prefixMatchLength('', 'x'), 0);
  assert.equal(prefixMatchLength('return x + 1', 'return'), 6);
  assert.equal(prefixMatchLength('ret', 'return'), 3);
  assert.equal(prefixMatchLength('😀b', '😀c'), 1);
});

test('identifierContinuation', () => {
  assert.equal(identifierContinuation('nue\n', 'nue'), true);
  assert.equal(identifierContinuation('nu', 'nue'), false);
  assert.equal(identifierContinuation(' = items[i]', 'nue'), false);
});
