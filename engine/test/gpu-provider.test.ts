import { argmaxOf as argmax, assertClose as close, maxDiff, pseudoIds as ids } from './helpers';
// GPU execution providers (webgpu; cuda where installed) against the bundled models.
//
// Everywhere (CI, CPU machines): device 'webgpu' without a WebGPU adapter fails fast with
// PROVIDER_UNAVAILABLE and a message naming the cause; 'auto' falls back to cpu and logs why it
// skipped each GPU provider.
//
// With BYTEFILL_GPU_EXPECTED=1 (set by scripts/gpu/run.sh on a GPU machine): webgpu sessions load
// both bundled models, match the CPU logits, decode with the KV cache kept on the device
// (state.onDevice) exactly like the CPU, and toHost() + select/expand give correct states.

import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { BytefillError, LogLevel } from '../src/index';
import { KVState } from '../src/model/kv-state';
import { OnnxModel } from '../src/model/onnx-model';
import { modelDir } from './helpers';

const GPU = process.env.BYTEFILL_GPU_EXPECTED === '1';
const GPU_SKIP = GPU ? false : 'GPU-only: set BYTEFILL_GPU_EXPECTED=1 on a machine with a WebGPU adapter (scripts/gpu/run.sh does)';
const THREADS = 2;

type LogLine = { level: LogLevel; msg: string };
function recorder(): { lines: LogLine[]; log: (level: LogLevel, msg: string) => void } {
  const lines: LogLine[] = [];
  return { lines, log: (level, msg) => lines.push({ level, msg }) };
}

async function hostData(st: KVState): Promise<Float32Array[]> {
  const h = await st.toHost();
  return h.tensors.map((t) => t.data as Float32Array);
}

/** Runs fn with process.env[key] set (or deleted for undefined), restoring it afterwards. */
async function withEnv<T>(key: string, value: string | undefined, fn: () => Promise<T>): Promise<T> {
  const old = process.env[key];
  if (value === undefined) delete process.env[key];
  else process.env[key] = value;
  try {
    return await fn();
  } finally {
    if (old === undefined) delete process.env[key];
    else process.env[key] = old;
  }
}

describe('gpu providers: selection and errors (every machine)', () => {
  test("device 'webgpu' without an adapter: PROVIDER_UNAVAILABLE, fast, clear message", { skip: GPU ? 'this machine is expected to have a WebGPU adapter' : false }, async () => {
    const t0 = performance.now();
    let loaded: OnnxModel | undefined;
    try {
      loaded = await OnnxModel.load(modelDir('tiny-code-b'), { device: 'webgpu', threads: THREADS });
    } catch (e) {
      const ms = performance.now() - t0;
      assert.ok(e instanceof BytefillError, `expected BytefillError, got ${String(e)}`);
      assert.equal(e.code, 'PROVIDER_UNAVAILABLE', e.message);
      assert.match(e.message, /Device 'webgpu' unavailable/);
      assert.match(e.message, /adapter|webgpu|WebGPU/);
      assert.ok(!e.message.includes('\n'), 'one-line message');
      assert.ok(ms < 5000, `failing took ${ms.toFixed(0)} ms`);
      return;
    }
    // A software Vulkan driver (lavapipe/SwiftShader) gives Dawn a CPU adapter: webgpu then works.
    await loaded.dispose();
    assert.equal(loaded.provider, 'webgpu');
  });

  test("'auto' never picks webgpu unless BYTEFILL_WEBGPU=1, and says why", async () => {
    const r = recorder();
    const m = await withEnv('BYTEFILL_WEBGPU', undefined, () => OnnxModel.load(modelDir('tiny-code-b'), { device: 'auto', threads: THREADS, log: r.log }));
    try {
      const text = r.lines.map((l) => l.msg).join('\n');
      assert.match(text, /webgpu skipped: not tried under 'auto' unless BYTEFILL_WEBGPU=1/);
      if (m.provider === 'cpu') {
        assert.match(text, /cuda skipped: /);
        assert.match(r.lines[r.lines.length - 1].msg, /model runs on cpu/);
      } else {
        assert.equal(m.provider, 'cuda', 'auto without BYTEFILL_WEBGPU=1 runs on cuda or cpu');
      }
    } finally {
      await m.dispose();
    }
  });

  test("'auto' with BYTEFILL_WEBGPU=1: webgpu when an adapter exists, else cpu with the reason logged", async () => {
    const r = recorder();
    const m = await withEnv('BYTEFILL_WEBGPU', '1', () => OnnxModel.load(modelDir('tiny-code-b'), { device: 'auto', threads: THREADS, log: r.log }));
    try {
      const text = r.lines.map((l) => l.msg).join('\n');
      if (m.provider === 'cpu') {
        assert.ok(!GPU, `BYTEFILL_GPU_EXPECTED=1 but auto fell back to cpu:\n${text}`);
        const skip = r.lines.find((l) => l.msg.startsWith('webgpu skipped: session creation failed'));
        assert.ok(skip, `a line says why webgpu was skipped:\n${text}`);
        assert.equal(skip.level, 'warn');
        assert.match(skip.msg, /\(.+\)/, 'the reason is in the line');
        assert.match(r.lines[r.lines.length - 1].msg, /model runs on cpu/);
      } else if (m.provider === 'webgpu') {
        assert.match(text, /model runs on webgpu/);
      } else {
        assert.equal(m.provider, 'cuda');
      }
    } finally {
      await m.dispose();
    }
  });

  test("device 'cuda' without the CUDA binaries: PROVIDER_UNAVAILABLE naming the install step", async (t) => {
    let m: OnnxModel | undefined;
    try {
      m = await OnnxModel.load(modelDir('tiny-code-b'), { device: 'cuda', threads: THREADS });
    } catch (e) {
      assert.ok(e instanceof BytefillError, String(e));
      assert.equal(e.code, 'PROVIDER_UNAVAILABLE', e.message);
      assert.match(e.message, /Device 'cuda' unavailable/);
      return;
    }
    t.diagnostic('the CUDA provider is installed here and a session was created');
    assert.equal(m.provider, 'cuda');
    await m.dispose();
  });
});

for (const name of ['tiny-code-a', 'tiny-code-b'] as const) {
  describe(`gpu providers: webgpu ${name} (BYTEFILL_GPU_EXPECTED=1)`, { skip: GPU_SKIP }, () => {
    let gpu: OnnxModel;
    let cpu: OnnxModel;
    let V: number;
    before(async () => {
      gpu = await OnnxModel.load(modelDir(name), { device: 'webgpu', threads: THREADS });
      cpu = await OnnxModel.load(modelDir(name), { device: 'cpu', threads: THREADS });
      V = cpu.config.vocabSize;
    });
    after(async () => {
      await gpu?.dispose();
      await cpu?.dispose();
    });

    test('loads on webgpu and matches the CPU and config.json reference logits to 1e-4', async () => {
      assert.equal(gpu.provider, 'webgpu');
      const ref = cpu.config.reference!;
      assert.ok(ref, 'config.reference');
      const g = await gpu.forward(null, [ref.input_ids]);
      const c = await cpu.forward(null, [ref.input_ids]);
      assert.equal(g.state.onDevice, true, 'present.* stay on the device');
      assert.equal(c.state.onDevice, false);
      close(g.logits[0][0], c.logits[0][0], 1e-4, 'webgpu vs cpu, all logits');
      close(g.logits[0][0].subarray(0, 8), Float32Array.from(ref.last_logits_first8), 1e-4, 'webgpu vs config reference');
      assert.equal(argmax(g.logits[0][0]), ref.last_argmax);
      g.state.dispose();
    });

    test('cached decoding with the KV on the device equals CPU decoding (16 steps, 1e-3)', async () => {
      const prompt = ids(24, 7, V);
      const steps = ids(16, 99, V);
      let g = await gpu.forward(null, [prompt]);
      let c = await cpu.forward(null, [prompt]);
      close(g.logits[0][0], c.logits[0][0], 1e-3, 'prefill');
      for (let i = 0; i < steps.length; i++) {
        const g2 = await gpu.forward(g.state, [[steps[i]]]);
        const c2 = await cpu.forward(c.state, [[steps[i]]]);
        assert.equal(g2.state.onDevice, true, `step ${i}: KV on the device`);
        assert.equal(g2.state.length, prompt.length + i + 1);
        close(g2.logits[0][0], c2.logits[0][0], 1e-3, `step ${i}`);
        g.state.dispose();
        g = g2;
        c = c2;
      }
      // The device cache itself equals the CPU cache.
      const gd = await hostData(g.state);
      const cd = await hostData(c.state);
      for (let k = 0; k < cd.length; k++) close(gd[k], cd[k], 1e-3, `present tensor ${k}`);
      g.state.dispose();
    });

    test('batch of 2 with left padding on webgpu equals the CPU', async () => {
      const rows = [ids(12, 3, V), ids(7, 4, V)];
      const g = await gpu.forward(null, rows);
      const c = await cpu.forward(null, rows);
      for (let b = 0; b < 2; b++) close(g.logits[b][0], c.logits[b][0], 1e-3, `row ${b}`);
      const g2 = await gpu.forward(g.state, [[10], [11]]);
      const c2 = await cpu.forward(c.state, [[10], [11]]);
      for (let b = 0; b < 2; b++) close(g2.logits[b][0], c2.logits[b][0], 1e-3, `row ${b}, next step`);
      g.state.dispose();
      g2.state.dispose();
    });

    test('toHost() downloads the cache; select/expand/truncate after it are correct', async () => {
      const prompt = ids(20, 11, V);
      const g = await gpu.forward(null, [prompt]);
      const c = await cpu.forward(null, [prompt]);
      assert.equal(g.state.onDevice, true);
      assert.throws(() => g.state.expand(2), (e: unknown) => e instanceof BytefillError && e.code === 'UNSUPPORTED');

      const host = await g.state.toHost();
      assert.equal(host.onDevice, false);
      assert.deepEqual(Array.from(host.nextPos), Array.from(c.state.nextPos));
      const hd = host.tensors.map((t) => t.data as Float32Array);
      const cd = c.state.tensors.map((t) => t.data as Float32Array);
      for (let k = 0; k < cd.length; k++) close(hd[k], cd[k], 1e-3, `downloaded tensor ${k}`);
      assert.equal(await host.toHost(), host, 'toHost of a host state is a no-op');

      // expand(3) on the host state, then one step on webgpu with three different tokens.
      const next = [20, 21, 22].map((x) => 6 + ((x * 97) % (V - 6)));
      const ge = await gpu.forward(host.expand(3), next.map((t) => [t]));
      const ce = await cpu.forward(c.state.expand(3), next.map((t) => [t]));
      assert.equal(ge.state.onDevice, true);
      for (let b = 0; b < 3; b++) close(ge.logits[b][0], ce.logits[b][0], 1e-3, `expand row ${b}`);

      // select on a downloaded batch state: rows [2, 0] equal the CPU's rows [2, 0].
      const gh = await ge.state.toHost();
      const gs = await gpu.forward(gh.select([2, 0]), [[30], [31]]);
      const cs = await cpu.forward(ce.state.select([2, 0]), [[30], [31]]);
      for (let b = 0; b < 2; b++) close(gs.logits[b][0], cs.logits[b][0], 1e-3, `select row ${b}`);

      // truncate (batch 1) and continue: equals the CPU's truncated state.
      const gt = await gpu.forward(host.truncate(10), [[40]]);
      const ct = await cpu.forward(c.state.truncate(10), [[40]]);
      close(gt.logits[0][0], ct.logits[0][0], 1e-3, 'truncate then step');

      for (const s of [g.state, ge.state, gs.state, gt.state]) s.dispose();
    });
  });
}
