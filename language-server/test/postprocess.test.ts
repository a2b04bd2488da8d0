// Unit tests for each post-processing step and the pipeline (golden cases as data).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { balanceBrackets, suffixClosers } from '../src/postprocess/balanceBrackets';
import { dropEmpty } from '../src/postprocess/dropEmpty';
import { dropRepeatedLines } from '../src/postprocess/dropRepeatedLines';
import { dropSuffixDuplicate } from '../src/postprocess/dropSuffixDuplicate';
import { limitToSingleLine } from '../src/postprocess/limitToSingleLine';
import { stopAtBlockEnd } from '../src/postprocess/stopAtBlockEnd';
import { trimTrailingWhitespace } from '../src/postprocess/trimTrailingWhitespace';
import { postprocess } from '../src/postprocess';
import { PostprocessContext } from '../src/postprocess/types';

function ctx(prefix: string, suffix: string, multiline = false, languageId = 'python'): PostprocessContext {
  return { prefix, suffix, multiline, languageId };
}

test('limitToSingleLine cuts at the first newline only in single-line mode', () => {
  assert.equal(limitToSingleLine('nue\n    x = 1', ctx('conti', '')), 'nue');
  assert.equal(limitToSingleLine('\nfoo', ctx('x = ', '')), '');
  assert.equal(limitToSingleLine('a\nb', ctx('', '', true)), 'a\nb');
});

test('stopAtBlockEnd (python): after a block opener, stops where the body dedents', () => {
  const c = ctx('def f(x):', '\n', true);
  assert.equal(stopAtBlockEnd('\n    y = x + 1\n    return y\n\ndef g():\n    pass', c), '\n    y = x + 1\n    return y\n');
});

test('stopAtBlockEnd (python): at an empty indented line, stops below the cursor indent', () => {
  const c = ctx('def f(x):\n    y = 1\n    ', '\n', true);
  assert.equal(stopAtBlockEnd('return y\nprint(f(2))', c), 'return y');
  assert.equal(stopAtBlockEnd('if y:\n        y += 1\n    return y', c), 'if y:\n        y += 1\n    return y');
});

test('stopAtBlockEnd (typescript): keeps the closing brace of the opened block, drops what follows', () => {
  const c = ctx('function f(x: number) {', '\n', true, 'typescript');
  assert.equal(stopAtBlockEnd('\n  return x + 1;\n}\n\nfunction g() {}', c), '\n  return x + 1;\n}');
});

test('stopAtBlockEnd (typescript): a brace closing the enclosing block ends the completion', () => {
  const c = ctx('class A {\n  m() {\n    ', '\n  }\n}', true, 'typescript');
  assert.equal(stopAtBlockEnd('return 1;\n  }\n  n() {}', c), 'return 1;');
});

test('stopAtBlockEnd leaves single-line completions alone', () => {
  assert.equal(stopAtBlockEnd('abc', ctx('x = ', '', true)), 'abc');
  assert.equal(stopAtBlockEnd('a\nb', ctx('x = ', '', false)), 'a\nb');
});

test('dropSuffixDuplicate removes the rest of the line when the completion repeats it', () => {
  assert.equal(dropSuffixDuplicate('x, y)', ctx('print(', ')\n')), 'x, y');
  assert.equal(dropSuffixDuplicate('items):', ctx('for x in sorted(', '):\n    pass')), 'items');
});

test('dropSuffixDuplicate removes an overlap with the start of the suffix', () => {
  assert.equal(dropSuffixDuplicate('    return a\n\nprint(f())', ctx('def f():\n', '\n\nprint(f())', true)), '    return a');
});

test('dropSuffixDuplicate (multi-line) stops at the next suffix line', () => {
  const c = ctx('def f(x):\n', '\n    return y\n', true);
  assert.equal(dropSuffixDuplicate('    y = x * 2\n    return y\n', c), '    y = x * 2');
});

test('dropSuffixDuplicate keeps unrelated completions', () => {
  assert.equal(dropSuffixDuplicate('nue', ctx('conti', '\n')), 'nue');
  assert.equal(dropSuffixDuplicate('(a, b)', ctx('f', '\nx = 1')), '(a, b)');
});

test('suffixClosers lists the closers that close brackets opened before the cursor', () => {
  assert.deepEqual(suffixClosers(')\n', 'python'), [')']);
  assert.deepEqual(suffixClosers(', g(1))]', 'python'), [')', ']']);
  assert.deepEqual(suffixClosers('")"', 'python'), []);
});

test('balanceBrackets cuts a closer the suffix already has', () => {
  assert.equal(balanceBrackets('x)', ctx('print(', ')')), 'x');
  assert.equal(balanceBrackets('a[0])', ctx('f(', ')')), 'a[0]');
});

test('balanceBrackets keeps a closer the suffix lacks, and cuts mismatched ones', () => {
  assert.equal(balanceBrackets('x)', ctx('print(', '\n')), 'x)');
  assert.equal(balanceBrackets('(a]', ctx('y = ', '\n')), '(a');
  assert.equal(balanceBrackets('")"', ctx('s = ', '\n')), '")"');
});

test('trimTrailingWhitespace trims line ends and trailing blank lines', () => {
  assert.equal(trimTrailingWhitespace('a  \n  b\t\n\n\n', ctx('', '')), 'a\n  b');
  assert.equal(trimTrailingWhitespace('    ', ctx('', '')), '');
});

test('dropRepeatedLines cuts at a line repeating the previous one', () => {
  assert.equal(dropRepeatedLines('return a\n    return a\n', ctx('def f(a):\n    ', '', true)), 'return a');
  assert.equal(dropRepeatedLines('x += 1\n    x += 1', ctx('    ', '', true)), 'x += 1\n    x += 1', 'short lines may repeat');
  assert.equal(dropRepeatedLines('\n    total = 0\n    total = 0', ctx('def f():', '', true)), '\n    total = 0');
  assert.equal(dropRepeatedLines('a\nb', ctx('', '', true)), 'a\nb');
});

test('dropEmpty drops whitespace-only text', () => {
  assert.equal(dropEmpty(' \n\t', ctx('', '')), '');
  assert.equal(dropEmpty(' x', ctx('', '')), ' x');
});

// Golden cases for the whole pipeline: [name, prefix, suffix, multiline, language, raw, expected].
const GOLDEN: [string, string, string, boolean, string, string, string | null][] = [
  ['mid-token python', 'for item in items:\n    conti', '\n', false, 'python', 'nue\n    x', 'nue'],
  ['closing paren in suffix', 'print(', ')\n', false, 'python', 'len(items))', 'len(items)'],
  ['whitespace only', 'x = 1\n', '', true, 'python', '\n\n   \n', null],
  ['block body', 'def add(a, b):', '\n', true, 'python', '\n    return a + b\n\n\nclass X:\n    pass', '\n    return a + b'],
  ['ts block', 'function add(a: number, b: number) {', '\n}\n', true, 'typescript', '\n  return a + b;\n}\n', '\n  return a + b;'],
  ['crlf', 'if x:\r\n    ', '\r\n', true, 'python', 'y = 1\r\n    z = 2  \r\n', 'y = 1\n    z = 2'],
];

for (const [name, prefix, suffix, multiline, languageId, raw, expected] of GOLDEN) {
  test(`pipeline golden: ${name}`, () => {
    assert.equal(postprocess(raw, { prefix, suffix, multiline, languageId }), expected);
  });
}
