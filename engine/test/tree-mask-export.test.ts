// The tree-mask rewrite on the Qwen2-shaped export (fixtures/random-model.ts, the layout of the
// 0.5B random models): its causal triangle takes the total length from attention_mask's shape,
// and its mask is tiled per query head of a KV group. Small random q4 and int8 models, built here,
// take a tree mask, and forwardTree gives each token the logits of a plain forward of its
// root-to-token path.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildRandomModel, RandomModelOptions, Variant } from './fixtures/random-model';
import { maxDiff, pseudoIds, tempDirWithCache } from './helpers';
import { OnnxModel } from '../src/index';
import { rewriteTreeMask } from '../src/model/tree-mask-rewrite';
import { tokenTrie } from '../src/byte/onnx-lm';
import { fields, str } from '../src/model/onnx-proto';

process.env.ORT_DISABLE_TELEMETRY = '1';

/** 4 query heads on 2 KV heads: the mask is tiled per group, as in the 0.5B shape (14 on 2). */
const SHAPE: RandomModelOptions = { modelType: 'qwen2', layers: 2, hidden: 64, heads: 4, kvHeads: 2, headDim: 16, ffn: 128, vocab: 512, seed: 5 };
const V = 512;
/**
 * How far a branching tree's logits may be from a plain forward of each path, relative to the
 * largest |logit|. q4 (int8 activations quantised per row block): float rounding (4e-7 measured).
 * The int8 export quantises each activation tensor with one dynamic scale (DynamicQuantizeLinear),
 * so a position's logits depend on the other tokens of its forward: 3.7% measured for the tree,
 * 4.1% for the same rows as a padded batch; one branch alone is exact (test above).
 */
const TOL: Record<string, number> = { q4: 1e-5, int8: 0.08 };
const TOL_NOTE: Record<string, string> = { q4: 'float rounding', int8: 'within the spread of per-tensor activation scales' };

const tmp = tempDirWithCache('bytefill-tree-export-', 'cache');

/** The ops of the graph's nodes that read `input`. */
function opsReading(file: string, input: string): string[] {
  const buf = fs.readFileSync(file);
  const gF = fields(buf).find((f) => f.num === 7)!;
  const ops: string[] = [];
  for (const f of fields(buf, gF.valStart, gF.valEnd).filter((x) => x.num === 1)) {
    const fs2 = fields(buf, f.valStart, f.valEnd);
    const op = fs2.find((x) => x.num === 4);
    if (fs2.some((x) => x.num === 1 && str(buf, x) === input)) ops.push(op ? str(buf, op) : '');
  }
  return ops;
}

for (const variant of ['q4', 'int8'] as Variant[]) {
  describe(`token-tree forwards of a random ${variant} Qwen2-shaped export`, () => {
    let dir = '';
    let m: OnnxModel;
    before(async () => {
      dir = buildRandomModel(path.join(tmp.dir, variant), { ...SHAPE, variants: [variant], externalData: true }).dir;
      m = await OnnxModel.load(dir, { device: 'cpu', variant, threads: 1 });
    });
    after(async () => {
      await m?.dispose();
    });

    test('its causal triangle reads the length of attention_mask, and the rewrite still finds the one join', () => {
      const file = path.join(dir, 'onnx', `model_${variant}.onnx`);
      assert.ok(opsReading(file, 'attention_mask').includes('Shape'), 'the export takes the total length from the mask');
      const r = rewriteTreeMask(fs.readFileSync(file));
      assert.equal(r.ok, true, r.ok ? '' : r.reason);
    });

    test(`forwardTree of one branch gives the logits of a plain forward of it`, async () => {
      assert.equal(await m.treeSupported(), true);
      const { state } = await m.forward(null, [pseudoIds(9, 1, V)]);
      const row = pseudoIds(4, 4, V);
      const tree = await m.forwardTree(state, row, [-1, 0, 1, 2]);
      const plain = await m.forward(state, [row], { allLogits: true });
      plain.logits[0].forEach((a, i) => assert.ok(maxDiff(a, tree.logits[i]) < 1e-4, `position ${i}: logits differ by ${maxDiff(a, tree.logits[i])}`));
    });

    test(`forwardTree gives each token the logits of a plain forward of its root-to-token path (${TOL_NOTE[variant]})`, async () => {
      assert.equal(await m.treeSupported(), true);
      const { state } = await m.forward(null, [pseudoIds(9, 1, V)]);
      const rows = [pseudoIds(3, 2, V), [...pseudoIds(2, 2, V), 40], pseudoIds(1, 3, V), pseudoIds(4, 4, V)];
      const { tokens, parents, paths } = tokenTrie(rows);
      const tree = await m.forwardTree(state, tokens, parents);
      assert.equal(tree.state.length, state.length + tokens.length);
      for (let k = 0; k < rows.length; k++) {
        const plain = await m.forward(state, [rows[k]], { allLogits: true });
        plain.logits[0].forEach((a, i) => {
          const scale = a.reduce((s, x) => Math.max(s, Math.abs(x)), 0);
          const d = maxDiff(a, tree.logits[paths[k][i]]);
          assert.ok(d <= TOL[variant] * scale, `row ${k} position ${i}: logits differ by ${d} (largest |logit| ${scale})`);
        });
      }
    });
  });
}
