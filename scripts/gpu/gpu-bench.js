#!/usr/bin/env node
// Decode-step microbench of the GPU benchmark (scripts/gpu/run.sh); also runs on a CPU machine.
//
//   node scripts/gpu/gpu-bench.js --out FILE.json --models DIR[,DIR...] [--devices webgpu,cpu]
//        [--probe logits-probe.onnx] [--steps 16] [--budget-s 150]
//
// Per model and device (OnnxModel, i.e. the engine's own forward path):
//   loadMs, prefillMs (P tokens, batch 1), decodeMs (batch 1 at context P; KV stays where the
//   provider puts it: on the device for webgpu), decodeB4Ms (batch 4, state expanded on the host
//   and uploaded once), and for webgpu decodeHostKvMs: the same steps with the KV moved to the host
//   after every step (state.toHost(), then uploaded again by the next step): the old path.
// Per model on webgpu (raw onnxruntime sessions, every output left on the device):
//   stepLogitsOnDeviceMs  one step, logits never read (the floor: compute + launch)
//   stepLogitsDownloadMs  one step + the logits brought to the host by a second session (an
//                         Identity graph with a 'cpu' output). Not tensor.getData(): onnxruntime-node
//                         1.30 cannot download a gpu-buffer tensor ("not implemented", and the
//                         uncaught C++ throw aborts the process); the engine asks for logits on the CPU.
//   stepProbeMs           one step + a second tiny session (--probe) on the device that takes the
//                         gpu-buffer logits as input and returns 256 gathered logits + max + logsumexp
//   probeMaxDiff          probe outputs vs the same values computed on the CPU from downloaded logits
// (--raw-device cpu runs the raw part on the CPU provider: a smoke test of this script without a GPU.)
// Every measurement is in its own try/catch: a failure is recorded as a string, the rest goes on.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
// onnxruntime telemetry off before the native binding loads (as engine/src/model/ort.ts does).
process.env.ORT_DISABLE_TELEMETRY = '1';
const ort = require('onnxruntime-node');
const ROOT = path.resolve(__dirname, '../..');
const { OnnxModel, encodeModel, mulberry32, randInt } = require(path.join(ROOT, 'out/engine/src/index.js'));

/** Brings a float32 [B,T,V] tensor to the host: .data for CPU tensors, an Identity graph on `ep` for device ones. */
async function makeDownloader(ep) {
  const graph = encodeModel({
    name: 'download',
    inputs: [{ name: 'x', type: 'float32', dims: ['b', 't', 'v'] }],
    outputs: [{ name: 'y', type: 'float32', dims: ['b', 't', 'v'] }],
    nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
  });
  const s = await ort.InferenceSession.create(graph, { executionProviders: [ep], logSeverityLevel: 3, preferredOutputLocation: 'cpu' });
  return {
    get: async (t) => (t.location === 'cpu' ? t.data : (await s.run({ x: t })).y.data),
    release: () => s.release(),
  };
}

function args(argv) {
  const a = { devices: 'webgpu,cpu', steps: '16', 'budget-s': '150' };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) a[argv[i].slice(2)] = argv[i + 1] && !argv[i + 1].startsWith('--') ? argv[++i] : 'true';
  }
  return a;
}
const A = args(process.argv.slice(2));
const STEPS = Number(A.steps);
const T0 = performance.now();
const budgetLeft = () => Number(A['budget-s']) * 1000 - (performance.now() - T0);
const median = (xs) => {
  const s = xs.slice().sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length ? (s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2) : NaN;
};
const r3 = (x) => (typeof x === 'number' && Number.isFinite(x) ? Math.round(x * 1000) / 1000 : x);
const errStr = (e) => {
  let m = String(e && e.message ? e.message : e).split('\n')[0];
  const i = m.indexOf(' was false. ');
  if (i >= 0) m = m.slice(i + 12);
  return m.slice(0, 300);
};
function ids(n, seed, V) {
  const rng = mulberry32(seed); // the engine's seeded RNG
  return Array.from({ length: n }, () => 6 + randInt(rng, V - 6));
}
async function measure(rec, key, fn) {
  if (budgetLeft() < 5000) {
    rec[key] = 'skipped: time budget spent';
    return undefined;
  }
  try {
    const v = await fn();
    rec[key] = typeof v === 'object' && v !== null ? v : r3(v);
    return v;
  } catch (e) {
    rec[key] = `error: ${errStr(e)}`;
    return undefined;
  }
}

/** Engine path: OnnxModel on one device. */
async function engineBench(dir, device) {
  const rec = { model: path.basename(dir), device };
  let m;
  const t0 = performance.now();
  try {
    m = await OnnxModel.load(dir, { device });
  } catch (e) {
    rec.error = errStr(e);
    return rec;
  }
  rec.loadMs = r3(performance.now() - t0);
  rec.provider = m.provider;
  const V = m.config.vocabSize;
  const big = m.config.numLayers * m.config.hiddenSize > 8000;
  const P = device === 'cpu' && big ? 128 : 512;
  rec.prefillTokens = P;
  const steps = ids(STEPS, 99, V);
  const disposeChain = (st) => st && st.dispose && st.dispose();
  try {
    await m.forward(null, [ids(16, 1, V)]); // warm-up
    let base;
    await measure(rec, 'prefillMs', async () => {
      const xs = [];
      for (let r = 0; r < 3; r++) {
        const t = performance.now();
        const o = await m.forward(null, [ids(P, 7, V)]);
        xs.push(performance.now() - t);
        if (base) disposeChain(base.state);
        base = o;
      }
      return median(xs);
    });
    if (base) {
      await measure(rec, 'decodeMs', async () => {
        let st = base.state;
        const xs = [];
        for (const id of steps) {
          const t = performance.now();
          const o = await m.forward(st, [[id]]);
          xs.push(performance.now() - t);
          if (st !== base.state) disposeChain(st);
          st = o.state;
        }
        rec.kvOnDeviceAfterStep = st.onDevice;
        disposeChain(st);
        return median(xs.slice(2));
      });
      if (device !== 'cpu') {
        await measure(rec, 'decodeHostKvMs', async () => {
          let st = await base.state.toHost();
          const xs = [];
          for (const id of steps) {
            const t = performance.now();
            const o = await m.forward(st, [[id]]);
            const h = await o.state.toHost();
            xs.push(performance.now() - t);
            o.state.dispose();
            st = h;
          }
          return median(xs.slice(2));
        });
        await measure(rec, 'toHostMs', async () => {
          const t = performance.now();
          await base.state.toHost();
          return performance.now() - t;
        });
      }
      await measure(rec, 'decodeB4Ms', async () => {
        const host = await base.state.toHost();
        let st = host.expand(4);
        const xs = [];
        for (let i = 0; i < Math.min(STEPS, 8); i++) {
          const t = performance.now();
          const o = await m.forward(st, [[steps[i]], [steps[(i + 1) % STEPS]], [steps[(i + 2) % STEPS]], [steps[(i + 3) % STEPS]]]);
          xs.push(performance.now() - t);
          if (st.onDevice) st.dispose();
          st = o.state;
        }
        disposeChain(st);
        return median(xs.slice(1));
      });
      disposeChain(base.state);
    }
  } finally {
    await m.dispose();
  }
  return rec;
}

/** Raw onnxruntime (webgpu, outputs left on the device): what it costs to read the logits, and a second session on the device. */
async function rawSession(dir, probeFile, ep) {
  const rec = { model: path.basename(dir), device: ep, raw: true };
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const L = cfg.num_hidden_layers;
  const V = cfg.vocab_size;
  const Hkv = cfg.num_key_value_heads ?? cfg.num_attention_heads;
  const D = cfg.head_dim ?? cfg.hidden_size / cfg.num_attention_heads;
  let s;
  let probe;
  let dl;
  try {
    dl = await makeDownloader(ep);
    s = await ort.InferenceSession.create(path.join(dir, 'onnx', 'model.onnx'), {
      executionProviders: [ep],
      ...(ep === 'cpu' ? {} : { preferredOutputLocation: 'gpu-buffer' }),
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    });
  } catch (e) {
    rec.error = errStr(e);
    return rec;
  }
  const i64 = (a, dims) => new ort.Tensor('int64', BigInt64Array.from(a.map(BigInt)), dims);
  const feeds = (tok, pos0, past) => {
    const T = tok.length;
    const f = {
      input_ids: i64(tok, [1, T]),
      attention_mask: i64(new Array(pos0 + T).fill(1), [1, pos0 + T]),
      position_ids: i64(tok.map((_, i) => pos0 + i), [1, T]),
    };
    for (let i = 0; i < L; i++) {
      f[`past_key_values.${i}.key`] = past ? past[2 * i] : new ort.Tensor('float32', new Float32Array(0), [1, Hkv, 0, D]);
      f[`past_key_values.${i}.value`] = past ? past[2 * i + 1] : new ort.Tensor('float32', new Float32Array(0), [1, Hkv, 0, D]);
    }
    return f;
  };
  const presents = (out) => {
    const p = [];
    for (let i = 0; i < L; i++) p.push(out[`present.${i}.key`], out[`present.${i}.value`]);
    return p;
  };
  const P = 128;
  try {
    let out = await s.run(feeds(ids(P, 5, V), 0, null));
    rec.outputLocations = { logits: out.logits.location, present0: out['present.0.key'].location };
    out.logits.dispose();
    let past = presents(out);
    let pos = P;
    const steps = ids(STEPS, 9, V);
    const step = async (tok) => {
      const o = await s.run(feeds([tok], pos, past));
      for (const t of past) t.dispose();
      past = presents(o);
      pos++;
      return o;
    };
    await measure(rec, 'stepLogitsOnDeviceMs', async () => {
      const xs = [];
      for (const tok of steps) {
        const t = performance.now();
        const o = await step(tok);
        xs.push(performance.now() - t);
        o.logits.dispose();
      }
      return median(xs.slice(2));
    });
    await measure(rec, 'stepLogitsDownloadMs', async () => {
      const xs = [];
      for (const tok of steps) {
        const t = performance.now();
        const o = await step(tok);
        await dl.get(o.logits);
        o.logits.dispose();
        xs.push(performance.now() - t);
      }
      return median(xs.slice(2));
    });
    if (probeFile && fs.existsSync(probeFile)) {
      try {
        probe = await ort.InferenceSession.create(probeFile, { executionProviders: [ep], logSeverityLevel: 3 });
      } catch (e) {
        rec.probeError = `probe session: ${errStr(e)}`;
      }
    } else {
      rec.probeError = `no probe graph at ${probeFile}`;
    }
    if (probe) {
      const K = 256;
      const pick = ids(K, 17, V);
      const idsT = i64(pick, [K]);
      await measure(rec, 'stepProbeMs', async () => {
        const xs = [];
        let diff = 0;
        for (let n = 0; n < steps.length; n++) {
          const t = performance.now();
          const o = await step(steps[n]);
          const r = await probe.run({ logits: o.logits, ids: idsT });
          xs.push(performance.now() - t);
          if (n === steps.length - 1) {
            // correctness: the same numbers from the downloaded logits
            const lg = await dl.get(o.logits);
            let mx = -Infinity;
            for (let v = 0; v < V; v++) mx = Math.max(mx, lg[v]);
            let se = 0;
            for (let v = 0; v < V; v++) se += Math.exp(lg[v] - mx);
            const lse = mx + Math.log(se);
            diff = Math.max(Math.abs(r.max.data[0] - mx), Math.abs(r.lse.data[0] - lse));
            for (let k = 0; k < K; k++) diff = Math.max(diff, Math.abs(r.picked.data[k] - lg[pick[k]]));
            rec.probeOutputLocations = { picked: r.picked.location, lse: r.lse.location };
          }
          o.logits.dispose();
        }
        rec.probeMaxDiff = diff;
        return median(xs.slice(2));
      });
    }
    for (const t of past) t.dispose();
  } catch (e) {
    rec.error = errStr(e);
  } finally {
    await s.release().catch(() => undefined);
    if (probe) await probe.release().catch(() => undefined);
    if (dl) await dl.release().catch(() => undefined);
  }
  return rec;
}

(async () => {
  const models = (A.models || path.join(ROOT, 'models/tiny-code-a')).split(',').filter(Boolean);
  const devices = A.devices.split(',').filter(Boolean);
  const result = {
    date: new Date().toISOString(),
    machine: `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, node ${process.version}`,
    backends: ort.listSupportedBackends(),
    steps: STEPS,
    engine: [],
    raw: [],
  };
  for (const dir of models) {
    if (!fs.existsSync(path.join(dir, 'config.json'))) {
      result.engine.push({ model: dir, error: 'missing' });
      continue;
    }
    for (const device of devices) {
      if (budgetLeft() < 10000) {
        result.engine.push({ model: path.basename(dir), device, error: 'skipped: time budget spent' });
        continue;
      }
      const rec = await engineBench(dir, device);
      result.engine.push(rec);
      console.error(JSON.stringify(rec));
    }
    const rawDev = A['raw-device'] ?? (devices.includes('webgpu') ? 'webgpu' : undefined);
    if (rawDev && budgetLeft() > 10000) {
      const rec = await rawSession(dir, A.probe, rawDev);
      result.raw.push(rec);
      console.error(JSON.stringify(rec));
    }
  }
  result.seconds = r3((performance.now() - T0) / 1000);
  const text = JSON.stringify(result, null, 1);
  if (A.out) fs.writeFileSync(A.out, text);
  else console.log(text);
})().catch((e) => {
  console.error(`gpu-bench: ${e && e.stack ? e.stack : e}`);
  process.exitCode = 1;
});
