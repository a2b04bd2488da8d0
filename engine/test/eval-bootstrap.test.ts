import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { pairedBootstrap, quantileSorted } from '../src/eval/bootstrap';
import { mulberry32, shuffled } from '../src/core/rng';

test('mulberry32: the same seed gives the same sequence', () => {
  assert.deepEqual(Array.from({ length: 5 }, mulberry32(42)), Array.from({ length: 5 }, mulberry32(42)));
});

test('mulberry32: another seed gives another sequence', () => {
  assert.notDeepEqual(Array.from({ length: 5 }, mulberry32(43)), Array.from({ length: 5 }, mulberry32(42)));
});

test('mulberry32: values lie in [0, 1)', () => {
  const a = mulberry32(42);
  assert.ok(Array.from({ length: 1000 }, () => a()).every((x) => x >= 0 && x < 1));
});

test('shuffled returns a permutation of its input', () => {
  assert.deepEqual(shuffled([1, 2, 3, 4, 5], mulberry32(1)).sort(), [1, 2, 3, 4, 5]);
});

test('quantileSorted interpolates', () => {
  assert.equal(quantileSorted([0, 10], 0.5), 5);
  assert.equal(quantileSorted([1, 2, 3], 1), 3);
  assert.equal(quantileSorted([1, 2, 3], 0), 1);
});

test('same seed gives the identical interval; another seed differs', () => {
  const rng = mulberry32(5);
  const a = Array.from({ length: 50 }, () => rng());
  const b = Array.from({ length: 50 }, () => rng());
  const r1 = pairedBootstrap(a, b, { seed: 9 });
  const r2 = pairedBootstrap(a, b, { seed: 9 });
  assert.deepEqual(r1, r2);
  const r3 = pairedBootstrap(a, b, { seed: 10 });
  assert.notEqual(r1.lo, r3.lo);
  assert.ok(r1.lo <= r1.diff && r1.diff <= r1.hi);
});

test('identical arrays give [0, 0]', () => {
  const a = [0.1, 0.5, 0.9, 1, 0];
  const r = pairedBootstrap(a, a.slice());
  assert.equal(r.diff, 0);
  assert.equal(r.lo, 0);
  assert.equal(r.hi, 0);
  assert.equal(r.meanA, r.meanB);
});

test('a clear shift gives an interval excluding 0', () => {
  const rng = mulberry32(11);
  const a = Array.from({ length: 100 }, () => rng());
  const b = a.map((x) => x + 0.2 + 0.05 * (rng() - 0.5));
  const r = pairedBootstrap(a, b, { resamples: 2000, seed: 1 });
  assert.ok(r.lo > 0.15 && r.hi < 0.25, JSON.stringify(r));
  assert.ok(Math.abs(r.diff - (r.meanB - r.meanA)) < 1e-12);
  const back = pairedBootstrap(b, a);
  assert.ok(back.hi < 0);
});

test('pairedBootstrap refuses arrays of different lengths', () => {
  assert.throws(() => pairedBootstrap([1], [1, 2]));
});

test('pairedBootstrap of no pairs gives a NaN interval', () => {
  assert.ok(Number.isNaN(pairedBootstrap([], []).lo));
});
