// Engine.warm: prefills what a completion at the same point prefills (so that request is a whole-
// prompt cache hit), at low priority (any later complete call preempts it), with the bundled model.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { BytefillError, BoundaryMode, Engine } from '../src/index';

let engine: Engine;
before(async () => {
  engine = await Engine.create({ threads: 1 });
});
after(async () => {
  await engine?.dispose();
});

/** A prompt of a few hundred tokens, different per `tag` (so nothing of it is cached before). */
function point(tag: string): { prefix: string; suffix: string } {
  const lines: string[] = [];
  for (let i = 0; i < 40; i++) lines.push(`def ${tag}_step_${i}(values, scale=${i}):\n    return [v * scale + ${i} for v in values]\n`);
  return { prefix: lines.join('\n') + `\ndef ${tag}_total(values):\n    return sum(${tag}_st`, suffix: '\n\nprint(total([1, 2, 3]))\n' };
}

const counters = () => engine.cacheInfo()[0];

for (const mode of ['byte', 'token', 'heal'] as BoundaryMode[]) {
  test(`${mode} mode: after a warm-up, a completion at that point computes no prompt token`, async () => {
    const p = point(`w${mode}`);
    const w = await engine.warm({ ...p, mode });
    assert.equal(w.models.length, 1);
    assert.ok(w.models[0].computedTokens > 100, `the warm-up ran the prompt (${JSON.stringify(w.models[0])})`);
    const before = counters();
    const r = await engine.complete({ ...p, mode, maxTokens: 4 });
    const afterC = counters();
    assert.equal(r.promptTokens, w.models[0].promptTokens, 'the same prompt');
    assert.equal(r.cachedTokens, r.promptTokens, 'the whole prompt came from the cache');
    assert.equal(afterC.computedTokens, before.computedTokens, 'the request prefilled nothing');
    assert.equal(afterC.fullHits, before.fullHits + 1);
  });
}

test('a completion called while a warm-up is queued preempts it: the warm-up is cancelled, the completion answers', async () => {
  const p = point('preempt');
  const before = { ...engine.warmCounts };
  const order: string[] = [];
  const warm = engine.warm({ ...p, mode: 'byte' }).then(
    () => order.push('warm finished'),
    (e: BytefillError) => order.push(`warm ${e.code}`),
  );
  const done = engine.complete({ ...point('other'), mode: 'byte', maxTokens: 4 }).then((r) => order.push(`complete ${r.stopReason === 'aborted' ? 'aborted' : 'answered'}`));
  await Promise.all([warm, done]);
  assert.deepEqual(order, ['warm ABORTED', 'complete answered'], 'the warm-up gave way before the completion ran');
  assert.equal(engine.warmCounts.preempted, before.preempted + 1);
  assert.equal(engine.warmCounts.finished, before.finished);
});

test('a cancelled warm-up keeps the chunks it computed for the next request', async () => {
  const small = await Engine.create({ threads: 1, prefillChunkTokens: 16 });
  try {
    const p = point('partial');
    const ac = new AbortController();
    let chunks = 0;
    // Abort once the first chunks are in (the prefill yields between chunks).
    const warm = small.warm({ ...p, mode: 'byte', signal: ac.signal });
    const poll = setInterval(() => {
      chunks = small.cacheInfo()[0].computedTokens;
      if (chunks >= 32) ac.abort();
    }, 1);
    await assert.rejects(warm, (e: BytefillError) => e.code === 'ABORTED');
    clearInterval(poll);
    const computed = small.cacheInfo()[0].computedTokens;
    const r = await small.complete({ ...p, mode: 'byte', maxTokens: 2 });
    assert.ok(computed > 0 && computed < r.promptTokens, `the warm-up stopped part way (${computed} of ${r.promptTokens})`);
    assert.ok((r.cachedTokens ?? 0) >= computed - 16, `the request reused what the warm-up computed (${r.cachedTokens} of ${computed})`);
  } finally {
    await small.dispose();
  }
});
