// Engine.warm in byte mode also builds the byte layer's per-tokenizer tables (merge runs; for
// ensembles the whole-vocabulary pair-row tables), which the first byte-mode request would
// otherwise build on its own time. Each test loads its own engine: tokenizers (and so their
// tables) belong to one load.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { bundledModelsDir, Engine } from '../src/index';
import { MergeValidity } from '../src/byte/validity';

const at = { prefix: 'def total(values):\n    result = 0\n    for v in values:\n        result += v\n    return res', suffix: '\n' };

test('a byte-mode warm-up builds the merge tables of the model tokenizer', async () => {
  const engine = await Engine.create({ threads: 1 });
  try {
    const mv = MergeValidity.for(engine.bundles[0].tok);
    assert.equal(mv.prepared(false), false, 'nothing built before');
    await engine.warm({ ...at, mode: 'byte' });
    assert.equal(mv.prepared(false), true);
    assert.equal(mv.prepared(true), false, 'a single model needs no pair-row tables');
  } finally {
    await engine.dispose();
  }
});

test('a token-mode warm-up builds no byte-layer table', async () => {
  const engine = await Engine.create({ threads: 1 });
  try {
    const mv = MergeValidity.for(engine.bundles[0].tok);
    const w = await engine.warm({ ...at, mode: 'token' });
    assert.ok(w.models[0].promptTokens > 0, 'the warm-up ran');
    assert.equal(mv.prepared(false), false);
  } finally {
    await engine.dispose();
  }
});

test("an ensemble's warm-up builds every member's pair-row tables", async () => {
  const dir = bundledModelsDir();
  const engine = await Engine.create({ threads: 1, models: [path.join(dir, 'tiny-code-a'), path.join(dir, 'tiny-code-b')], ensembleWorkers: false });
  try {
    await engine.warm({ ...at, mode: 'token' }); // an ensemble's prompts are byte-mode prompts
    for (const b of engine.bundles) assert.equal(MergeValidity.for(b.tok).prepared(true), true, b.name);
  } finally {
    await engine.dispose();
  }
});

test('a warm-up cancelled before it runs builds nothing', async () => {
  const engine = await Engine.create({ threads: 1 });
  try {
    const mv = MergeValidity.for(engine.bundles[0].tok);
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(engine.warm({ ...at, mode: 'byte', signal: ac.signal }), { code: 'ABORTED' });
    assert.equal(mv.prepared(false), false);
  } finally {
    await engine.dispose();
  }
});
