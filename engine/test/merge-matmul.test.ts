// Merged 4-bit products: the small MatMulNBits nodes of a layer that read the same input (q/k/v
// with their biases) become one node and a Split at load on the CPU; large ones (gate/up) stay.
// The weights are the same, so the logits must be too: checked to 1e-4 against the separate nodes, with float and with int8
// activations, at the widths of a 0.5B Qwen2.5 layer (hidden 896, 14/2 heads, FFN 4864), where the
// 4-bit kernels take the paths a real model's step takes.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildRandomModel, RandomModelOptions } from './fixtures/random-model';
import { maxDiff, pseudoIds, tempDirWithCache } from './helpers';
import { OnnxModel } from '../src/index';
import { mergeParallelMatMulNBits } from '../src/model/merge-matmul';
import { fields, str } from '../src/model/onnx-proto';
import { Logger, LogLevel } from '../src/core/types';

process.env.ORT_DISABLE_TELEMETRY = '1';

const WIDE: RandomModelOptions = { modelType: 'qwen2', layers: 1, hidden: 896, heads: 14, kvHeads: 2, headDim: 64, ffn: 4864, vocab: 4096, seed: 5 };
const SMALL: RandomModelOptions = { modelType: 'qwen2', layers: 2, hidden: 128, heads: 4, kvHeads: 2, headDim: 32, ffn: 256, vocab: 4096, seed: 7 };
const TOL = 1e-4;

const tmp = tempDirWithCache('bytefill-merge-', 'cache');

/** Op types of the main graph's nodes, and its initializer names. */
function graphOf(buf: Uint8Array): { ops: string[]; inits: string[] } {
  const g = fields(buf).find((f) => f.num === 7)!;
  const ops: string[] = [];
  const inits: string[] = [];
  for (const f of fields(buf, g.valStart, g.valEnd)) {
    if (f.num === 1) ops.push(str(buf, fields(buf, f.valStart, f.valEnd).find((x) => x.num === 4)!));
    if (f.num === 5) inits.push(str(buf, fields(buf, f.valStart, f.valEnd).find((x) => x.num === 8)!));
  }
  return { ops, inits };
}

const count = (xs: string[], x: string) => xs.filter((y) => y === x).length;

/** A prompt's every logits, then those of 3 decode steps. */
async function logitsOf(dir: string, o: { int8Activations: boolean; mergeMatMul: boolean; log?: Logger }): Promise<Float32Array[]> {
  const m = await OnnxModel.load(dir, { variant: 'q4', device: 'cpu', threads: 2, cacheOptimized: false, ...o });
  try {
    let r = await m.forward(null, [pseudoIds(13, 3, 4096)], { allLogits: true });
    const out = [...r.logits[0]];
    for (const id of [11, 12, 13]) {
      r = await m.forward(r.state, [[id]]);
      out.push(r.logits[0][0]);
    }
    return out;
  } finally {
    await m.dispose();
  }
}

test('the rewrite merges each layer q/k/v (biases included) into one MatMulNBits node, leaves large products alone, and drops the separate weights', () => {
  const shape = { ...WIDE, layers: 2 };
  const m = buildRandomModel(path.join(tmp.dir, 'unit'), { ...shape, variants: ['q4'], externalData: true });
  const buf = fs.readFileSync(m.files.q4!);
  const before = graphOf(buf);
  const r = mergeParallelMatMulNBits(buf, path.dirname(m.files.q4!));
  assert.ok(r.ok, r.ok ? '' : r.reason);
  assert.equal(r.groups, shape.layers);
  assert.equal(r.nodes, 3 * shape.layers);
  const after = graphOf(r.model.toBytes());
  assert.equal(count(after.ops, 'MatMulNBits'), count(before.ops, 'MatMulNBits') - 2 * shape.layers);
  assert.equal(count(after.ops, 'Split'), count(before.ops, 'Split') + shape.layers);
  // q/k/v: three bias Adds become one.
  assert.equal(count(after.ops, 'Add'), count(before.ops, 'Add') - 2 * shape.layers);
  const projections = (names: string[], re: RegExp) => names.filter((n) => re.test(n) && !n.includes('merged'));
  const qkv = /(q|k|v)_proj\.(weight|bias)/;
  assert.ok(projections(before.inits, qkv).length > 0);
  assert.deepEqual(projections(after.inits, qkv), [], 'the separate weights are not kept beside the merged ones');
  const mlp = /(gate|up)_proj\.weight/;
  assert.deepEqual(projections(after.inits, mlp), projections(before.inits, mlp), 'gate/up (4.4M weights each) are left alone');
});

for (const int8Activations of [false, true]) {
  test(`merged nodes give the same logits (${TOL}) as separate ones, ${int8Activations ? 'int8' : 'float'} activations, a 0.5B layer's widths`, async () => {
    const m = buildRandomModel(path.join(tmp.dir, `wide-${int8Activations}`), { ...WIDE, variants: ['q4'], externalData: true });
    const lines: Array<[LogLevel, string]> = [];
    const separate = await logitsOf(m.dir, { int8Activations, mergeMatMul: false });
    const merged = await logitsOf(m.dir, { int8Activations, mergeMatMul: true, log: (lv, s) => lines.push([lv, s]) });
    assert.ok(lines.some(([lv, s]) => lv === 'info' && /merged 3 MatMulNBits nodes into 1 /.test(s)), JSON.stringify(lines));
    assert.equal(merged.length, separate.length);
    merged.forEach((l, i) => assert.ok(maxDiff(l, separate[i]) <= TOL, `logits ${i}: max |diff| ${maxDiff(l, separate[i])}`));
  });
}

test('the merged graph is read from the cache on the next load', async () => {
  const m = buildRandomModel(path.join(tmp.dir, 'cached'), { ...SMALL, variants: ['q4'], externalData: true });
  const first: string[] = [];
  const a = await logitsOf(m.dir, { int8Activations: true, mergeMatMul: true, log: (_, s) => first.push(s) });
  const second: string[] = [];
  const b = await logitsOf(m.dir, { int8Activations: true, mergeMatMul: true, log: (_, s) => second.push(s) });
  assert.ok(first.some((s) => /merged \d+ MatMulNBits/.test(s)));
  assert.ok(!second.some((s) => /merged \d+ MatMulNBits/.test(s)), 'not rewritten again');
  b.forEach((l, i) => assert.equal(maxDiff(l, a[i]), 0));
});

test('a graph without 4-bit products to merge is left alone, with the reason', () => {
  const m = buildRandomModel(path.join(tmp.dir, 'int8'), { ...SMALL, variants: ['int8'] });
  const r = mergeParallelMatMulNBits(fs.readFileSync(m.files.int8!), m.dir);
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : r.reason, /no 4-bit MatMulNBits nodes/);
});
