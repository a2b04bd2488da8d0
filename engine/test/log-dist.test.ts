// The byte layer's next-token distribution (byte/log-dist.ts): one id read off the logits is the
// log-softmax's entry, and the exact next-byte path never makes the vocabulary-size array.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { LogDist } from '../src/byte/log-dist';
import { BranchLM, LMContext, ScoredBranch } from '../src/byte/lm';
import { OnnxBranchLM } from '../src/byte/onnx-lm';
import { ByteStream } from '../src/byte/byte-stream';
import { ModelBundle } from '../src/bundle/model-bundle';
import { expTerm, logSoftmax, sumExp } from '../src/decode/distribution';
import { mulberry32 } from '../src/core/rng';
import { utf8Encode } from '../src/tokenizer/utf8';
import { modelDir } from './helpers';

test('at(id) equals the materialised array and the log-softmax of random logits', () => {
  const rnd = mulberry32(3);
  for (const scale of [1, 12, 80]) {
    const logits = new Float32Array(5000).map(() => scale * (rnd() - 0.5));
    logits[17] = -Infinity;
    const d = LogDist.fromLogits(logits, { blockOf: null, count: 0 });
    const ref = logSoftmax(logits);
    assert.equal(d.length, logits.length);
    for (let id = 0; id < logits.length; id++) assert.equal(d.at(id), ref[id], `scale ${scale}, id ${id}`);
    assert.equal(d.materialised, false);
    const full = d.array();
    assert.equal(d.materialised, true);
    for (let id = 0; id < logits.length; id++) assert.equal(full[id], d.at(id), `scale ${scale}, id ${id}`);
    assert.equal(d.array(), full, 'the array is made once');
  }
});

test('expTerm gives the bits of sumExp\'s terms (the byte layer\'s loops take their exps from it)', () => {
  const rnd = mulberry32(11);
  const values = new Float64Array(20000).map(() => -699.9 * rnd() ** 3);
  values[0] = 0;
  values[1] = -800;
  // sumExp over one value is that value's term.
  for (let i = 0; i < values.length; i++) assert.equal(expTerm(values[i]), sumExp(values, 0, i, i + 1), `x ${values[i]}`);
});

/** A real LM that keeps every distribution it hands out. */
class Recorded implements BranchLM {
  readonly dists: LogDist[] = [];
  constructor(readonly lm: OnnxBranchLM) {}
  get vocabSize(): number {
    return this.lm.vocabSize;
  }
  get maxPositions(): number {
    return this.lm.maxPositions;
  }
  get stats() {
    return this.lm.stats;
  }
  async start(ids: number[]): Promise<LMContext> {
    const c = await this.lm.start(ids);
    this.dists.push(c.next);
    return c;
  }
  async score(ctx: LMContext, branches: number[][]): Promise<ScoredBranch[]> {
    const out = await this.lm.score(ctx, branches);
    for (const b of out) this.dists.push(...b.nexts);
    return out;
  }
}

describe('the exact next-byte path on tiny-code-b', () => {
  let b: ModelBundle;
  before(async () => {
    b = await ModelBundle.load(modelDir('tiny-code-b'), { device: 'cpu' });
  });
  after(async () => {
    await b.dispose();
  });

  test('reads the distributions without making their arrays', async () => {
    const lm = new Recorded(new OnnxBranchLM(b.model));
    const prompt = b.tok.encode('import os\n');
    const s = await ByteStream.create(lm, b.tok, b.index, await lm.start(prompt), prompt, new Uint8Array(0), { stopIds: b.template.stopIds, uncheckedMass: 0, lazyMass: 0 });
    let total = 0;
    for (const byte of utf8Encode('def f(x):\n    return x  # é\n')) {
      const dist = s.nextByteDistribution();
      total += dist[byte];
      await s.push(byte);
    }
    s.nextByteDistribution();
    assert.ok(total > 0, 'the walk gave its bytes no mass');
    assert.ok(lm.dists.length > 20, `only ${lm.dists.length} distributions scored`);
    const made = lm.dists.filter((d) => d.materialised).length;
    assert.equal(made, 0, `${made} of ${lm.dists.length} distributions made their arrays`);
  });
});
