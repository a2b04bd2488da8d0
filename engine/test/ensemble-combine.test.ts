import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { combine, combineMixture, combineProduct, normalizeWeights } from '../src/ensemble/combine';
import { utf8Allowed } from '../src/ensemble/decode';
import { END } from '../src/byte/cover-tree';
import { mulberry32 } from '../src/core/rng';

function randomDist(seed: number, zeros = 0): Float64Array {
  const rng = mulberry32(seed);
  const d = new Float64Array(257);
  for (let i = 0; i < 257; i++) d[i] = i < zeros ? 0 : rng() + 1e-3;
  const z = d.reduce((a, b) => a + b, 0);
  return d.map((x) => x / z);
}

const sum = (d: Float64Array) => d.reduce((a, b) => a + b, 0);
const maxDiff = (a: Float64Array, b: Float64Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

for (const mode of ['mixture', 'product'] as const) {
  test(`${mode}: the combined distribution sums to 1`, () => {
    assert.ok(Math.abs(sum(combine(mode, [randomDist(1), randomDist(2)], [0.3, 0.7])) - 1) < 1e-12);
  });

  test(`${mode}: a model combined with itself is itself`, () => {
    const p = randomDist(1);
    assert.ok(maxDiff(combine(mode, [p, p], [0.5, 0.5]), p) < 1e-12);
  });

  test(`${mode}: weights (1, 0) give the first distribution`, () => {
    const p = randomDist(1);
    assert.ok(maxDiff(combine(mode, [p, randomDist(2)], [1, 0]), p) < 1e-12);
  });
}

test('product: a byte that a weighted member gives 0 gets 0, and the rest still sums to 1', () => {
  const r = combineProduct([randomDist(3, 10), randomDist(4)], [0.5, 0.5]);
  for (let i = 0; i < 10; i++) assert.equal(r[i], 0);
  assert.ok(Math.abs(sum(r) - 1) < 1e-12);
});

test('product with equal weights is the normalised geometric mean (one entry by hand)', () => {
  const p = randomDist(3, 10);
  const q = randomDist(4);
  const r = combineProduct([p, q], [0.5, 0.5]);
  const z = Array.from(p).reduce((a, x, i) => a + Math.sqrt(x * q[i]), 0);
  assert.ok(Math.abs(r[20] - Math.sqrt(p[20] * q[20]) / z) < 1e-12);
});

test('product: members with disjoint supports fall back to the mixture', () => {
  const a = new Float64Array(257);
  const b = new Float64Array(257);
  a[1] = 1;
  b[2] = 1;
  assert.deepEqual(Array.from(combineProduct([a, b], [1, 1])), Array.from(combineMixture([a, b], [1, 1])));
});

test('weights are normalised to sum 1', () => {
  assert.deepEqual(normalizeWeights([2, 6], 2), [0.25, 0.75]);
});

test('no weights means equal weights', () => {
  assert.deepEqual(normalizeWeights(undefined, 4), [0.25, 0.25, 0.25, 0.25]);
});

test('a weight count other than the model count is refused', () => {
  assert.throws(() => normalizeWeights([1], 2), /weights/);
});

test('all-zero weights are refused', () => {
  assert.throws(() => normalizeWeights([0, 0], 2), /zero/);
});

test('a negative weight is refused', () => {
  assert.throws(() => normalizeWeights([-1, 2], 2), /non-negative/);
});

test('utf8Allowed after a complete character: ASCII, lead bytes and END, never a continuation or an invalid lead', () => {
  const start = utf8Allowed([0x61]);
  assert.ok(start(0x41) && start(0xc3) && start(0xe2) && start(END));
  assert.ok(!start(0x80) && !start(0xc0) && !start(0xff));
});

test('utf8Allowed inside a character: only its continuation bytes, not ASCII or END', () => {
  const inTwo = utf8Allowed([0x61, 0xc3]);
  assert.ok(inTwo(0xa9) && !inTwo(0x41) && !inTwo(END));
  const four = utf8Allowed([0xf0, 0x9f, 0x98]);
  assert.ok(four(0x80) && !four(0x41));
});

test('utf8Allowed refuses overlong three-byte forms after 0xE0', () => {
  const e0 = utf8Allowed([0xe0]);
  assert.ok(!e0(0x80) && e0(0xa0));
});

test('utf8Allowed refuses surrogates after 0xED', () => {
  const ed = utf8Allowed([0xed]);
  assert.ok(ed(0x9f) && !ed(0xa0));
});
