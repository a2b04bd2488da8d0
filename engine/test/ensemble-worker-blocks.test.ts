// A member worker's distributions come with their sums by the byte layer's probability blocks once
// the decoding thread's byte layer has set them (VocabIndex.cumulativeMass): the worker's exp pass
// sums them, and they equal the sums the decoding thread's own pass makes.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ModelBundle } from '../src/bundle/model-bundle';
import { MemberWorker, startMemberWorkers } from '../src/ensemble/index';
import { LogDist } from '../src/byte/log-dist';
import { expSums } from '../src/decode/distribution';
import { modelDir } from './helpers';

describe('block sums from a member worker (tiny-code-b)', () => {
  let bundle: ModelBundle;
  let worker: MemberWorker;
  before(async () => {
    bundle = await ModelBundle.load(modelDir('tiny-code-b'), { device: 'cpu' });
    [worker] = await startMemberWorkers([bundle], {});
  });
  after(async () => {
    await worker.dispose();
    await bundle.dispose();
  });
  const ids = () => bundle.tok.encode('def add(a, b):\n    return a');

  test('before the byte layer has used a distribution, none comes with block sums', async () => {
    const lm = worker.open();
    const ctx = await lm.start(ids());
    assert.equal(ctx.next.blockSums, undefined);
    lm.close();
  });

  test('after it, scored distributions carry the block sums of the main thread, and the same prefix masses', async () => {
    const lm = worker.open();
    const ctx = await lm.start(ids());
    // The first use sets the member's blocks; the next call sends them to the worker.
    bundle.index.cumulativeMass(ctx.next);
    assert.ok(worker.plan.blockOf, 'the byte layer set the blocks');
    const [branch] = await lm.score(ctx, [bundle.tok.encode(' + b\n')]);
    assert.ok(branch.nexts.length > 0);
    for (const d of branch.nexts) {
      assert.ok(d.blockSums, 'the worker summed the blocks');
      assert.equal(d.blockOf, worker.plan.blockOf);
      const own: Float64Array = expSums(d.logits as Float32Array, worker.plan.blockOf!, worker.plan.count).binSums!;
      assert.equal(d.blockSums!.length, own.length);
      for (let b = 0; b < own.length; b++) assert.ok(Math.abs(d.blockSums![b] - own[b]) <= 1e-12 * d.sum, `block ${b}: ${d.blockSums![b]} vs ${own[b]}`);
      // The prefix sums from the worker's blocks and from a pass here (a copy without them).
      const bare = new LogDist(d.logits, d.max, d.sum);
      const a = bundle.index.cumulativeMass(d);
      const c = bundle.index.cumulativeMass(bare);
      for (let k = 0; k <= bundle.index.sorted.length; k += 97) assert.ok(Math.abs(a.at(k) - c.at(k)) <= 1e-12, `at ${k}`);
    }
    lm.close();
  });
});
