// Branches of one forward as a single token-tree sequence (model/tree-mask-rewrite.ts,
// OnnxModel.forwardTree, OnnxBranchLM `tree`): the same logits and bits as left-padded batches,
// without a copy of the context's past per branch; in scoring, branches leave the document's own
// KV where they leave its tokens (forwardTree's prefixSlots), so no document token runs again.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ModelBundle } from '../src/bundle/model-bundle';
import { documentStartId, scoreBytes, ScoreOptions } from '../src/ensemble/score';
import { tokenTrie } from '../src/byte/onnx-lm';
import { rewriteTreeMask } from '../src/model/tree-mask-rewrite';
import { KVState } from '../src/model/kv-state';
import { encodeModel } from '../src/model/onnx-graph';
import { modelDir } from './helpers';

test('tokenTrie shares common prefixes and gives each row its path', () => {
  const t = tokenTrie([
    [5, 6, 7],
    [5, 6, 9],
    [4],
    [5, 8],
  ]);
  assert.deepEqual(t.tokens, [5, 6, 7, 9, 4, 8]);
  assert.deepEqual(t.parents, [-1, 0, 1, 1, -1, 0]);
  assert.deepEqual(t.paths, [
    [0, 1, 2],
    [0, 1, 3],
    [4],
    [0, 5],
  ]);
});

test('tokenTrie with roots shares prefixes only between rows of the same root', () => {
  const t = tokenTrie(
    [
      [5, 6],
      [5, 7],
      [5, 6],
    ],
    [0, 0, 3],
  );
  assert.deepEqual(t.tokens, [5, 6, 7, 5, 6]);
  assert.deepEqual(t.parents, [-1, 0, 0, -1, 3]);
  assert.deepEqual(t.paths, [
    [0, 1],
    [0, 2],
    [3, 4],
  ]);
});

test('the tree-mask rewrite leaves a graph without a padding-and-causal And alone', () => {
  const g = encodeModel({
    name: 'plain',
    inputs: [
      { name: 'attention_mask', type: 'int64', dims: ['b', 'n'] },
      { name: 'position_ids', type: 'int64', dims: ['b', 't'] },
    ],
    outputs: [{ name: 'y', type: 'int64', dims: ['b', 'n'] }],
    nodes: [{ op: 'Identity', inputs: ['attention_mask'], outputs: ['y'] }],
  });
  const r = rewriteTreeMask(g);
  assert.equal(r.ok, false);
});

/** A plain forward's logits of a row equal the tree's for its path (to 1e-3). */
function assertSameLogits(plain: Float32Array[], tree: Float32Array[], what: string): void {
  plain.forEach((a, i) => {
    const b = tree[i];
    let d = 0;
    for (let v = 0; v < a.length; v++) d = Math.max(d, Math.abs(a[v] - b[v]));
    assert.ok(d < 1e-3, `${what} position ${i}: logits differ by ${d}`);
  });
}

const EXACT: ScoreOptions = { uncheckedMass: 0, lazyMass: 0, tokenLevel: false };
/** Several context windows of a short text (exact). */
const LONG: ScoreOptions = { ...EXACT, maxContext: 60, keepTokens: 20 };
const LONG_TEXT = 'result = compute(alpha, beta)  # step\n    if result:\n        total += result\n'.repeat(6);

describe('token-tree forwards of the bundled models', () => {
  let bundle: ModelBundle;
  before(async () => {
    bundle = await ModelBundle.load(modelDir('tiny-code-b'), { device: 'cpu' });
  });
  after(async () => {
    await bundle.dispose();
  });

  test('the bundled graph takes a tree mask', async () => {
    assert.equal(await bundle.model.treeSupported(), true);
  });

  test('forwardTree gives each token the logits of a plain forward of its root-to-token path', async () => {
    const m = bundle.model;
    const ctx = bundle.tok.encode('def add(a, b):\n    return');
    const { state } = await m.forward(null, [ctx]);
    const rows = [
      [10, 11, 12],
      [10, 11, 13],
      [14],
    ];
    const { tokens, parents, paths } = tokenTrie(rows);
    const tree = await m.forwardTree(state, tokens, parents);
    assert.equal(tree.state.length, state.length + tokens.length);
    for (let k = 0; k < rows.length; k++) {
      const plain = await m.forward(state, [rows[k]], { allLogits: true });
      assertSameLogits(plain.logits[0], paths[k].map((t) => tree.logits[t]), `row ${k}`);
    }
  });

  test('forwardTree with prefixSlots gives each root the logits of a forward on that prefix of the past', async () => {
    const m = bundle.model;
    const doc = bundle.tok.encode('def add(a, b):\n    return a + b\n');
    const { state } = await m.forward(null, [doc]);
    // Branches leaving the document after 4, 9 and all of its tokens.
    const cuts = [4, 9, doc.length];
    const rows = [[10, 11], [12], [13, 14]];
    const tokens = [10, 11, 12, 13, 14];
    const parents = [-1, 0, -1, -1, 3];
    const prefixSlots = [4, 4, 9, doc.length, doc.length];
    const paths = [[0, 1], [2], [3, 4]];
    const tree = await m.forwardTree(state, tokens, parents, { prefixSlots });
    for (let k = 0; k < rows.length; k++) {
      const { state: prefix } = await m.forward(null, [doc.slice(0, cuts[k])]);
      const plain = await m.forward(prefix, [rows[k]], { allLogits: true });
      assertSameLogits(plain.logits[0], paths[k].map((t) => tree.logits[t]), `row ${k}`);
    }
  });

  test("scoring runs no token of the document again: a branch's tree tokens start where it leaves the document, the same bits as padded batches", async () => {
    const m = bundle.model;
    // One window (the text fits): window slot c holds T[c], T = [document start] ++ enc(text).
    const T = [documentStartId(bundle), ...bundle.tok.encode(LONG_TEXT)];
    const roots: Array<{ token: number; slot: number }> = [];
    const forwardTree = m.forwardTree.bind(m);
    m.forwardTree = (past: KVState, tokens: number[], parents: number[], o?: Parameters<typeof forwardTree>[3]) => {
      tokens.forEach((token, t) => {
        if (parents[t] < 0) roots.push({ token, slot: o?.prefixSlots?.[t] ?? -1 });
      });
      return forwardTree(past, tokens, parents, o);
    };
    try {
      const padded = await scoreBytes([{ bundle, weight: 1 }], null, LONG_TEXT, { ...EXACT, treeBranches: false });
      const tree = await scoreBytes([{ bundle, weight: 1 }], null, LONG_TEXT, { ...EXACT, prefetchBytes: 32 });
      assert.ok(roots.length > 0, 'the tree path ran');
      for (const r of roots) {
        assert.ok(r.slot >= 0, 'every root follows a prefix of the document');
        assert.notEqual(r.token, T[r.slot], `a root at slot ${r.slot} re-runs the document's own token`);
      }
      assert.ok(new Set(roots.map((r) => r.slot)).size > 1, 'branches leave the document at different points');
      assert.ok(Math.abs(tree.bits - padded.bits) <= 1e-9 * padded.bits, `${tree.bits} vs ${padded.bits}`);
    } finally {
      m.forwardTree = forwardTree;
    }
  });

  test('long-text scoring (several windows, exact) gives the padded batches bits without copying the past per branch', async () => {
    // The same schedule on both paths (no plan: padded batches would copy the past per planned row).
    const opts: ScoreOptions = { ...LONG, prefetchBytes: 8, planBytes: 0 };
    const m = bundle.model;
    // Count the batch rows of every padded forward and the tree forwards (real calls, passed through).
    const batchRows: number[] = [];
    let trees = 0;
    const forward = m.forward.bind(m);
    const forwardTree = m.forwardTree.bind(m);
    m.forward = (past: KVState | null, rows: number[][], o?: Parameters<typeof forward>[2]) => {
      batchRows.push(rows.length);
      return forward(past, rows, o);
    };
    m.forwardTree = (...a: Parameters<typeof forwardTree>) => {
      trees++;
      return forwardTree(...a);
    };
    try {
      const padded = await scoreBytes([{ bundle, weight: 1 }], null, LONG_TEXT, { ...opts, treeBranches: false });
      const paddedRows = batchRows.splice(0);
      assert.equal(trees, 0);
      const tree = await scoreBytes([{ bundle, weight: 1 }], null, LONG_TEXT, opts);
      assert.ok(paddedRows.some((b) => b > 1), 'the padded path copies the past for several rows');
      assert.ok(trees > 0, 'the tree path runs tree forwards');
      assert.deepEqual(
        batchRows.filter((b) => b > 1),
        [],
        'the tree path never expands the past to several rows',
      );
      assert.equal(tree.forwards[0], padded.forwards[0]);
      assert.ok(Math.abs(tree.bits - padded.bits) <= 1e-9 * padded.bits, `${tree.bits} vs ${padded.bits}`);
    } finally {
      m.forward = forward;
      m.forwardTree = forwardTree;
    }
  });

  test("with tree forwards the default prefetch (32 bytes) runs fewer forwards than padded batches' 8, the same bits", async () => {
    const padded = await scoreBytes([{ bundle, weight: 1 }], null, LONG_TEXT, { ...LONG, treeBranches: false });
    const tree = await scoreBytes([{ bundle, weight: 1 }], null, LONG_TEXT, LONG);
    assert.ok(tree.forwards[0] < padded.forwards[0], `${tree.forwards[0]} vs ${padded.forwards[0]} forwards`);
    assert.ok(Math.abs(tree.bits - padded.bits) <= 1e-9 * padded.bits, `${tree.bits} vs ${padded.bits}`);
  });
});
