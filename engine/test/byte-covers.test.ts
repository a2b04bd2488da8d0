import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { CoverTree, END } from '../src/byte/cover-tree';
import { VocabIndex } from '../src/byte/vocab-index';
import { utf8Encode, startsWithBytes } from '../src/tokenizer/utf8';
import { SyntheticLM, tinyTokenizer } from './synthetic';
import { mulberry32 } from '../src/core/rng';

const tok = tinyTokenizer();
const index = new VocabIndex(tok);
const STOP = new Set([0]);

/**
 * Brute force: depth-first over ALL token sequences consistent with x (no use of the cover
 * structure), keeping valid ones (encode(decode(t)) == t) whose last token crosses the end of x;
 * sequences that end exactly at x are extended by one more token (or end-of-text).
 */
function bruteForceNextByte(x: Uint8Array, lm: SyntheticLM, context: number[]): Float64Array {
  const dist = new Float64Array(257);
  const V = tok.vocabSize;
  const visit = (seq: number[], bytes: Uint8Array, logp: number) => {
    const lp = lm.logp([...context, ...seq]);
    for (let id = 0; id < V; id++) {
      const w = logp + lp[id];
      if (id === 0) {
        if (bytes.length === x.length) dist[END] += Math.exp(w); // text ends exactly at x
        continue;
      }
      const tb = tok.tokenBytes(id);
      const nb = new Uint8Array(bytes.length + tb.length);
      nb.set(bytes);
      nb.set(tb, bytes.length);
      const overlap = Math.min(nb.length, x.length);
      if (!startsWithBytes(nb.subarray(0, overlap), x.subarray(0, overlap))) continue;
      const t = [...seq, id];
      const enc = tok.encodeBytes(nb);
      if (enc.length !== t.length || enc.some((e, i) => e !== t[i])) continue; // invalid
      if (nb.length > x.length) dist[nb[x.length]] += Math.exp(w);
      else visit(t, nb, w);
    }
  };
  visit([], new Uint8Array(0), 0);
  const s = dist.reduce((a, b) => a + b, 0);
  return dist.map((d) => d / s);
}

for (const text of ['a', 'ab', 'abc', ' a', ' ab', 'a b', 'c c', '  ', 'xé', 'x\u00c3']) {
  test(`next-byte distribution equals brute force: ${JSON.stringify(text)}`, async () => {
    const x = text === 'x\u00c3' ? Uint8Array.of(0x78, 0xc3) /* cut inside é */ : utf8Encode(text);
    const lm = new SyntheticLM(tok.vocabSize);
    const tree = await CoverTree.build(tok, index, lm, lm.ctx([5, 9]), x, { stopIds: STOP, uncheckedMass: 0 });
    const ours = tree.nextByteDistribution();
    const brute = bruteForceNextByte(x, lm, [5, 9]);
    let sum = 0;
    for (let b = 0; b < 257; b++) {
      assert.ok(Math.abs(ours[b] - brute[b]) < 1e-6, `byte ${b}: ${ours[b]} vs ${brute[b]}`);
      sum += ours[b];
    }
    assert.ok(Math.abs(sum - 1) < 1e-9);
  });
}

test('covers include the overhanging merges and exclude invalid tokenizations', async () => {
  const lm = new SyntheticLM(tok.vocabSize);
  const tree = await CoverTree.build(tok, index, lm, lm.ctx([]), utf8Encode('a'), { stopIds: STOP });
  const covers = tree.validCovers();
  const abId = tok.tokenId('ab')!;
  assert.ok(covers.some((c) => c.j === 0 && c.token === abId), 'token "ab" covers "a"');
  // "a" followed by "b" as two tokens is not valid (BPE would merge them): never a cover.
  const bId = tok.tokenId('b')!;
  assert.ok(!covers.some((c) => c.j === 1 && c.token === bId));
  const picked = tree.pick(true, mulberry32(1))!;
  assert.equal(picked.logw, covers[0].logw);
});

test('greedy pruning of branch rows keeps the argmax cover', async () => {
  for (const text of ['a', 'ab', ' ab', 'xé', 'c c', 'aab']) {
    for (const salt of [1, 2, 3, 4, 5]) {
      const x = utf8Encode(text);
      const lm = new SyntheticLM(tok.vocabSize, { salt });
      const full = await CoverTree.build(tok, index, lm, lm.ctx([salt]), x, { stopIds: STOP });
      const pruned = await CoverTree.build(tok, index, lm, lm.ctx([salt]), x, { stopIds: STOP, greedy: true });
      const a = full.pick(true, mulberry32(1))!;
      const b = pruned.pick(true, mulberry32(1))!;
      assert.deepEqual([b.j, b.token], [a.j, a.token], `${text} salt ${salt}`);
      assert.ok(pruned.rows.length <= full.rows.length);
    }
  }
});
