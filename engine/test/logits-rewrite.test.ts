// Only the logits that are needed: a graph that computes every position's logits is rewritten
// (Slice of the final hidden state before the LM head, k from num_logits_to_keep) and gives the
// same logits as the original; the rewrite and onnxruntime's optimised graph are cached.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildRandomModel, RandomModelOptions } from './fixtures/random-model';
import { maxDiff, modelDir, pseudoIds, tempDirWithCache } from './helpers';
import { OnnxModel } from '../src/index';
import { derivedDir } from '../src/model/derived-graph';
import { prepareKeepLogitsGraph, rewriteKeepLogits } from '../src/model/logits-rewrite';
import { Logger } from '../src/core/types';

process.env.ORT_DISABLE_TELEMETRY = '1';

const SMALL: RandomModelOptions = { modelType: 'qwen2', layers: 2, hidden: 32, heads: 4, kvHeads: 2, headDim: 8, ffn: 64, vocab: 4096, seed: 5 };
const tmp = tempDirWithCache('bytefill-rewrite-', 'bytefill-cache');

const PAST = pseudoIds(7, 31, 4096);
const ROWS = [pseudoIds(5, 32, 4096), pseudoIds(3, 33, 4096)];

/** Prefill, a batched left-padded segment (all positions and last), and one cached step. */
async function run(dir: string, o: { variant?: string; rewriteLogits: boolean; cacheOptimized?: boolean; log?: Logger }): Promise<{ rows: Float32Array[]; limits: boolean }> {
  const m = await OnnxModel.load(dir, { threads: 1, device: 'cpu', cacheOptimized: false, ...o });
  try {
    const p = await m.forward(null, [PAST]);
    const all = await m.forward(p.state.expand(2), ROWS, { allLogits: true });
    const last = await m.forward(p.state.expand(2), ROWS);
    const step = await m.forward(last.state, [[9], [10]]);
    return { rows: [p.logits[0][0], ...all.logits.flat(), ...last.logits.flat(), ...step.logits.flat()].map((v) => v.slice()), limits: m.limitsLogits };
  } finally {
    await m.dispose();
  }
}

function assertSame(a: Float32Array[], b: Float32Array[], tol: number): void {
  assert.equal(a.length, b.length);
  a.forEach((v, i) => assert.ok(maxDiff(v, b[i]) <= tol, `logits row ${i} differ by ${maxDiff(v, b[i])}`));
}

for (const [name, o] of [
  ['tied embeddings (Reshape, Gemm, Reshape)', { tiedEmbeddings: true }],
  ['untied LM head (MatMul)', { tiedEmbeddings: false }],
] as Array<[string, Partial<RandomModelOptions>]>) {
  test(`rewritten graph gives the original logits to 1e-4: ${name}`, async () => {
    const dir = buildRandomModel(path.join(tmp.dir, name.split(' ')[0]), { ...SMALL, ...o }).dir;
    const original = await run(dir, { rewriteLogits: false });
    const rewritten = await run(dir, { rewriteLogits: true });
    assert.equal(original.limits, false);
    assert.equal(rewritten.limits, true, 'the rewritten graph has a num_logits_to_keep input');
    assertSame(rewritten.rows, original.rows, 1e-4);
  });
}

test('q4 (MatMulNBits head) is rewritten and keeps its logits', async () => {
  const m = buildRandomModel(path.join(tmp.dir, 'q4'), { ...SMALL, variants: ['q4'], externalData: true });
  const original = await run(m.dir, { variant: 'q4', rewriteLogits: false });
  const rewritten = await run(m.dir, { variant: 'q4', rewriteLogits: true });
  assert.equal(rewritten.limits, true);
  assertSame(rewritten.rows, original.rows, 1e-4);
});

test('int8 (dynamic quantization before the head) is rewritten', () => {
  const m = buildRandomModel(path.join(tmp.dir, 'int8'), { ...SMALL, variants: ['int8'] });
  const r = rewriteKeepLogits(fs.readFileSync(m.files.int8!));
  assert.equal(r.ok, true, r.ok ? '' : r.reason);
});

test('graphs that need no rewrite are left alone, with the reason', () => {
  const last = buildRandomModel(path.join(tmp.dir, 'last'), { ...SMALL, lastLogitsOnly: true });
  const keep = buildRandomModel(path.join(tmp.dir, 'keep'), { ...SMALL, logitsToKeepInput: true });
  const a = rewriteKeepLogits(fs.readFileSync(last.files.fp32!));
  const b = rewriteKeepLogits(fs.readFileSync(keep.files.fp32!));
  assert.ok(!a.ok && /last position/.test(a.reason));
  assert.ok(!b.ok && /logits-to-keep/.test(b.reason));
});

test('the rewrite is cached in bytefill\'s cache folder, not in the model folder, and redone when the model file changes', () => {
  const m = buildRandomModel(path.join(tmp.dir, 'cache'), { ...SMALL, externalData: true });
  const before = fs.readdirSync(path.dirname(m.files.fp32!)).sort();
  const first = prepareKeepLogitsGraph(m.files.fp32!);
  assert.equal(first.rewritten, true);
  assert.equal(first.cached, false);
  assert.ok(first.file.startsWith(process.env.BYTEFILL_CACHE_DIR! + path.sep), first.file);
  assert.deepEqual(fs.readdirSync(path.dirname(m.files.fp32!)).sort(), before, 'the model folder is not written');
  const second = prepareKeepLogitsGraph(m.files.fp32!);
  assert.deepEqual([second.file, second.cached], [first.file, true]);
  const later = new Date(Date.now() + 5000);
  fs.utimesSync(m.files.fp32!, later, later);
  const third = prepareKeepLogitsGraph(m.files.fp32!);
  assert.equal(third.cached, false);
  assert.notEqual(third.file, first.file);
  assert.equal(fs.existsSync(first.file), false, 'the stale rewrite is removed');
});

test('the optimised graph is saved on the first load and loaded on the second, same logits', async () => {
  const dir = buildRandomModel(path.join(tmp.dir, 'opt'), { ...SMALL, externalData: true }).dir;
  const lines: string[] = [];
  const log: Logger = (_level, msg) => lines.push(msg);
  const first = await run(dir, { rewriteLogits: true, cacheOptimized: true, log });
  assert.ok(lines.some((l) => /saved it for the next load/.test(l)), lines.join('\n'));
  lines.length = 0;
  const second = await run(dir, { rewriteLogits: true, cacheOptimized: true, log });
  assert.ok(lines.some((l) => /loaded the optimised graph saved earlier/.test(l)), lines.join('\n'));
  assertSame(second.rows, first.rows, 1e-5);
  // A damaged saved graph is dropped and rebuilt, not fatal.
  // The optimised graph is derived from the rewritten one, in bytefill's cache folder.
  const derived = derivedDir(prepareKeepLogitsGraph(path.join(dir, 'onnx', 'model.onnx')).file);
  const saved = fs.readdirSync(derived).find((f) => /\.ort-.*\.onnx$/.test(f));
  assert.ok(saved, `an optimised graph in ${derived}`);
  fs.writeFileSync(path.join(derived, saved), 'not a model');
  lines.length = 0;
  const third = await run(dir, { rewriteLogits: true, cacheOptimized: true, log });
  assert.ok(lines.some((l) => /did not load/.test(l)), lines.join('\n'));
  assertSame(third.rows, first.rows, 1e-5);
});

test('the bundled model is rewritten too and keeps its logits', async () => {
  const original = await run(modelDir('tiny-code-b'), { rewriteLogits: false });
  const rewritten = await run(modelDir('tiny-code-b'), { rewriteLogits: true });
  assert.equal(rewritten.limits, true);
  assertSame(rewritten.rows, original.rows, 1e-4);
});
