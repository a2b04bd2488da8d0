// The sampler picks exactly what sorting the whole vocabulary would pick, without sorting it.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { softmax } from '../src/decode/distribution';
import { mulberry32 } from '../src/core/rng';
import { keptBySorting, pickBySorting, Sampler } from '../src/decode/sampler';
import { SamplingOptions } from '../src/core/types';
import { measureBandwidth, measureSampling } from '../src/index';

const V = 151936;

function randomLogits(seed: number, std: number): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(V);
  for (let i = 0; i < V; i++) {
    // Sum of uniforms: roughly normal.
    out[i] = (r() + r() + r() + r() - 2) * std * 1.7;
  }
  return out;
}

const CASES: Array<[string, SamplingOptions]> = [
  ['top-k 40', { temperature: 0.8, topK: 40 }],
  ['top-p 0.9', { temperature: 1, topP: 0.9 }],
  ['top-k 50 + top-p 0.95', { temperature: 0.7, topK: 50, topP: 0.95 }],
];

for (const [name, o] of CASES) {
  test(`${name}: the kept set is the one sorting all ${V} ids gives, sampled in proportion`, () => {
    const p = softmax(randomLogits(7, 3), o.temperature);
    const kept = keptBySorting(o, p);
    const keptSet = new Set(kept);
    const s = new Sampler({ ...o, seed: 99 });
    // The most likely kept id: its frequency must match its share of the kept mass.
    let mass = 0;
    for (const i of kept) mass += p[i];
    const best = kept[0];
    let hits = 0;
    const draws = 3000;
    for (let d = 0; d < draws; d++) {
      const id = s.pick(p);
      assert.ok(keptSet.has(id), `picked ${id}, outside the kept set of ${kept.length}`);
      if (id === best) hits++;
    }
    const share = p[best] / mass;
    const sd = Math.sqrt((share * (1 - share)) / draws);
    assert.ok(Math.abs(hits / draws - share) < 5 * sd + 1e-3, `best id frequency ${hits / draws} vs share ${share}`);
  });
}

test('ties at the cut are kept by lowest id, as a stable sort orders them', () => {
  const p = new Float64Array(1000);
  for (const i of [10, 20, 30, 40]) p[i] = 0.25;
  const s = new Sampler({ temperature: 1, topK: 2, seed: 1 });
  const seen = new Set<number>();
  for (let d = 0; d < 200; d++) seen.add(s.pick(p));
  assert.deepEqual([...seen].sort((a, b) => a - b), keptBySorting({ topK: 2 }, p).sort((a, b) => a - b));
});

test('temperature only: no ordering, picks follow the probabilities', () => {
  const p = new Float64Array(V).fill(0.2 / (V - 2));
  p[100] = 0.5;
  p[90000] = 0.3;
  const s = new Sampler({ temperature: 1, seed: 8 });
  const n = 4000;
  let a = 0;
  let b = 0;
  for (let d = 0; d < n; d++) {
    const id = s.pick(p);
    if (id === 100) a++;
    else if (id === 90000) b++;
  }
  assert.ok(Math.abs(a / n - 0.5) < 0.04 && Math.abs(b / n - 0.3) < 0.04, `frequencies ${a / n} ${b / n}`);
});

test('picks stay inside the top-k/top-p set and the allowed ids', () => {
  const o: SamplingOptions = { temperature: 1, topK: 30, topP: 0.8 };
  const p = softmax(randomLogits(8, 2), 1);
  const allowed = (i: number) => i % 3 !== 0;
  const set = new Set(keptBySorting(o, p, allowed));
  const s = new Sampler({ ...o, seed: 4 });
  for (let d = 0; d < 300; d++) {
    const id = s.pick(p, allowed);
    assert.ok(set.has(id), `picked ${id} outside the kept set`);
    assert.ok(allowed(id));
  }
});

test('ids with zero probability are never picked, and nothing allowed gives -1', () => {
  const p = new Float64Array(V);
  p[5] = 0.25;
  p[77777] = 0.75;
  const s = new Sampler({ temperature: 1, topP: 0.99, seed: 3 });
  for (let d = 0; d < 100; d++) assert.ok([5, 77777].includes(s.pick(p)));
  assert.equal(s.pick(p, () => false), -1);
  assert.equal(new Sampler({ temperature: 1, seed: 3 }).pick(p, (i) => i !== 5 && i !== 77777), -1);
});

test('a flat distribution (every id in one bucket) still samples correctly', () => {
  const p = new Float64Array(V).fill(1 / V);
  const s = new Sampler({ temperature: 1, topK: 10, seed: 2 });
  for (let d = 0; d < 20; d++) assert.ok(s.pick(p) < 10, 'ties go to the lowest ids, as in the sorted order');
});

test('sampling at 151,936 ids is faster than sorting them (same run)', () => {
  const o: SamplingOptions = { temperature: 0.8, topK: 40, topP: 0.95 };
  const p = softmax(randomLogits(9, 3), 0.8);
  const s = new Sampler({ ...o, seed: 1 });
  for (let i = 0; i < 2; i++) (s.pick(p), pickBySorting(o, 0.5, p)); // warm-up (JIT)
  let t0 = performance.now();
  for (let i = 0; i < 5; i++) s.pick(p);
  const fast = performance.now() - t0;
  t0 = performance.now();
  for (let i = 0; i < 5; i++) pickBySorting(o, 0.5, p);
  // (each sorting pick sorts all ids once, as the sampler did before)
  const slow = performance.now() - t0;
  assert.ok(fast < slow, `pick ${fast.toFixed(1)} ms vs sorting ${slow.toFixed(1)} ms`);
});

test('measureSampling and measureBandwidth (the bench entries) return positive figures', async () => {
  const s = measureSampling(randomLogits(3, 3), { temperature: 0.8, topK: 40, topP: 0.95 }, 2);
  assert.equal(s.vocab, V);
  assert.ok(s.sampleMs > 0 && s.sortingMs > 0);
  const b = await measureBandwidth(1, 16 * 2 ** 20, 1);
  assert.ok(Number.isFinite(b.gbPerS) && b.gbPerS > 0);
});
