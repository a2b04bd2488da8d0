// The candidates checked in a row inside a token (byte/prob-buckets.ts checkedInRange) on real
// models and tokenizers: every candidate that taking the heaviest first until at most eps of the
// range's mass is left would check (the selection by sorting the range), and at most eps unchecked.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ModelBundle } from '../src/bundle/model-bundle';
import { OnnxBranchLM } from '../src/byte/onnx-lm';
import { LogDist } from '../src/byte/log-dist';
import { BUCKETS_PER_NAT, bucketOf, checkedInRange, N_BUCKETS } from '../src/byte/prob-buckets';
import { utf8Encode } from '../src/tokenizer/utf8';
import { modelDir } from './helpers';

test('bucketOf is the clamped floor of -logp * BUCKETS_PER_NAT, NaN for NaN', () => {
  const floorBucket = (lp: number) => Math.min(N_BUCKETS - 1, Math.max(0, Math.floor(-lp * BUCKETS_PER_NAT)));
  const cases = [0.3, 0, -0, -0.25, -0.2500001, -1e-300, -7.75, -39.99, -40, -40.25, -1e10, -Infinity, 2];
  for (let k = 0; k < 5000; k++) cases.push(-k / 97);
  for (const lp of cases) assert.equal(bucketOf(lp), floorBucket(lp), `log p ${lp}`);
  assert.ok(Number.isNaN(bucketOf(NaN)));
});

/** The ids taken heaviest first (ties in range order) while more than eps of the range's mass is left. */
function heaviestFirst(next: LogDist, ids: Int32Array, eps: number): Set<number> {
  const ws = Array.from(ids, (id) => Math.exp(next.at(id)));
  const total = ws.reduce((a, b) => a + b, 0);
  const order = ws.map((_, i) => i).sort((a, b) => ws[b] - ws[a] || a - b);
  const out = new Set<number>();
  let rem = total;
  for (const i of order) {
    if (!(rem > eps * total)) break;
    out.add(ids[i]);
    rem -= ws[i];
  }
  return out;
}

const PROMPTS = ['def add(a, b):\n    return', 'import os\nfor name in os.', 'class Stack:\n    def push(self, item):\n        self.'];
const SUFFIXES = [' ', ' s', 'se', '(', '\n', 'i'];

for (const name of ['tiny-code-a', 'tiny-code-b'] as const) {
  describe(`checked candidates of a range on ${name}`, () => {
    let b: ModelBundle;
    let dists: LogDist[] = [];
    before(async () => {
      b = await ModelBundle.load(modelDir(name), { device: 'cpu' });
      const lm = new OnnxBranchLM(b.model);
      for (const p of PROMPTS) dists.push((await lm.start(b.tok.encode(p))).next);
    });
    after(async () => {
      dists = [];
      await b.dispose();
    });

    test('the heaviest-first selection is among the checked ones, and at most eps of the mass is left unchecked', () => {
      let ranges = 0;
      for (const next of dists) {
        for (const suf of SUFFIXES) {
          const [lo, hi] = b.index.range(utf8Encode(suf));
          if (hi - lo < 2) continue;
          ranges++;
          const ids = b.index.sorted.subarray(lo, hi);
          const total = Array.from(ids, (id) => Math.exp(next.at(id))).reduce((a, c) => a + c, 0);
          for (const eps of [1e-6, 1e-4, 1e-2, 0.3, 0.9]) {
            const checked = new Map<number, number>();
            checkedInRange(next, b.index.sorted, lo, hi, eps, (id, p, k) => {
              assert.equal(b.index.sorted[k], id);
              checked.set(id, p);
            });
            for (const id of heaviestFirst(next, ids, eps)) assert.ok(checked.has(id), `${JSON.stringify(suf)} eps ${eps}: id ${id} not checked`);
            let unchecked = 0;
            for (const id of ids) if (!checked.has(id)) unchecked += Math.exp(next.at(id));
            assert.ok(unchecked <= eps * total * (1 + 1e-12), `${JSON.stringify(suf)} eps ${eps}: ${unchecked} unchecked of ${total}`);
            for (const [id, p] of checked) assert.ok(Math.abs(p - Math.exp(next.at(id))) <= 1e-12 * p + 1e-300, `p of ${id}`);
          }
        }
      }
      assert.ok(ranges >= 12, `${ranges} ranges`);
    });
  });
}
