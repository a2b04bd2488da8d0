// The byte layer's ONNX LM (byte/onnx-lm.ts) on a bundled model: batched branch scores and the
// contexts made from them without a forward, checked against fresh prefills of the same tokens.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ModelBundle } from '../src/bundle/model-bundle';
import { OnnxBranchLM } from '../src/byte/onnx-lm';
import { LMContext, ScoredBranch } from '../src/byte/lm';
import { LogDist } from '../src/byte/log-dist';
import { modelDir } from './helpers';

const diff = (a: LogDist, b: LogDist) => a.array().reduce((m, x, i) => Math.max(m, Math.abs(Math.exp(x) - Math.exp(b.at(i)))), 0);
// Float32 logits through different KV paths agree to a few 1e-6 in probability.
const TOL = 2e-5;

describe('OnnxBranchLM (tiny-code-a)', () => {
  let b: ModelBundle;
  let lm: OnnxBranchLM;
  let ctx: LMContext;
  let scored: ScoredBranch[];
  let forwards = 0;
  const prompt = [10, 20, 30, 40];
  // Three branches: one a prefix of another, one on its own, and the empty branch.
  const branches = [[101, 102, 103], [101, 102], [200, 201], []];
  before(async () => {
    b = await ModelBundle.load(modelDir('tiny-code-a'), { device: 'cpu' });
    lm = new OnnxBranchLM(b.model);
    ctx = await lm.start(prompt);
    const f0 = lm.stats.forwards;
    scored = await lm.score(ctx, branches);
    forwards = lm.stats.forwards - f0;
  });
  after(async () => {
    await b.dispose();
  });

  /** log p(next | prompt ++ ids) from a fresh prefill. */
  const fresh = async (ids: number[]) => (await lm.start([...prompt, ...ids])).next;

  test('a set of branches is scored in one forward', () => {
    assert.equal(forwards, 1);
  });

  test("a branch that is a prefix of another gets the longer one's scores", () => {
    assert.deepEqual(scored[1].stepLogp, scored[0].stepLogp.slice(0, 2));
    assert.equal(scored[1].nexts[1], scored[0].nexts[1]);
  });

  test('every position of every branch matches a fresh prefill', async () => {
    for (const [k, ids] of branches.entries()) {
      for (let i = 0; i < ids.length; i++) {
        const d = diff(scored[k].nexts[i], await fresh(ids.slice(0, i + 1)));
        assert.ok(d < TOL, `branch ${k} position ${i}: ${d}`);
      }
    }
  });

  test('the empty branch is the context itself', () => {
    assert.equal(scored[3].extend(0), ctx);
    assert.deepEqual(scored[3].nexts, []);
  });

  test('a context from a prefix of a batched branch continues like a fresh prefill', async () => {
    // Row 0 of the batch, cut after its first token: the masked slots must not leak.
    const next = scored[0].extend(1);
    assert.equal(next.length, prompt.length + 1);
    const [cont] = await lm.score(next, [[555, 556]]);
    assert.ok(diff(cont.nexts[1], await fresh([101, 555, 556])) < TOL);
  });

  test("a context from a shorter row of the batch (left padding) continues like a fresh prefill", async () => {
    const [cont] = await lm.score(scored[2].extend(2), [[7]]);
    assert.ok(diff(cont.nexts[0], await fresh([200, 201, 7])) < TOL);
  });

  test('a position an earlier call on the same context normalized is reused, the new one matches a fresh prefill', async () => {
    const longer = await lm.score(ctx, [[101, 102, 103, 104]]);
    for (let i = 0; i < 3; i++) assert.equal(longer[0].nexts[i], scored[0].nexts[i], `position ${i} normalized again`);
    const d = diff(longer[0].nexts[3], await fresh([101, 102, 103, 104]));
    assert.ok(d < TOL, `new position: ${d}`);
  });

  test('continueWith gives the logits of a fresh prefill after the context and the extra tokens', async () => {
    const { logits } = await lm.continueWith(scored[1].extend(2), [9, 8]);
    const ref = await b.model.forward(null, [[...prompt, 101, 102, 9, 8]]);
    let d = 0;
    for (let i = 0; i < logits.length; i++) d = Math.max(d, Math.abs(logits[i] - ref.logits[0][0][i]));
    assert.ok(d < 1e-3, `max |logit diff| ${d}`);
  });
});
