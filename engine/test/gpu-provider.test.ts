import { argmaxOf as argmax, assertClose as close, maxDiff, modelDir, pseudoIds as ids, webgpuExpectation } from './helpers';
// GPU execution providers (webgpu; cuda where installed) against the bundled models.
//
// Every machine: provider selection and errors ('auto' never picks webgpu unless BYTEFILL_WEBGPU=1
// and a GPU device exists; no adapter -> PROVIDER_UNAVAILABLE with a one-line reason).
//
// Where a WebGPU adapter is expected (scripts/gpu-setup.sh installed Mesa's software Vulkan driver,
// or BYTEFILL_GPU_EXPECTED=1 on a GPU machine): webgpu logits equal the CPU's after prefill and
// at every decode step, the KV cache (`present.*`) stays on the device between steps, and the
// device-side cache operations (expand/select/truncate/compact, download) equal the CPU's.
// Tolerance: 1e-3 absolute on logits and cache values (measured differences are ~1e-5, see the
// test diagnostics), and the same argmax. llvmpipe compiles a shader per new shape, slowly: the
// cases are few and short.

import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BytefillError, LogLevel } from '../src/index';
import { KVState } from '../src/model/kv-state';
import { OnnxModel } from '../src/model/onnx-model';
import { gpuDeviceNode } from '../src/model/session';

const WEBGPU = webgpuExpectation();
const GPU_SKIP = WEBGPU.expected ? false : WEBGPU.reason;
const THREADS = 2;
const TOL = 1e-3;

type LogLine = { level: LogLevel; msg: string };
function recorder(): { lines: LogLine[]; log: (level: LogLevel, msg: string) => void } {
  const lines: LogLine[] = [];
  return { lines, log: (level, msg) => lines.push({ level, msg }) };
}

async function hostData(st: KVState): Promise<Float32Array[]> {
  const h = await st.toHost();
  return h.tensors.map((t) => t.data as Float32Array);
}

function allOnDevice(st: KVState): boolean {
  return st.tensors.length > 0 && st.tensors.every((t) => t.location === 'gpu-buffer');
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
  test("device 'webgpu' with no usable Vulkan driver: PROVIDER_UNAVAILABLE, fast, one-line reason", () => {
    // A child process whose Vulkan loader is pointed at a driver file that does not exist: Dawn
    // finds no adapter (the same as a machine without a GPU or a software driver).
    const script = `const { OnnxModel } = require(${JSON.stringify(path.join(__dirname, '../src/model/onnx-model'))});
      const t0 = Date.now();
      OnnxModel.load(${JSON.stringify(modelDir('tiny-code-b'))}, { device: 'webgpu', threads: 1 })
        .then((m) => { console.log(JSON.stringify({ loaded: m.provider })); return m.dispose(); })
        .catch((e) => console.log(JSON.stringify({ code: e.code, message: e.message, ms: Date.now() - t0 })));`;
    const missing = path.join(os.tmpdir(), 'bytefill-no-such-icd.json');
    const r = spawnSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      env: { ...process.env, VK_DRIVER_FILES: missing, VK_ICD_FILENAMES: missing, ORT_DISABLE_TELEMETRY: '1' },
    });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { code?: string; message?: string; ms?: number; loaded?: string };
    assert.equal(out.loaded, undefined, 'no adapter, so no session');
    assert.equal(out.code, 'PROVIDER_UNAVAILABLE', out.message);
    assert.match(out.message!, /^Device 'webgpu' unavailable: .*adapter/);
    assert.ok(!out.message!.includes('\n'), 'one-line message');
    assert.ok(out.ms! < 20000, `failing took ${out.ms} ms`);
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

  test('gpuDeviceNode: a render node, an NVIDIA node, or none', (t) => {
    if (process.platform !== 'linux') {
      assert.equal(gpuDeviceNode(), undefined);
      return;
    }
    const dev = fs.mkdtempSync(path.join(os.tmpdir(), 'bytefill-dev-'));
    t.after(() => fs.rmSync(dev, { recursive: true, force: true }));
    fs.writeFileSync(path.join(dev, 'null'), '');
    assert.equal(gpuDeviceNode(dev), null, 'no GPU node');
    fs.writeFileSync(path.join(dev, 'nvidia0'), '');
    assert.equal(gpuDeviceNode(dev), path.join(dev, 'nvidia0'));
    fs.mkdirSync(path.join(dev, 'dri'));
    fs.writeFileSync(path.join(dev, 'dri', 'card0'), '');
    fs.writeFileSync(path.join(dev, 'dri', 'renderD128'), '');
    assert.equal(gpuDeviceNode(dev), path.join(dev, 'dri', 'renderD128'));
  });

  test("'auto' with BYTEFILL_WEBGPU=1 ignores a software adapter (no GPU device): cpu, reason logged", async () => {
    const node = gpuDeviceNode();
    const r = recorder();
    const m = await withEnv('BYTEFILL_WEBGPU', '1', () => OnnxModel.load(modelDir('tiny-code-b'), { device: 'auto', threads: THREADS, log: r.log }));
    try {
      const text = r.lines.map((l) => l.msg).join('\n');
      if (node === null) {
        // This machine has no GPU: a WebGPU adapter here can only be a software one.
        assert.equal(m.provider, 'cpu', text);
        const skip = r.lines.find((l) => l.msg.startsWith('webgpu skipped: no GPU device here'));
        assert.ok(skip, `a line says why webgpu was skipped:\n${text}`);
        assert.match(skip.msg, /software/);
        assert.match(r.lines[r.lines.length - 1].msg, /model runs on cpu/);
      } else if (m.provider === 'cpu') {
        const skip = r.lines.find((l) => l.msg.startsWith('webgpu skipped: session creation failed'));
        assert.ok(skip, `a line says why webgpu was skipped:\n${text}`);
        assert.equal(skip.level, 'warn');
      } else {
        assert.ok(m.provider === 'webgpu' || m.provider === 'cuda', text);
      }
    } finally {
      await m.dispose();
    }
  });

  test("the software adapter ignored by 'auto' is there: explicit 'webgpu' uses it", { skip: GPU_SKIP || (gpuDeviceNode() !== null && 'this machine has a GPU device') }, async () => {
    const m = await OnnxModel.load(modelDir('tiny-code-b'), { device: 'webgpu', threads: THREADS });
    try {
      assert.equal(m.provider, 'webgpu');
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
  describe(`gpu providers: webgpu ${name}`, { skip: GPU_SKIP }, () => {
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

    test(`prefill: logits equal the CPU's (${TOL}) and config.json's reference; present.* on the device`, async (t) => {
      assert.equal(gpu.provider, 'webgpu');
      const ref = cpu.config.reference!;
      assert.ok(ref, 'config.reference');
      const g = await gpu.forward(null, [ref.input_ids]);
      const c = await cpu.forward(null, [ref.input_ids]);
      assert.ok(allOnDevice(g.state), `present.* locations: ${g.state.tensors.map((x) => x.location).join(',')}`);
      assert.equal(c.state.onDevice, false);
      t.diagnostic(`prefill max |logit diff| webgpu vs cpu: ${maxDiff(g.logits[0][0], c.logits[0][0]).toExponential(2)}`);
      close(g.logits[0][0], c.logits[0][0], TOL, 'webgpu vs cpu, all logits');
      close(g.logits[0][0].subarray(0, 8), Float32Array.from(ref.last_logits_first8), TOL, 'webgpu vs config reference');
      assert.equal(argmax(g.logits[0][0]), ref.last_argmax);
      g.state.dispose();
    });

    test(`decode steps: logits equal the CPU's (${TOL}) at every step; the KV stays on the device`, async (t) => {
      const prompt = ids(24, 7, V);
      const steps = ids(6, 99, V);
      let g = await gpu.forward(null, [prompt]);
      let c = await cpu.forward(null, [prompt]);
      close(g.logits[0][0], c.logits[0][0], TOL, 'prefill');
      let worst = 0;
      for (let i = 0; i < steps.length; i++) {
        // The past fed in is the previous step's device output itself (no download, no copy).
        assert.ok(allOnDevice(g.state), `step ${i}: past on the device`);
        const g2 = await gpu.forward(g.state, [[steps[i]]]);
        const c2 = await cpu.forward(c.state, [[steps[i]]]);
        assert.ok(allOnDevice(g2.state), `step ${i}: present.* on the device`);
        assert.equal(g2.state.length, prompt.length + i + 1);
        worst = Math.max(worst, maxDiff(g2.logits[0][0], c2.logits[0][0]));
        close(g2.logits[0][0], c2.logits[0][0], TOL, `step ${i}`);
        assert.equal(argmax(g2.logits[0][0]), argmax(c2.logits[0][0]), `step ${i}: argmax`);
        g.state.dispose();
        g = g2;
        c = c2;
      }
      t.diagnostic(`decode max |logit diff| webgpu vs cpu over ${steps.length} steps: ${worst.toExponential(2)}`);
      // The device cache itself equals the CPU cache (downloaded through onnxruntime).
      const gd = await hostData(g.state);
      const cd = await hostData(c.state);
      for (let k = 0; k < cd.length; k++) close(gd[k], cd[k], TOL, `present tensor ${k}`);
      g.state.dispose();
    });

    test('cache operations on the device (expand, select, truncate, compact, download) equal the CPU', async () => {
      const prompt = ids(12, 11, V);
      const g = await gpu.forward(null, [prompt]);
      const c = await cpu.forward(null, [prompt]);
      // The synchronous host operations refuse device tensors (they cannot be read from JS).
      assert.throws(() => g.state.expand(2), (e: unknown) => e instanceof BytefillError && e.code === 'UNSUPPORTED');

      const host = await g.state.toHost();
      assert.equal(host.onDevice, false);
      assert.deepEqual(Array.from(host.nextPos), Array.from(c.state.nextPos));
      const hd = host.tensors.map((t) => t.data as Float32Array);
      const cd = c.state.tensors.map((t) => t.data as Float32Array);
      for (let k = 0; k < cd.length; k++) close(hd[k], cd[k], TOL, `downloaded tensor ${k}`);
      assert.equal(await host.toHost(), host, 'toHost of a host state is a no-op');

      // expand(3) on the device, one step with three different tokens (rows of unequal content).
      const next = [20, 21, 22].map((x) => 6 + ((x * 97) % (V - 6)));
      const gx = await g.state.expandAsync(3);
      assert.ok(allOnDevice(gx) && gx.batch === 3, 'expanded on the device');
      const ge = await gpu.forward(gx, next.map((tk) => [tk]));
      const ce = await cpu.forward(c.state.expand(3), next.map((tk) => [tk]));
      for (let b = 0; b < 3; b++) close(ge.logits[b][0], ce.logits[b][0], TOL, `expand row ${b}`);

      // select rows [2, 0] on the device, then truncate row 0 to 8 slots on the device.
      const gs = await ge.state.selectAsync([2, 0]);
      assert.ok(allOnDevice(gs) && gs.batch === 2);
      const gsd = await hostData(gs);
      const csd = ce.state.select([2, 0]).tensors.map((t) => t.data as Float32Array);
      for (let k = 0; k < csd.length; k++) close(gsd[k], csd[k], TOL, `select tensor ${k}`);
      const gt = await (await gs.selectAsync([1])).truncateAsync(8);
      assert.ok(allOnDevice(gt) && gt.length === 8 && gt.nextPos[0] === 8);
      const gts = await gpu.forward(gt, [[40]]);
      const cts = await cpu.forward(ce.state.select([0]).truncate(8), [[40]]);
      close(gts.logits[0][0], cts.logits[0][0], TOL, 'truncate then step');

      // compact: mask out slots 3..5, drop them on the device; the next step equals the CPU's.
      const mask = g.state.mask.slice();
      mask.fill(0, 3, 6);
      const gm = await g.state.withMask(mask, Int32Array.of(g.state.nextPos[0])).compactAsync();
      const cm = await c.state.withMask(mask, Int32Array.of(c.state.nextPos[0])).compactAsync();
      assert.ok(allOnDevice(gm) && gm.length === prompt.length - 3);
      const gms = await gpu.forward(gm, [[41]]);
      const cms = await cpu.forward(cm, [[41]]);
      close(gms.logits[0][0], cms.logits[0][0], TOL, 'compact then step');

      for (const s of [g.state, gx, ge.state, gs, gt, gts.state, gm, gms.state]) s.dispose();
    });
  });
}
