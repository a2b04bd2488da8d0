// USCD pieces that need no model: the contrast, the gate, option validation, KVState.stack layout.
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as ort from '../src/model/ort';
import { BytefillError } from '../src/index';
import { KVState } from '../src/model/kv-state';
import { applyTemperature, contrast } from '../src/uscd/contrast';
import { gateOpen, uncertainty } from '../src/uscd/gate';
import { DEFAULT_USCD_PARAMS, resolveUscdParams } from '../src/uscd/index';

function argmax(p: ArrayLike<number>): number {
  let k = 0;
  for (let i = 1; i < p.length; i++) if (p[i] > p[k]) k = i;
  return k;
}
const sum = (p: ArrayLike<number>) => Array.from(p).reduce((a, b) => a + b, 0);

describe('uscd contrast', () => {
  test('contrast flips the argmax when the lame prompt backs the top token', () => {
    const pStd = [0.5, 0.4, 0.06, 0.04];
    const pLame = [0.9, 0.05, 0.03, 0.02];
    const q = contrast(pStd, pLame, 0.5, 0.1)!;
    assert.equal(argmax(pStd), 0);
    assert.equal(argmax(q), 1);
    assert.ok(Math.abs(sum(q) - 1) < 1e-12);
    // q ∝ max(0, p_std - 0.5 p_lame) on {p_std >= 0.05}: [0.05, 0.375, 0.045, 0] (0.04 < 0.05 is cut)
    const raw = [0.05, 0.375, 0.045, 0];
    const z = sum(raw);
    raw.forEach((v, i) => assert.ok(Math.abs(q[i] - v / z) < 1e-12, `q[${i}]`));
  });

  test('plausibility cut removes tokens far below the top even when the lame prompt ignores them', () => {
    const q = contrast([0.7, 0.25, 0.05], [0.8, 0.2, 0], 0.5, 0.1)!;
    assert.equal(q[2], 0); // 0.05 < 0.1 * 0.7
    assert.ok(q[0] > 0 && q[1] > 0);
  });

  test('a contrast that removes everything returns null (caller falls back to p_std)', () => {
    assert.equal(contrast([0.6, 0.4], [0.9, 0.6], 1, 0.1), null);
  });

  test('temperature on the final distribution', () => {
    const q = Float64Array.from([0.6, 0.3, 0.1, 0]);
    assert.equal(applyTemperature(q, 1), q);
    const hot = applyTemperature(q, 2);
    assert.ok(Math.abs(sum(hot) - 1) < 1e-12);
    assert.ok(hot[0] < q[0] && hot[2] > q[2] && hot[3] === 0);
    const z = Math.sqrt(0.6) + Math.sqrt(0.3) + Math.sqrt(0.1);
    assert.ok(Math.abs(hot[1] - Math.sqrt(0.3) / z) < 1e-12);
  });
});

describe('uscd gate', () => {
  test('normalised entropy: 0 for one-hot, 1 for uniform, log k / log V for k-way uniform', () => {
    const V = 4096;
    const oneHot = new Float64Array(V);
    oneHot[7] = 1;
    assert.equal(uncertainty(oneHot), 0);
    assert.ok(Math.abs(uncertainty(new Float64Array(V).fill(1 / V)) - 1) < 1e-12);
    const k = new Float64Array(V);
    for (let i = 0; i < 16; i++) k[i] = 1 / 16;
    assert.ok(Math.abs(uncertainty(k) - Math.log(16) / Math.log(V)) < 1e-12);
  });

  test('threshold 0 opens every step, threshold 1 none (not even a uniform one)', () => {
    for (const u of [0, 1e-9, 0.3, 0.9999999, 1, 1.0000001]) {
      assert.equal(gateOpen(u, 0), true);
      assert.equal(gateOpen(u, 1), false);
    }
    assert.equal(gateOpen(0.19, 0.2), false);
    assert.equal(gateOpen(0.2, 0.2), true);
  });
});

describe('uscd options', () => {
  test('defaults and validation', () => {
    assert.deepEqual(resolveUscdParams({}), DEFAULT_USCD_PARAMS);
    assert.deepEqual(resolveUscdParams({ enabled: true, alpha: 0, threshold: 1, beta: 1 }), { alpha: 0, threshold: 1, beta: 1 });
    const bad: [Record<string, number>, RegExp][] = [
      [{ alpha: -0.1 }, /alpha must be a finite number >= 0.*-0\.1/],
      [{ alpha: NaN }, /alpha/],
      [{ alpha: Infinity }, /alpha/],
      [{ threshold: 1.5 }, /threshold must be between 0 and 1.*1\.5/],
      [{ threshold: -0.01 }, /threshold/],
      [{ beta: 0 }, /beta must be in \(0, 1\]/],
      [{ beta: 1.2 }, /beta/],
    ];
    for (const [o, re] of bad) {
      assert.throws(
        () => resolveUscdParams(o),
        (e: unknown) => e instanceof BytefillError && e.code === 'BAD_ARGUMENT' && re.test(e.message),
        JSON.stringify(o),
      );
    }
  });
});

describe('KVState.stack', () => {
  const shape = { numLayers: 1, numKvHeads: 2, headDim: 2, dtype: 'float32' as const };
  // A batch-1 state of `len` slots whose values encode (tensor, head, slot, d).
  function st(len: number, tag: number, mask?: number[]): KVState {
    const ts = [0, 1].map((k) => {
      const a = new Float32Array(2 * len * 2);
      for (let h = 0; h < 2; h++) for (let s = 0; s < len; s++) for (let d = 0; d < 2; d++) a[(h * len + s) * 2 + d] = tag * 1000 + k * 100 + h * 10 + s + d / 10;
      return new ort.Tensor('float32', a, [1, 2, len, 2]);
    });
    const m = Uint8Array.from(mask ?? new Array(len).fill(1));
    return new KVState(shape, 1, len, m, Int32Array.of(m.reduce((x, y) => x + y, 0)), ts);
  }

  test('left-pads shorter rows with masked slots and keeps each row position', () => {
    const a = st(3, 1, [0, 1, 1]);
    const b = st(5, 2);
    const s = KVState.stack([a, b]);
    assert.equal(s.batch, 2);
    assert.equal(s.length, 5);
    assert.deepEqual(Array.from(s.mask), [0, 0, 0, 1, 1, 1, 1, 1, 1, 1]);
    assert.deepEqual(Array.from(s.nextPos), [2, 5]);
    for (let k = 0; k < 2; k++) {
      const d = s.tensors[k].data as Float32Array;
      assert.deepEqual(s.tensors[k].dims, [2, 2, 5, 2]);
      for (let h = 0; h < 2; h++) {
        for (let t = 0; t < 5; t++) {
          for (let e = 0; e < 2; e++) {
            const r0 = d[((0 * 2 + h) * 5 + t) * 2 + e];
            const r1 = d[((1 * 2 + h) * 5 + t) * 2 + e];
            assert.ok(Math.abs(r1 - (2000 + k * 100 + h * 10 + t + e / 10)) < 1e-3);
            if (t < 2) assert.equal(r0, 0);
            else assert.ok(Math.abs(r0 - (1000 + k * 100 + h * 10 + (t - 2) + e / 10)) < 1e-3);
          }
        }
      }
    }
    // Row selection round-trips.
    assert.deepEqual(Array.from(s.select([1]).mask), Array.from(b.mask));
  });

  test('rejects an empty list and mismatched shapes', () => {
    assert.throws(() => KVState.stack([]), /at least one/);
    const other = KVState.empty({ ...shape, headDim: 4 }, 1);
    assert.throws(() => KVState.stack([st(2, 1), other]), /different shapes/);
  });
});
