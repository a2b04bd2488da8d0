import { argmaxOf as argmax, assertClose as close, maxDiff, pseudoIds as ids, webgpuExpectation } from './helpers';
// Model runtime against the bundled models, with real onnxruntime sessions (no mocks).

import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BytefillError, LogLevel } from '../src/index';
import { findOnnxFile, loadModelConfig } from '../src/model/config';
import { KVState } from '../src/model/kv-state';
import { OnnxModel } from '../src/model/onnx-model';
import { PrefixCache } from '../src/model/prefix-cache';
import { measureForward } from '../src/model/microbench';

const MODELS = path.resolve(__dirname, '../../../models');
const THREADS = 2;

async function rejectsWith(p: Promise<unknown>, code: string, re?: RegExp): Promise<BytefillError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof BytefillError, `expected BytefillError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (re) assert.match(e.message, re);
    return e;
  }
  assert.fail(`expected ${code}`);
}

for (const name of ['tiny-code-a', 'tiny-code-b']) {
  describe(`model runtime: ${name}`, () => {
    let m: OnnxModel;
    let V: number;
    before(async () => {
      m = await OnnxModel.load(path.join(MODELS, name), { device: 'cpu', threads: THREADS });
      V = m.config.vocabSize;
    });
    after(async () => m.dispose());

    test('reference logits and argmax', async () => {
      const ref = m.config.reference!;
      assert.ok(ref, 'config.reference');
      assert.equal(m.name, name);
      assert.equal(m.provider, 'cpu');
      const { logits } = await m.forward(null, [ref.input_ids]);
      assert.equal(logits[0].length, 1);
      const last = logits[0][0];
      assert.equal(last.length, V);
      close(last.subarray(0, 8), Float32Array.from(ref.last_logits_first8), 1e-3, 'reference');
      assert.equal(argmax(last), ref.last_argmax);
    });

    test('cached decoding equals one full forward', async () => {
      const seq = ids(30, 1, V);
      const full = await m.forward(null, [seq], { allLogits: true });
      assert.equal(full.logits[0].length, 30);
      let { state, logits } = await m.forward(null, [seq.slice(0, 20)]);
      close(logits[0][0], full.logits[0][19], 1e-4, 'prefill last');
      for (let t = 20; t < 30; t++) {
        ({ state, logits } = await m.forward(state, [[seq[t]]]));
        close(logits[0][0], full.logits[0][t], 1e-4, `step ${t}`);
      }
      assert.equal(state.length, 30);
      assert.equal(state.nextPos[0], 30);
      assert.deepEqual(state.tensors[0].dims, [1, m.config.numKvHeads, 30, m.config.headDim]);
    });

    test('batched rows with left padding equal each row alone (and the next step too)', async () => {
      const common = await m.forward(null, [ids(8, 2, V)]);
      const rows = [ids(1, 3, V), ids(4, 4, V), ids(7, 5, V)];
      const batched = await m.forward(common.state.expand(3), rows, { allLogits: true });
      assert.equal(batched.state.batch, 3);
      assert.equal(batched.state.length, 8 + 7);
      assert.deepEqual(Array.from(batched.state.nextPos), [9, 12, 15]);
      const nextIds = [[100], [200], [300]];
      const step = await m.forward(batched.state, nextIds);
      for (let b = 0; b < 3; b++) {
        const alone = await m.forward(common.state, [rows[b]], { allLogits: true });
        assert.equal(batched.logits[b].length, rows[b].length);
        for (let t = 0; t < rows[b].length; t++) close(batched.logits[b][t], alone.logits[0][t], 1e-4, `row ${b} token ${t}`);
        const aloneStep = await m.forward(alone.state, [nextIds[b]]);
        close(step.logits[b][0], aloneStep.logits[0][0], 1e-4, `row ${b} next step`);
      }
      // Empty rows give no logits and keep their position.
      const mixed = await m.forward(batched.state, [[], [5], []]);
      assert.deepEqual(mixed.logits.map((r) => r.length), [0, 1, 0]);
      assert.deepEqual(Array.from(mixed.state.nextPos), [9, 13, 15]);
    });

    test('select, expand, truncate', async () => {
      const seq = ids(12, 6, V);
      const p12 = await m.forward(null, [seq]);
      const p8 = await m.forward(null, [seq.slice(0, 8)]);
      // truncate(8) holds the KV of the first 8 tokens.
      const tr = p12.state.truncate(8);
      assert.equal(tr.length, 8);
      assert.equal(tr.nextPos[0], 8);
      assert.deepEqual(tr.tensors[3].dims, [1, m.config.numKvHeads, 8, m.config.headDim]);
      for (let i = 0; i < tr.tensors.length; i++) close(tr.tensors[i].data as Float32Array, p8.state.tensors[i].data as Float32Array, 1e-5, `truncate tensor ${i}`);
      const resumed = await m.forward(tr, [seq.slice(8)]);
      close(resumed.logits[0][0], p12.logits[0][0], 1e-4, 'truncate then resume');
      // the source state is untouched (immutable)
      assert.equal(p12.state.length, 12);
      assert.equal(p12.state.truncate(12), p12.state);

      // select with repeats and reordering on a padded batch
      const rows = [ids(2, 7, V), ids(5, 8, V)];
      const b2 = await m.forward(null, rows);
      const sel = b2.state.select([1, 0, 1]);
      assert.equal(sel.batch, 3);
      assert.deepEqual(Array.from(sel.nextPos), [5, 2, 5]);
      assert.deepEqual(Array.from(sel.mask.subarray(5, 10)), [0, 0, 0, 1, 1]);
      const nxt = await m.forward(sel, [[42], [43], [44]]);
      const r1 = await m.forward(null, [[...rows[1], 42]]);
      const r0 = await m.forward(null, [[...rows[0], 43]]);
      const r1b = await m.forward(null, [[...rows[1], 44]]);
      close(nxt.logits[0][0], r1.logits[0][0], 1e-4, 'select row 0');
      close(nxt.logits[1][0], r0.logits[0][0], 1e-4, 'select row 1');
      close(nxt.logits[2][0], r1b.logits[0][0], 1e-4, 'select row 2');

      const ex = p8.state.expand(2);
      assert.equal(ex.batch, 2);
      const half = (ex.tensors[0].data as Float32Array).length / 2;
      close((ex.tensors[0].data as Float32Array).subarray(0, half), p8.state.tensors[0].data as Float32Array, 0, 'expand copy');
      assert.throws(() => ex.expand(2), (e: unknown) => e instanceof BytefillError && e.code === 'BAD_ARGUMENT');
      assert.throws(() => ex.select([2]), (e: unknown) => e instanceof BytefillError && e.code === 'BAD_ARGUMENT');

      const empty = m.emptyState(2);
      assert.equal(empty.length, 0);
      assert.deepEqual(empty.tensors[0].dims, [2, m.config.numKvHeads, 0, m.config.headDim]);
    });

    test('prefix cache reuses the KV of the previous prompt', async () => {
      const cache = new PrefixCache(m, { maxEntries: 2 });
      const seq = ids(25, 9, V);
      const first = await cache.prefill(seq.slice(0, 20));
      assert.equal(first.reused, 0);
      // caller extends the returned state: the cache entry must not change
      await m.forward(first.state, [[1, 2, 3]]);
      first.state.dispose();
      const second = await cache.prefill(seq.slice(0, 21));
      assert.equal(second.reused, 20);
      const fresh = await m.forward(null, [seq.slice(0, 21)]);
      close(second.lastLogits, fresh.logits[0][0], 1e-4, 'cached prefill');
      assert.equal(second.state.nextPos[0], 21);
      // same prompt again: all reused, same logits
      const again = await cache.prefill(seq.slice(0, 21));
      assert.equal(again.reused, 21);
      close(again.lastLogits, fresh.logits[0][0], 1e-4, 'same prompt');
      // a shorter prompt (backspace) reuses n-1 tokens and recomputes the last
      const back = await cache.prefill(seq.slice(0, 15));
      assert.equal(back.reused, 14);
      close(back.lastLogits, (await m.forward(null, [seq.slice(0, 15)])).logits[0][0], 1e-4, 'shorter prompt');
      // a branch shares only its prefix
      const branch = [...seq.slice(0, 10), 7, 8, 9];
      const br = await cache.prefill(branch);
      assert.equal(br.reused, 10);
      close(br.lastLogits, (await m.forward(null, [branch])).logits[0][0], 1e-4, 'branch');
      assert.ok(cache.size <= 2);
    });
  });
}

describe('model runtime: errors and options', () => {
  let tmp: string;
  const B = path.join(MODELS, 'tiny-code-b');
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bytefill-model-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  function folder(n: string, config?: string, onnx?: Buffer | string): string {
    const d = path.join(tmp, n);
    fs.mkdirSync(path.join(d, 'onnx'), { recursive: true });
    if (config !== undefined) fs.writeFileSync(path.join(d, 'config.json'), config);
    if (onnx !== undefined) fs.writeFileSync(path.join(d, 'onnx', 'model.onnx'), onnx);
    return d;
  }
  const goodConfig = () => fs.readFileSync(path.join(B, 'config.json'), 'utf8');

  test('missing folder', async () => {
    await rejectsWith(OnnxModel.load(path.join(tmp, 'nope')), 'MODEL_NOT_FOUND', /Model folder not found: .*nope/);
  });
  test('folder without config.json', async () => {
    await rejectsWith(OnnxModel.load(folder('noconfig')), 'MODEL_INVALID', /config\.json/);
  });
  test('broken config.json', async () => {
    await rejectsWith(OnnxModel.load(folder('badjson', '{"vocab_size": 12,')), 'MODEL_INVALID', /config\.json is not valid JSON/);
    await rejectsWith(OnnxModel.load(folder('nofield', '{"vocab_size": 12}')), 'MODEL_INVALID', /"hidden_size" is missing/);
  });
  test('missing onnx file lists what exists', async () => {
    await rejectsWith(OnnxModel.load(folder('noonnx', goodConfig())), 'MODEL_INVALID', /model\.onnx does not exist \(no \.onnx files/);
    await rejectsWith(OnnxModel.load(B, { variant: 'fp16' }), 'MODEL_INVALID', /model_fp16\.onnx does not exist \(files present in .*: model\.onnx\)/);
  });
  test('onnx file that is not a model', async () => {
    await rejectsWith(OnnxModel.load(folder('garbage', goodConfig(), Buffer.from('this is not a protobuf model \x00\x01\x02'))), 'MODEL_INVALID', /could not load .*model\.onnx/);
  });
  test('config that does not match the graph', async () => {
    const cfg = JSON.parse(goodConfig());
    cfg.num_hidden_layers = 9;
    const d = folder('mismatch', JSON.stringify(cfg));
    fs.copyFileSync(path.join(B, 'onnx', 'model.onnx'), path.join(d, 'onnx', 'model.onnx'));
    await rejectsWith(OnnxModel.load(d, { device: 'cpu' }), 'MODEL_INVALID', /missing inputs past_key_values\.8\.key/);
  });
  test('config fields and defaults, grouped-query attention', () => {
    const d = folder('gqa', JSON.stringify({ vocab_size: 100, hidden_size: 512, num_hidden_layers: 2, num_attention_heads: 8, num_key_value_heads: 2, eos_token_id: [1, 2] }));
    const c = loadModelConfig(d);
    assert.deepEqual(
      { kv: c.numKvHeads, hd: c.headDim, mp: c.maxPositions, eos: c.eosTokenId, fim: c.fim },
      { kv: 2, hd: 64, mp: 2048, eos: [1, 2], fim: undefined },
    );
    const b = loadModelConfig(B);
    assert.equal(b.numKvHeads, b.numHeads);
    assert.equal(b.maxPositions, 1024);
    assert.equal(b.eosTokenId, 0);
    assert.equal((b.fim as { prefix: string }).prefix, '<fim_prefix>');
  });
  test('findOnnxFile variants', () => {
    const abs = path.join(B, 'onnx', 'model.onnx');
    assert.equal(findOnnxFile(B), abs);
    assert.equal(findOnnxFile(B, 'model.onnx'), abs);
    assert.equal(findOnnxFile(tmp, abs), abs);
    assert.throws(() => findOnnxFile(B, 'quantized'), /model_quantized\.onnx does not exist/);
    assert.throws(() => findOnnxFile(B, 'model_quantized.onnx'), /model_quantized\.onnx does not exist/);
  });

  describe('with a loaded model', () => {
    let m: OnnxModel;
    const logs: [LogLevel, string][] = [];
    before(async () => {
      m = await OnnxModel.load(B, { device: 'auto', threads: THREADS, log: (l, s) => logs.push([l, s]) });
    });
    after(async () => m.dispose());

    test("auto falls back to cpu and says why", () => {
      assert.equal(m.provider, 'cpu');
      assert.ok(logs.some(([l, s]) => (l === 'info' || l === 'warn') && /cuda skipped/.test(s)), JSON.stringify(logs));
      assert.ok(logs.some(([l, s]) => l === 'info' && /runs on cpu/.test(s)), JSON.stringify(logs));
    });
    test('token id out of range, too long, batch mismatch, aborted', async () => {
      await rejectsWith(m.forward(null, [[1, 4096]]), 'BAD_ARGUMENT', /Token id 4096 out of range \[0, 4096\)/);
      await rejectsWith(m.forward(null, [[-1]]), 'BAD_ARGUMENT', /out of range/);
      await rejectsWith(m.forward(null, [[1.5]]), 'BAD_ARGUMENT', /out of range/);
      await rejectsWith(m.forward(null, [new Array(1025).fill(7)]), 'BAD_ARGUMENT', /too long.*1024/);
      await rejectsWith(m.forward(m.emptyState(2), [[7]]), 'BAD_ARGUMENT', /batch 2/);
      const ac = new AbortController();
      ac.abort();
      await rejectsWith(m.forward(null, [[7]], { signal: ac.signal }), 'ABORTED');
      await rejectsWith(new PrefixCache(m).prefill([7, 8], ac.signal), 'ABORTED');
    });
    test('microbench runs', async () => {
      const r = await measureForward(m, { promptTokens: 32, decodeSteps: 2, repetitions: 1 });
      assert.ok(r.prefillMs > 0 && r.decodeMsPerStep > 0);
    });
  });

  // Where no WebGPU adapter is expected this fails fast (no adapter) -> PROVIDER_UNAVAILABLE; where
  // one is (software Vulkan driver installed by scripts/gpu-setup.sh, or a GPU) it must run and
  // match the reference, with the KV kept on the device between steps and downloadable.
  test("explicit 'webgpu': unavailable here, or correct where an adapter is expected", async () => {
    const { expected, reason } = webgpuExpectation();
    let g: OnnxModel;
    try {
      g = await OnnxModel.load(B, { device: 'webgpu', threads: THREADS });
    } catch (e) {
      assert.ok(e instanceof BytefillError && e.code === 'PROVIDER_UNAVAILABLE', String(e));
      assert.ok(!expected, `a WebGPU adapter is expected here (${reason}) but: ${e.message}`);
      return;
    }
    try {
      assert.equal(g.provider, 'webgpu');
      const ref = g.config.reference!;
      const first = await g.forward(null, [ref.input_ids.slice(0, -1)]);
      assert.ok(first.state.tensors.every((t) => t.location === 'gpu-buffer'), 'present.* on the device');
      const { logits } = await g.forward(first.state, [ref.input_ids.slice(-1)]);
      close(logits[0][0].subarray(0, 8), Float32Array.from(ref.last_logits_first8), 1e-3, 'webgpu reference');
      const host = await first.state.toHost();
      assert.equal(host.onDevice, false);
      assert.equal(host.truncate(2).length, 2);
    } finally {
      await g.dispose();
    }
  });

  test("explicit 'cuda' without the CUDA binaries", async () => {
    await rejectsWith(OnnxModel.load(B, { device: 'cuda' }), 'PROVIDER_UNAVAILABLE', /CUDA 12 binaries/);
  });
});
