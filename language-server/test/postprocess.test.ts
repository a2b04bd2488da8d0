// Post-processing: every golden file (test/postprocess-goldens/<step>/<case>.txt) is one test; a
// step's folder runs that step alone, 'pipeline' runs the whole pipeline. Helpers have unit tests.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { suffixClosers } from '../src/postprocess/balanceBrackets';
import { PIPELINE, postprocess } from '../src/postprocess';
import { REPO } from './lspClient';
import { loadGoldens, parseGolden } from './postprocessGoldens';

const GOLDEN_DIR = path.join(REPO, 'language-server', 'test', 'postprocess-goldens');
const goldens = loadGoldens(GOLDEN_DIR);
const steps = new Map(PIPELINE);

for (const g of goldens) {
  test(`golden ${g.name}`, () => {
    if (g.step === 'pipeline') {
      assert.equal(postprocess(g.completion, g.ctx), g.expected);
      return;
    }
    const step = steps.get(g.step);
    assert.ok(step, `folder '${g.step}' names no pipeline step (steps: ${[...steps.keys()].join(', ')})`);
    assert.ok(g.expected !== null, `${g.name}: '=== dropped' is for pipeline goldens; a step returns '' to drop`);
    assert.equal(step(g.completion, g.ctx), g.expected);
  });
}

test('every pipeline step has golden cases', () => {
  const covered = new Set(goldens.map((g) => g.step));
  assert.deepEqual([...steps.keys()].filter((s) => !covered.has(s)), []);
});

test('golden files: a document without the cursor marker is refused, naming the file', () => {
  assert.throws(() => parseGolden('=== document\nx = 1\n=== completion\ny\n=== expected\ny\n', 'x/no-cursor'), /x\/no-cursor: .*cursor marker/);
});

test('golden files: the cursor marker splits the document into prefix and suffix', () => {
  const g = parseGolden('language: python\n=== document\nab║cd\nef\n=== completion\nx\n=== expected\nx\n', 'x/split');
  assert.deepEqual([g.ctx.prefix, g.ctx.suffix, g.ctx.languageId], ['ab', 'cd\nef', 'python']);
});

test('suffixClosers lists a closer right after the cursor', () => {
  assert.deepEqual(suffixClosers(')\n', 'python'), [')']);
});

test('suffixClosers lists closers in order, skipping brackets opened and closed in the suffix', () => {
  assert.deepEqual(suffixClosers(', g(1))]', 'python'), [')', ']']);
});

test('suffixClosers ignores closers inside string literals', () => {
  assert.deepEqual(suffixClosers('")"', 'python'), []);
});
