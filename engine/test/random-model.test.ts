// The random-weight model generator (test/fixtures/random-model.ts): its graphs load in
// onnxruntime, compute a consistent decoder (cached = full, left padding inert), its quantized
// and half-precision variants stay close to float32, and the engine loads what it writes.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from '../src/model/ort';
import { buildRandomModel, RandomModel, RandomModelOptions, smallQwen2, Variant } from './fixtures/random-model';
import { fromHalf } from './fixtures/onnx-writer';
import { argmaxOf, maxDiff, modelDir, pseudoIds } from './helpers';
import { Engine } from '../src/index';

process.env.ORT_DISABLE_TELEMETRY = '1';

const SMALL: RandomModelOptions = smallQwen2(7);

let root: string;
let small: RandomModel;
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'bytefill-random-model-'));
  small = buildRandomModel(path.join(root, 'small'), {
    ...SMALL,
    variants: ['fp32', 'fp16', 'q4', 'q4f16', 'int8', 'uint8', 'quantized'],
    tokenizerJson: path.join(modelDir('tiny-code-b'), 'tokenizer.json'),
  });
});
after(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

const sessions = new Map<string, ort.InferenceSession>();
async function session(file: string): Promise<ort.InferenceSession> {
  let s = sessions.get(file);
  if (!s) {
    s = await ort.InferenceSession.create(file, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    sessions.set(file, s);
  }
  return s;
}
after(async () => {
  for (const s of sessions.values()) await s.release();
});

interface Run {
  /** logits[b][t]: float32 rows, whatever the graph's dtype. */
  logits: Float32Array[][];
  present: ort.Tensor[];
}

const i64 = (xs: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(xs.map(BigInt)), dims);

/**
 * One forward of left-padded `rows` after `past` (slots described by `pastMask`, one row of 0/1 per
 * sequence; default none) with raw
 * onnxruntime: the feeds the Optimum layout defines, built here independently of the engine.
 */
async function forward(
  file: string,
  rows: number[][],
  o: { past?: ort.Tensor[]; pastMask?: number[][]; extra?: Record<string, ort.Tensor>; layers?: number; kvHeads?: number; headDim?: number } = {},
): Promise<Run> {
  const s = await session(file);
  const L = o.layers ?? SMALL.layers;
  const KV = o.kvHeads ?? SMALL.kvHeads!;
  const D = o.headDim ?? SMALL.headDim!;
  const B = rows.length;
  const T = Math.max(...rows.map((r) => r.length));
  const P = o.pastMask?.[0].length ?? 0;
  const ids: number[] = [];
  const mask: number[] = [];
  const pos: number[] = [];
  for (const [b, r] of rows.entries()) {
    const pad = T - r.length;
    const pm = o.pastMask?.[b] ?? [];
    const p0 = pm.reduce((a, x) => a + x, 0);
    mask.push(...pm);
    for (let t = 0; t < T; t++) {
      ids.push(t < pad ? 0 : r[t - pad]);
      mask.push(t < pad ? 0 : 1);
      pos.push(t < pad ? 0 : p0 + t - pad);
    }
  }
  const kvType = s.inputMetadata.find((m) => m.name === 'past_key_values.0.key');
  const half = kvType?.isTensor && kvType.type === 'float16';
  const feeds: Record<string, ort.Tensor> = {
    input_ids: i64(ids, [B, T]),
    attention_mask: i64(mask, [B, P + T]),
    position_ids: i64(pos, [B, T]),
    ...(o.extra ?? {}),
  };
  for (let i = 0; i < L; i++) {
    for (const [j, kv] of ['key', 'value'].entries()) {
      feeds[`past_key_values.${i}.${kv}`] =
        o.past?.[2 * i + j] ?? (half ? new ort.Tensor('float16', new Uint16Array(0), [B, KV, 0, D]) : new ort.Tensor('float32', new Float32Array(0), [B, KV, 0, D]));
    }
  }
  const out = await s.run(feeds);
  const lt = out.logits;
  const [, Tl, V] = lt.dims as number[];
  const all = lt.type === 'float16' ? fromHalf(lt.data as Uint16Array) : (lt.data as Float32Array);
  const logits = rows.map((_, b) => Array.from({ length: Tl }, (_, t) => all.slice((b * Tl + t) * V, (b * Tl + t + 1) * V)));
  const present: ort.Tensor[] = [];
  for (let i = 0; i < L; i++) present.push(out[`present.${i}.key`], out[`present.${i}.value`]);
  return { logits, present };
}

const last = <T>(a: T[]): T => a[a.length - 1];

test('the float32 graph has the Optimum decoder inputs and outputs with the configured KV shape', async () => {
  const s = await session(small.files.fp32!);
  assert.deepEqual(s.inputNames.slice(0, 3), ['input_ids', 'attention_mask', 'position_ids']);
  assert.equal(s.inputNames.length, 3 + 2 * SMALL.layers);
  assert.deepEqual(s.outputNames, ['logits', 'present.0.key', 'present.0.value', 'present.1.key', 'present.1.value']);
  const past = s.inputMetadata.find((m) => m.name === 'past_key_values.1.value') as unknown as { shape: readonly (number | string)[] };
  assert.deepEqual(past.shape.map((d) => (typeof d === 'number' ? d : '?')), ['?', SMALL.kvHeads, '?', SMALL.headDim]);
  const cfg = JSON.parse(fs.readFileSync(path.join(small.dir, 'config.json'), 'utf8'));
  assert.equal(cfg.model_type, 'qwen2');
  assert.equal(cfg.vocab_size, 4096);
  assert.equal(cfg.num_key_value_heads, 2);
  assert.equal(cfg.rope_theta, 1000000);
  assert.ok(fs.existsSync(path.join(small.dir, 'tokenizer.json')));
});

for (const [variant, tol] of [
  ['fp32', 1e-4],
  ['q4', 1e-4],
] as [Variant, number][]) {
  test(`${variant}: prefill then one cached step equals the full-sequence forward at the last position (${tol})`, async () => {
    const file = small.files[variant]!;
    const ids = pseudoIds(12, 3, SMALL.vocab);
    const full = await forward(file, [ids]);
    const pre = await forward(file, [ids.slice(0, 11)]);
    const step = await forward(file, [ids.slice(11)], { past: pre.present, pastMask: [Array(11).fill(1)] });
    const d = maxDiff(last(full.logits[0]), step.logits[0][0]);
    assert.ok(d <= tol, `max |diff| ${d}`);
    // Not trivially equal: the step's logits differ from the previous position's.
    assert.ok(maxDiff(full.logits[0][10], step.logits[0][0]) > 0.1);
  });
}

test('fp16: cached step is close to the full forward (half-precision KV and logits)', async () => {
  const file = small.files.fp16!;
  const ids = pseudoIds(12, 3, SMALL.vocab);
  const full = await forward(file, [ids]);
  const pre = await forward(file, [ids.slice(0, 11)]);
  const step = await forward(file, [ids.slice(11)], { past: pre.present, pastMask: [Array(11).fill(1)] });
  assert.equal(pre.present[0].type, 'float16');
  const d = maxDiff(last(full.logits[0]), step.logits[0][0]);
  assert.ok(d <= 0.05, `max |diff| ${d}`);
});

test('left padding does not change the last logits of the padded row', async () => {
  const file = small.files.fp32!;
  const short = pseudoIds(5, 11, SMALL.vocab);
  const long = pseudoIds(9, 12, SMALL.vocab);
  const batch = await forward(file, [short, long]);
  const alone = await forward(file, [short]);
  const aloneLong = await forward(file, [long]);
  assert.ok(maxDiff(last(batch.logits[0]), last(alone.logits[0])) <= 1e-4);
  assert.ok(maxDiff(last(batch.logits[1]), last(aloneLong.logits[0])) <= 1e-4);
  // And a cached step after a left-padded prefill matches too.
  const pastMask = [[0, 0, 0, 0, 1, 1, 1, 1, 1], Array(9).fill(1)];
  const step = await forward(file, [[42], [43]], { past: batch.present, pastMask });
  const ref = await forward(file, [[...short, 42]]);
  assert.ok(maxDiff(step.logits[0][0], last(ref.logits[0])) <= 1e-4);
});

/** Logits at every position of one sequence, float32 vs a variant. */
async function compare(variant: Variant): Promise<{ agree: number; maxAbs: number; rel: number; std: number }> {
  const ids = pseudoIds(24, 5, SMALL.vocab);
  const a = (await forward(small.files.fp32!, [ids])).logits[0];
  const b = (await forward(small.files[variant]!, [ids])).logits[0];
  let agree = 0;
  let maxAbs = 0;
  let ss = 0;
  let sd = 0;
  for (let t = 0; t < a.length; t++) {
    if (argmaxOf(a[t]) === argmaxOf(b[t])) agree++;
    maxAbs = Math.max(maxAbs, maxDiff(a[t], b[t]));
    for (let v = 0; v < a[t].length; v++) {
      ss += a[t][v] * a[t][v];
      sd += (a[t][v] - b[t][v]) ** 2;
    }
  }
  // rel: root-mean-square difference over the logits' own root-mean-square.
  return { agree: agree / a.length, maxAbs, rel: Math.sqrt(sd / ss), std: Math.sqrt(ss / (a.length * a[0].length)) };
}

// Bounds: about twice what this generator's default scales give (logits standard deviation about 3;
// measured: fp16 rel 0.001, q4 0.18, 8-bit 0.03). A broken variant has rel near 1.4, agreement near 0.
for (const [variant, minAgree, maxRel, maxAbs] of [
  ['fp16', 0.95, 0.01, 0.05],
  ['q4', 0.4, 0.35, 6],
  ['q4f16', 0.4, 0.35, 6],
  ['int8', 0.8, 0.07, 1.5],
  ['uint8', 0.8, 0.07, 1.5],
  ['quantized', 0.8, 0.07, 1.5],
] as [Variant, number, number, number][]) {
  test(`${variant} logits stay close to float32 (top-1 agreement >= ${minAgree}, rms diff <= ${maxRel} of rms, max |diff| <= ${maxAbs})`, async (t) => {
    const r = await compare(variant);
    t.diagnostic(`${variant}: top-1 agreement ${r.agree.toFixed(3)}, max |diff| ${r.maxAbs.toFixed(4)}, rel rms diff ${r.rel.toFixed(4)}, logits std ${r.std.toFixed(3)}`);
    assert.ok(r.agree >= minAgree, `top-1 agreement ${r.agree}`);
    assert.ok(r.rel <= maxRel, `rel rms diff ${r.rel}`);
    assert.ok(r.maxAbs <= maxAbs, `max |diff| ${r.maxAbs}`);
  });
}

test('q4 variant computes exactly what float32 does with the dequantized 4-bit weights (checks the MatMulNBits packing)', async () => {
  const dir = path.join(root, 'q4-reference');
  const ref = buildRandomModel(dir, { ...SMALL, variants: ['fp32'], simulateQuantization: 'q4' });
  const ids = pseudoIds(10, 9, SMALL.vocab);
  const a = (await forward(ref.files.fp32!, [ids])).logits[0];
  const b = (await forward(small.files.q4!, [ids])).logits[0];
  const plain = (await forward(small.files.fp32!, [ids])).logits[0];
  for (let t = 0; t < a.length; t++) assert.ok(maxDiff(a[t], b[t]) <= 1e-3, `position ${t}: max |diff| ${maxDiff(a[t], b[t])}`);
  // The reference really holds different weights from the plain float32 model.
  assert.ok(maxDiff(last(a), last(plain)) > 0.05);
});

test('q4 with blocks of 128 computes what float32 does with those dequantized weights, and differs from blocks of 32', async () => {
  // K = 256: two blocks of 128 per row (blocks of 32 would be 8).
  const shape = { ...SMALL, hidden: 256, ffn: 256 };
  const ref = buildRandomModel(path.join(root, 'q4-128-reference'), { ...shape, variants: ['fp32'], simulateQuantization: 'q4', q4BlockSize: 128 });
  const q128 = buildRandomModel(path.join(root, 'q4-128'), { ...shape, variants: ['q4'], q4BlockSize: 128 });
  const q32 = buildRandomModel(path.join(root, 'q4-32'), { ...shape, variants: ['q4'] });
  const ids = pseudoIds(10, 9, SMALL.vocab);
  const a = (await forward(ref.files.fp32!, [ids])).logits[0];
  const b = (await forward(q128.files.q4!, [ids])).logits[0];
  const c = (await forward(q32.files.q4!, [ids])).logits[0];
  for (let t = 0; t < a.length; t++) assert.ok(maxDiff(a[t], b[t]) <= 1e-3, `position ${t}: max |diff| ${maxDiff(a[t], b[t])}`);
  assert.ok(maxDiff(last(b), last(c)) > 1e-3, 'other scales, other logits');
  assert.ok(fs.statSync(q128.files.q4!).size < fs.statSync(q32.files.q4!).size, 'fewer scales');
});

test('external data: the graph file holds no weights and gives the same logits as the embedded one', async () => {
  const dir = path.join(root, 'external');
  const m = buildRandomModel(dir, { ...SMALL, variants: ['fp32', 'q4'], externalData: true });
  for (const v of ['fp32', 'q4'] as const) {
    const data = `${m.files[v]}_data`;
    assert.ok(fs.existsSync(data), `${data} missing`);
    assert.ok(fs.statSync(m.files[v]!).size < 64 * 1024, `${v} graph is ${fs.statSync(m.files[v]!).size} bytes`);
    assert.ok(fs.statSync(data).size > 300 * 1024);
  }
  const ids = pseudoIds(7, 2, SMALL.vocab);
  for (const v of ['fp32', 'q4'] as const) {
    const a = (await forward(m.files[v]!, [ids])).logits[0];
    const b = (await forward(small.files[v]!, [ids])).logits[0];
    assert.equal(maxDiff(last(a), last(b)), 0);
  }
});

test('the same seed writes byte-identical files; another seed other weights', () => {
  const a = buildRandomModel(path.join(root, 'seed-a'), { ...SMALL, variants: ['q4'] });
  const b = buildRandomModel(path.join(root, 'seed-b'), { ...SMALL, variants: ['q4'] });
  const c = buildRandomModel(path.join(root, 'seed-c'), { ...SMALL, seed: 8, variants: ['q4'] });
  const bytes = (f: string) => fs.readFileSync(f);
  assert.ok(bytes(a.files.q4!).equals(bytes(b.files.q4!)));
  assert.ok(!bytes(a.files.q4!).equals(bytes(c.files.q4!)));
  assert.equal(bytes(a.files.q4!).length, bytes(c.files.q4!).length);
});

test('lastLogitsOnly: logits [B,1,V] equal to the full graph last position', async () => {
  const m = buildRandomModel(path.join(root, 'last-only'), { ...SMALL, variants: ['fp32'], lastLogitsOnly: true });
  const ids = pseudoIds(6, 4, SMALL.vocab);
  const r = await forward(m.files.fp32!, [ids, ids.slice(2)]);
  const full = await forward(small.files.fp32!, [ids, ids.slice(2)]);
  assert.equal(r.logits[0].length, 1);
  assert.ok(maxDiff(r.logits[0][0], last(full.logits[0])) <= 1e-5);
  assert.ok(maxDiff(r.logits[1][0], last(full.logits[1])) <= 1e-5);
});

test('num_logits_to_keep input: k keeps the last k positions, 0 keeps all', async () => {
  const m = buildRandomModel(path.join(root, 'keep'), { ...SMALL, variants: ['fp32'], logitsToKeepInput: true });
  const s = await session(m.files.fp32!);
  assert.ok(s.inputNames.includes('num_logits_to_keep'));
  const ids = pseudoIds(6, 4, SMALL.vocab);
  const full = (await forward(small.files.fp32!, [ids])).logits[0];
  const keep = (k: number) => ({ num_logits_to_keep: new ort.Tensor('int64', BigInt64Array.of(BigInt(k)), []) });
  const one = (await forward(m.files.fp32!, [ids], { extra: keep(1) })).logits[0];
  const two = (await forward(m.files.fp32!, [ids], { extra: keep(2) })).logits[0];
  const all = (await forward(m.files.fp32!, [ids], { extra: keep(0) })).logits[0];
  assert.equal(one.length, 1);
  assert.equal(two.length, 2);
  assert.equal(all.length, ids.length);
  assert.ok(maxDiff(one[0], full[5]) <= 1e-5);
  assert.ok(maxDiff(two[0], full[4]) <= 1e-5);
  assert.ok(maxDiff(all[0], full[0]) <= 1e-5);
});

test('a Qwen2.5-shaped fixture with the padded 151,936-row vocabulary builds quickly and runs', async (t) => {
  const t0 = Date.now();
  const m = buildRandomModel(path.join(root, 'qwen'), {
    modelType: 'qwen2',
    layers: 2,
    hidden: 32,
    heads: 4,
    kvHeads: 2,
    ffn: 64,
    vocab: 151936,
    variants: ['fp32', 'q4'],
  });
  const ms = Date.now() - t0;
  t.diagnostic(`built fp32 + q4 in ${ms} ms`);
  assert.ok(ms < 60000, `${ms} ms`);
  const cfg = JSON.parse(fs.readFileSync(path.join(m.dir, 'config.json'), 'utf8'));
  assert.deepEqual([cfg.vocab_size, cfg.rope_theta, cfg.attention_bias, cfg.architectures[0]], [151936, 1000000, true, 'Qwen2ForCausalLM']);
  const r = await forward(m.files.q4!, [[151643, 5, 151935]], { layers: 2, kvHeads: 2, headDim: 8 });
  assert.equal(r.logits[0][0].length, 151936);
});

test('bad shapes are refused with a message that names the option', () => {
  assert.throws(() => buildRandomModel(path.join(root, 'bad'), { ...SMALL, heads: 4, kvHeads: 3 }), /heads \(4\) must be a multiple of kvHeads \(3\)/);
  assert.throws(() => buildRandomModel(path.join(root, 'bad'), { ...SMALL, variants: ['q3' as Variant] }), /unknown variant q3/);
});

test('the engine loads each variant with the tiny-code-b tokenizer and completes', async () => {
  const tinyCfg = JSON.parse(fs.readFileSync(path.join(modelDir('tiny-code-b'), 'config.json'), 'utf8'));
  const dir = path.join(root, 'engine');
  const m = buildRandomModel(dir, {
    ...SMALL,
    modelType: 'llama',
    variants: ['fp32', 'fp16', 'q4', 'q4f16', 'int8', 'uint8', 'quantized'],
    tokenizerJson: path.join(modelDir('tiny-code-b'), 'tokenizer.json'),
    eosTokenId: 0,
    extraConfig: { fim: tinyCfg.fim },
  });
  for (const v of Object.keys(m.files)) {
    const engine = await Engine.create({ models: [dir], variant: v === 'fp32' ? undefined : v, threads: 1 });
    try {
      const r = await engine.complete({ prefix: 'def total(items):\n    return ', suffix: '\n', mode: 'byte', maxTokens: 4 });
      assert.equal(typeof r.completion, 'string', v);
      assert.ok(r.generatedTokens >= 1, `${v}: ${JSON.stringify(r)}`);
    } finally {
      await engine.dispose();
    }
  }
});
