// The sorted vocabulary (byte/vocab-index.ts): tokens extending a prefix are one contiguous range,
// so their probability mass is a difference of prefix sums. Checked against summing over the whole
// vocabulary, for prefixes taken from every token and for random byte strings.
import test from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Tokenizer } from '../src/tokenizer/tokenizer';
import { VocabIndex } from '../src/byte/vocab-index';
import { logSoftmax } from '../src/decode/distribution';
import { LogDist, MassPlan } from '../src/byte/log-dist';
import { mulberry32 } from '../src/core/rng';
import { modelDir } from './helpers';

function startsWith(b: Uint8Array, p: Uint8Array): boolean {
  if (b.length < p.length) return false;
  for (let i = 0; i < p.length; i++) if (b[i] !== p[i]) return false;
  return true;
}

test('vocab index: prefix mass equals the sum over the tokens extending the prefix', () => {
  const tok = Tokenizer.fromFile(path.join(modelDir('tiny-code-b'), 'tokenizer.json'));
  const index = new VocabIndex(tok);
  const bytes = tok.normalTokenBytes();
  const rnd = mulberry32(7);
  const logits = new Float32Array(tok.vocabSize).map(() => 6 * (rnd() - 0.5));
  const logp = logSoftmax(logits);
  const cum = index.cumulativeMass(LogDist.fromLogp(logp));
  const prefixes: Uint8Array[] = [new Uint8Array(0)];
  for (let t = 0; t < tok.vocabSize; t += 3) for (let k = 1; k <= bytes[t].length; k++) prefixes.push(bytes[t].subarray(0, k));
  for (let i = 0; i < 300; i++) prefixes.push(Uint8Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => Math.floor(rnd() * 256)));
  let nonEmpty = 0;
  for (const p of prefixes) {
    let all = 0;
    let longer = 0;
    for (let t = 0; t < bytes.length; t++) {
      if (bytes[t].length === 0 || !startsWith(bytes[t], p)) continue;
      all += Math.exp(logp[t]);
      if (bytes[t].length > p.length) longer += Math.exp(logp[t]);
    }
    if (all > 0) nonEmpty++;
    assert.ok(Math.abs(index.prefixMass(cum, p) - all) < 1e-9, `prefix ${JSON.stringify([...p])}: ${index.prefixMass(cum, p)} vs ${all}`);
    assert.ok(Math.abs(index.prefixMass(cum, p, true) - longer) < 1e-9, `prefix ${JSON.stringify([...p])} (longer): ${index.prefixMass(cum, p, true)} vs ${longer}`);
  }
  assert.ok(nonEmpty > 1000, `only ${nonEmpty} prefixes had tokens`);
});

test('vocab index: prefix sums from block sums an LM made in its log-softmax equal those of its own pass', () => {
  const tok = Tokenizer.fromFile(path.join(modelDir('tiny-code-b'), 'tokenizer.json'));
  const index = new VocabIndex(tok);
  const rnd = mulberry32(11);
  const plan: MassPlan = { blockOf: null, count: 0 };
  // The first position sets the plan's blocks; the next one is summed by them in the log-softmax.
  const first = LogDist.fromLogits(new Float32Array(tok.vocabSize).map(() => 6 * (rnd() - 0.5)), plan);
  index.cumulativeMass(first);
  assert.ok(plan.blockOf !== null, 'the index did not hand its blocks to the LM');
  const logits = new Float32Array(tok.vocabSize).map(() => 6 * (rnd() - 0.5));
  const second = LogDist.fromLogits(logits, plan);
  assert.ok(second.blockSums, 'no block sums from the log-softmax');
  const fused = index.cumulativeMass(second);
  const own = index.cumulativeMass(LogDist.fromLogits(logits));
  for (let k = 0; k <= index.sorted.length; k++) assert.ok(Math.abs(fused.at(k) - own.at(k)) < 1e-12, `position ${k}: ${fused.at(k)} vs ${own.at(k)}`);
});
