// The prefix KV cache: chunked, cancellable prefill whose partial KV is kept, and a byte budget
// derived from the model's shape. Real onnxruntime sessions on the bundled tiny-code-a.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { assertClose as close, pseudoIds as ids } from './helpers';
import { BytefillError } from '../src/core/types';
import { Engine } from '../src/api/engine';
import { OnnxModel } from '../src/model/onnx-model';
import { kvBytesPerToken, PrefixCache } from '../src/model/prefix-cache';

const MODELS = path.resolve(__dirname, '../../../models');

describe('prefix cache: chunks, cancellation, byte budget (tiny-code-a)', () => {
  let m: OnnxModel;
  before(async () => {
    m = await OnnxModel.load(path.join(MODELS, 'tiny-code-a'), { device: 'cpu', threads: 2 });
  });
  after(async () => m.dispose());

  test('bytes per token follow the model shape: layers x KV heads x head size x 2 x 4 bytes', () => {
    const c = m.config;
    const cache = new PrefixCache(m);
    assert.equal(cache.bytesPerToken, c.numLayers * c.numKvHeads * c.headDim * 2 * 4);
    assert.equal(kvBytesPerToken({ numLayers: 24, numKvHeads: 2, headDim: 64, dtype: 'float16' }), 24 * 2 * 64 * 2 * 2);
  });

  test('a prefill in chunks gives the same last logits as one forward (1e-4)', async () => {
    const seq = ids(300, 3, m.config.vocabSize);
    const whole = await m.forward(null, [seq]);
    const chunks: number[] = [];
    const r = await new PrefixCache(m, { chunkTokens: 64 }).prefill(seq, { onChunk: (done) => chunks.push(done) });
    assert.deepEqual(chunks, [64, 128, 192, 256, 300]);
    assert.equal(r.computed, 300);
    close(r.lastLogits, whole.logits[0][0], 1e-4, 'chunked prefill');
  });

  test('a prefill cancelled between chunks keeps its KV: the next prompt with that prefix reuses it', async () => {
    const cache = new PrefixCache(m, { chunkTokens: 64 });
    const seq = ids(300, 5, m.config.vocabSize);
    const ac = new AbortController();
    await assert.rejects(
      cache.prefill(seq, { signal: ac.signal, onChunk: (done) => done >= 128 && ac.abort() }),
      (e: unknown) => e instanceof BytefillError && e.code === 'ABORTED',
    );
    assert.equal(cache.size, 1, 'the partial prefill is cached');
    assert.equal(cache.bytes, cache.entryBytes(128));
    // The user typed on: the new prompt extends the cancelled one.
    const next = [...seq, 11, 12];
    const r = await cache.prefill(next);
    assert.equal(r.reused, 128, 'tokens taken from the cancelled prefill');
    assert.equal(r.computed, next.length - 128, 'only the rest was prefilled');
    const fresh = await m.forward(null, [next]);
    close(r.lastLogits, fresh.logits[0][0], 1e-4, 'resumed prefill');
  });

  test('the cache stays within its byte budget, evicting least recently used entries', async () => {
    const V = m.config.vocabSize;
    const probe = new PrefixCache(m);
    const maxBytes = Math.floor(probe.entryBytes(100) * 2.5);
    const cache = new PrefixCache(m, { maxEntries: 10, maxBytes });
    const prompts = [1, 2, 3, 4].map((seed) => ids(100, 100 + seed, V));
    for (const p of prompts) {
      await cache.prefill(p);
      assert.ok(cache.bytes <= maxBytes, `${cache.bytes} > ${maxBytes}`);
    }
    assert.equal(cache.size, 2, 'two 100-token entries fit in 2.5 entries of budget');
    // The oldest prompts were evicted, the two newest stay.
    assert.equal((await cache.prefill(prompts[3])).computed, 0);
    assert.equal((await cache.prefill(prompts[0])).reused, 0);
    // A prompt larger than the whole budget is served but not kept.
    const big = ids(300, 9, V);
    await cache.prefill(big);
    assert.ok(cache.bytes <= maxBytes);
    assert.equal((await cache.prefill(big)).reused, 0);
    assert.deepEqual(
      { entries: cache.stats().entries, maxBytes: cache.stats().maxBytes },
      { entries: cache.size, maxBytes },
    );
  });

  test('Engine: kvCacheMB sets each model cache budget; bad values are refused with the field named', async () => {
    const e = await Engine.create({ models: [path.join(MODELS, 'tiny-code-a')], device: 'cpu', kvCacheMB: 3, prefillChunkTokens: 128 });
    try {
      const [info] = e.cacheInfo();
      assert.equal(info.maxBytes, 3 * 2 ** 20);
      assert.equal(info.chunkTokens, 128);
      assert.equal(info.bytesPerToken, 8 * 5 * 64 * 2 * 4);
      // A long prompt (about 800 tokens = 16 MB of KV) does not fit in 3 MiB: not kept.
      const prefix = 'x = compute(alpha, beta)  # padding\n'.repeat(200);
      const r = await e.complete({ prefix, suffix: '', mode: 'token', maxTokens: 1 });
      assert.ok(r.promptTokens * info.bytesPerToken > 3 * 2 ** 20);
      assert.ok(e.cacheInfo()[0].bytes <= 3 * 2 ** 20);
    } finally {
      await e.dispose();
    }
    await assert.rejects(Engine.create({ kvCacheMB: -1 }), /kvCacheMB must be a non-negative number/);
    await assert.rejects(Engine.create({ prefillChunkTokens: 0 }), /prefillChunkTokens must be a positive integer/);
  });
});
