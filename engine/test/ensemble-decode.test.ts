// Ensemble completion through the Engine (two bundled models with different tokenizers).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Engine } from '../src/index';
import '../src/ensemble/index';
import { completeEnsembleWith } from '../src/ensemble/decode';
import { modelDir } from './helpers';

test('two-model ensemble: completes, deterministic under greedy, byte mode only, cancellable', async () => {
  for (const ensemble of ['mixture', 'product'] as const) {
    const engine = await Engine.create({ models: [modelDir('tiny-code-a'), modelDir('tiny-code-b')], device: 'cpu', ensemble });
    try {
      const req = { prefix: 'def add(a, b):\n    return', suffix: '\n\nprint(add(1, 2))\n', maxTokens: 8, stop: ['\n'] };
      const r1 = await engine.complete(req);
      const r2 = await engine.complete(req);
      assert.ok(r1.completion.length > 0, `${ensemble}: empty completion`);
      assert.equal(r1.completion, r2.completion);
      assert.deepEqual(r1.models, ['tiny-code-a', 'tiny-code-b']);
      assert.equal(r1.mode, 'byte');
      assert.ok(['stop', 'eot', 'max_tokens'].includes(r1.stopReason));
      assert.ok(r1.generatedTokens <= 32);
      assert.ok(!r1.completion.includes('\n'));
      if (ensemble === 'mixture') {
        // Mid-identifier cursor: the members cut the prefix at different points.
        const mid = await engine.complete({ prefix: 'import os\nfor name in os.listd', suffix: '', maxTokens: 6 });
        assert.ok(mid.completion.length > 0);
        await assert.rejects(engine.complete({ ...req, mode: 'token' }), (e: any) => e.code === 'UNSUPPORTED' && /byte/.test(e.message));
        await assert.rejects(engine.complete({ ...req, mode: 'heal' }), (e: any) => e.code === 'UNSUPPORTED');
        // Cancellation: a signal fired during decoding stops it; one fired before never starts it.
        const ac = new AbortController();
        const t0 = Date.now();
        setTimeout(() => ac.abort(), 150);
        const r = await engine.complete({ prefix: 'class Stack:\n    def __init__(self):\n', suffix: '', maxTokens: 400, signal: ac.signal });
        assert.equal(r.stopReason, 'aborted');
        assert.ok(Date.now() - t0 < 5000);
        const pre = new AbortController();
        pre.abort();
        await assert.rejects(engine.complete({ ...req, signal: pre.signal }), (e: any) => e.code === 'ABORTED');
        // Sampling with a seed is reproducible; weights (1, 0) follow the first model alone.
        const s1 = await engine.complete({ ...req, sampling: { temperature: 0.8, seed: 7 } });
        const s2 = await engine.complete({ ...req, sampling: { temperature: 0.8, seed: 7 } });
        assert.equal(s1.completion, s2.completion);
        const only = await completeEnsembleWith(
          engine.bundles.map((bundle, k) => ({ bundle, weight: k === 0 ? 1 : 0 })),
          { ...req, maxBytes: 12 },
        );
        assert.ok(only.bytes <= 12);
      }
    } finally {
      await engine.dispose();
    }
  }
});
