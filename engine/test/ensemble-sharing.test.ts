// Ensemble members share what they can: models whose tokenizer.json has the same bytes get one
// Tokenizer object (and so one byte-layer VocabIndex) instead of a copy each.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildRandomModel, smallQwen2 } from './fixtures/random-model';
import { modelDir } from './helpers';
import { Engine, preflightModelFolder } from '../src/index';
import { Tokenizer } from '../src/tokenizer/tokenizer';

process.env.ORT_DISABLE_TELEMETRY = '1';

const TOK = path.join(modelDir('tiny-code-b'), 'tokenizer.json');
let root: string;
let a: string;
let b: string;
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'bytefill-sharing-'));
  a = buildRandomModel(path.join(root, 'a'), { ...smallQwen2(1), tokenizerJson: TOK }).dir;
  b = buildRandomModel(path.join(root, 'b'), { ...smallQwen2(2), layers: 1, tokenizerJson: TOK }).dir;
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

test('two folders with byte-identical tokenizer.json get the same Tokenizer object from preflight', () => {
  const shared = new Map<string, Tokenizer>();
  const pa = preflightModelFolder(a, { tokenizers: shared });
  const pb = preflightModelFolder(b, { tokenizers: shared });
  assert.equal(pa.tokenizer, pb.tokenizer);
  assert.equal(shared.size, 1);
});

test('a tokenizer.json that differs by one byte is loaded on its own', () => {
  const c = path.join(root, 'c');
  fs.cpSync(a, c, { recursive: true });
  fs.appendFileSync(path.join(c, 'tokenizer.json'), '\n');
  const shared = new Map<string, Tokenizer>();
  const pa = preflightModelFolder(a, { tokenizers: shared });
  const pc = preflightModelFolder(c, { tokenizers: shared });
  assert.notEqual(pa.tokenizer, pc.tokenizer);
  assert.equal(shared.size, 2);
});

test('an ensemble of two models with one tokenizer shares it and its vocabulary index, and still completes', async () => {
  const logs: string[] = [];
  const engine = await Engine.create({ models: [a, b], threads: 1, device: 'cpu', log: (_l, m) => logs.push(m) });
  try {
    assert.equal(engine.bundles[0].tok, engine.bundles[1].tok);
    assert.equal(engine.bundles[0].index, engine.bundles[1].index);
    assert.ok(logs.some((m) => /2 models share 1 tokenizer/.test(m)), logs.join('\n'));
    const r = await engine.complete({ prefix: 'def add(a, b):\n    return a', suffix: '\n', mode: 'byte', maxTokens: 3 });
    assert.equal(r.models.length, 2);
  } finally {
    await engine.dispose();
  }
});

test('an ensemble of models with different tokenizers keeps one each', async () => {
  const engine = await Engine.create({ models: [modelDir('tiny-code-a'), modelDir('tiny-code-b')], threads: 1, device: 'cpu' });
  try {
    assert.notEqual(engine.bundles[0].tok, engine.bundles[1].tok);
    assert.notEqual(engine.bundles[0].index, engine.bundles[1].index);
  } finally {
    await engine.dispose();
  }
});
