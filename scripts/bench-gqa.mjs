#!/usr/bin/env node
// What onnxruntime's fused attention (com.microsoft GroupQueryAttention, rotary inside) costs per
// decode step on the CPU: one node per layer of a 0.5B Qwen2.5 (24 layers, 14 query heads over 2
// KV heads of 64), past lengths alternated run by run, with and without the present tensors handed
// back to JavaScript. For weighing a fused-attention graph against the unfused one (BENCHMARKS.md
// section 19). `npx tsc -b` first.
//
//   node scripts/bench-gqa.mjs [--threads 2] [--pasts 8,512] [--rounds 40]
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const out = new URL('../out/', import.meta.url).pathname;
const require = createRequire(import.meta.url);
const { GraphBuilder } = require(path.join(out, 'engine', 'test', 'fixtures', 'onnx-writer.js'));
const ort = require(path.join(out, 'engine', 'src', 'model', 'ort.js'));

const { values: opt } = parseArgs({ options: { threads: { type: 'string', default: '2' }, pasts: { type: 'string', default: '8,512' }, rounds: { type: 'string', default: '40' } } });
const threads = Number(opt.threads);
const pasts = opt.pasts.split(',').map(Number);
const rounds = Number(opt.rounds);
const L = 24, nH = 14, KV = 2, D = 64, MAXP = 4096;

const g = new GraphBuilder();
const q = g.input('q', 'float', [1, 1, nH * D]);
const k = g.input('k', 'float', [1, 1, KV * D]);
const v = g.input('v', 'float', [1, 1, KV * D]);
const seqlens = g.input('seqlens_k', 'int32', [1]);
const total = g.input('total_sequence_length', 'int32', []);
const cos = new Float32Array((MAXP * D) / 2);
const sin = new Float32Array((MAXP * D) / 2);
for (let p = 0; p < MAXP; p++) {
  for (let i = 0; i < D / 2; i++) {
    const a = p * Math.pow(1e6, (-2 * i) / D);
    cos[(p * D) / 2 + i] = Math.cos(a);
    sin[(p * D) / 2 + i] = Math.sin(a);
  }
}
const cosC = g.initializer({ name: 'cos_cache', dtype: 'float', dims: [MAXP, D / 2], data: new Uint8Array(cos.buffer) });
const sinC = g.initializer({ name: 'sin_cache', dtype: 'float', dims: [MAXP, D / 2], data: new Uint8Array(sin.buffer) });
for (let l = 0; l < L; l++) {
  const pk = g.input(`past_key.${l}`, 'float', [1, KV, 'past', D]);
  const pv = g.input(`past_value.${l}`, 'float', [1, KV, 'past', D]);
  g.node('GroupQueryAttention', [q, k, v, pk, pv, seqlens, total, cosC, sinC], { num_heads: nH, kv_num_heads: KV, do_rotary: 1 }, { outs: [`out.${l}`, `present_key.${l}`, `present_value.${l}`], domain: 'com.microsoft' });
  g.output(`out.${l}`, 'float', [1, 1, nH * D]);
  g.output(`present_key.${l}`, 'float', [1, KV, 'total', D]);
  g.output(`present_value.${l}`, 'float', [1, KV, 'total', D]);
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-gqa-'));
const file = path.join(tmp, 'gqa.onnx');
g.write(file);
const session = await ort.InferenceSession.create(file, {
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  enableMemPattern: false,
  logSeverityLevel: 3,
  extra: { session: { intra_op: { allow_spinning: process.env.BYTEFILL_ORT_SPINNING === '1' ? '1' : '0' } } },
});
fs.rmSync(tmp, { recursive: true, force: true });

const values = (n) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37));
function feeds(P) {
  const f = {
    q: new ort.Tensor('float32', values(nH * D), [1, 1, nH * D]),
    k: new ort.Tensor('float32', values(KV * D), [1, 1, KV * D]),
    v: new ort.Tensor('float32', values(KV * D), [1, 1, KV * D]),
    seqlens_k: new ort.Tensor('int32', Int32Array.of(P), [1]),
    total_sequence_length: new ort.Tensor('int32', Int32Array.of(P + 1), []),
  };
  for (let l = 0; l < L; l++) {
    f[`past_key.${l}`] = new ort.Tensor('float32', values(KV * P * D), [1, KV, P, D]);
    f[`past_value.${l}`] = new ort.Tensor('float32', values(KV * P * D), [1, KV, P, D]);
  }
  return f;
}
const attentionOnly = Array.from({ length: L }, (_, l) => `out.${l}`);
const cases = [];
for (const P of pasts) {
  const f = feeds(P);
  cases.push({ name: `past ${P}, every output`, f, fetch: undefined }, { name: `past ${P}, attention output only`, f, fetch: attentionOnly });
}
console.log(`load average ${os.loadavg()[0].toFixed(1)}, ${threads} threads`);
for (const c of cases) for (let i = 0; i < 3; i++) await session.run(c.f, c.fetch);
const ms = cases.map(() => []);
for (let r = 0; r < rounds; r++) {
  for (const i of r % 2 ? [...cases.keys()].reverse() : cases.keys()) {
    const t = performance.now();
    await session.run(cases[i].f, cases[i].fetch);
    ms[i].push(performance.now() - t);
  }
}
cases.forEach((c, i) => console.log(`${c.name}: median ${[...ms[i]].sort((a, b) => a - b)[ms[i].length >> 1].toFixed(2)} ms per step (${L} layers)`));
console.log(`load average ${os.loadavg()[0].toFixed(1)}`);
