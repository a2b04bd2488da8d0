#!/usr/bin/env node
// Where a decode step's time goes, in one process, step by step alternated (so that the load of a
// shared machine hits every case alike). After 8 tokens ("short") and after a prefill ("long"):
//   engine   OnnxModel.forward, its outputs fed back (what generation does); "outside run" is
//            the part of it spent outside onnxruntime's run (the engine's own JavaScript)
//   raw      onnxruntime's run on the same session with the same inputs, outputs fed back
//   logits   the same run asking only for the logits (past fixed): raw - logits is what
//            onnxruntime-node costs to hand the 2 x layers present tensors back to JavaScript
// With --b DIR (another model folder, e.g. other 4-bit blocks) and/or --b-options JSON (load
// options, e.g. '{"mergeMatMul":true}'), the engine step of a second model B instead, and the
// largest difference of the two models' prefill logits. `npx tsc -b` first.
//
//   node scripts/bench-decode-step.mjs --model /tmp/rs-q05 [--variant q4] [--threads 2]
//     [--prefill 512] [--rounds 40] [--b DIR] [--b-options JSON]
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
const { OnnxModel, measureBandwidth } = require(path.join(root, 'out', 'engine', 'src', 'index.js'));
const ort = require(path.join(root, 'out', 'engine', 'src', 'model', 'ort.js'));

const args = new Map();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const threads = Number(args.get('threads') ?? 2);
const rounds = Number(args.get('rounds') ?? 40);
const variant = args.get('variant') ?? 'q4';
const load = async (dir, extra = {}) => OnnxModel.load(dir, { variant, threads, device: 'cpu', ...extra });
const loadavg = () => os.loadavg().map((v) => v.toFixed(1)).join(' ');

console.log(`load average ${loadavg()}`);
const bw0 = (await measureBandwidth(threads)).gbPerS;
const A = await load(args.get('model'));
const compare = args.has('b') || args.has('b-options');
const B = compare ? await load(args.get('b') ?? args.get('model'), JSON.parse(args.get('b-options') ?? '{}')) : undefined;
const V = A.config.vocabSize;
const L = A.config.numLayers;
let x = 12345;
const next = () => ((x = (x * 1103515245 + 12345) >>> 0), 6 + ((x % 150000) % (V - 6)));
const prompt = Array.from({ length: Number(args.get('prefill') ?? 512) }, next);

// The raw run: the inputs OnnxModel.forward gives a batch-1 step after a past of S real slots.
// (OnnxModel keeps its session private; a benchmark reads it to run the very same session.)
const session = A.session;
// Time spent inside the session's run, to split the engine's step into onnxruntime and the rest.
let inRun = 0;
const run = session.run.bind(session);
session.run = async (...a) => {
  const t = performance.now();
  try {
    return await run(...a);
  } finally {
    inRun += performance.now() - t;
  }
};
const keep = session.inputNames.find((n) => n === 'num_logits_to_keep' || n === 'logits_to_keep');
const i64 = (vals, dims) => new ort.Tensor('int64', BigInt64Array.from(vals.map(BigInt)), dims);
function rawFeeds(past, S, id) {
  const f = { input_ids: i64([id], [1, 1]), attention_mask: new ort.Tensor('int64', new BigInt64Array(S + 1).fill(1n), [1, S + 1]) };
  if (session.inputNames.includes('position_ids')) f.position_ids = i64([S], [1, 1]);
  if (keep) f[keep] = i64([1], []);
  for (let i = 0; i < L; i++) {
    f[`past_key_values.${i}.key`] = past[2 * i];
    f[`past_key_values.${i}.value`] = past[2 * i + 1];
  }
  return f;
}
const presents = (out) => Array.from({ length: 2 * L }, (_, k) => out[`present.${k >> 1}.${k & 1 ? 'value' : 'key'}`]);

async function cases(model, other, ids) {
  const a = await model.forward(null, [ids]);
  const c = {};
  let st = a.state;
  c.engine = async () => (st = (await model.forward(st, [[next()]])).state);
  if (other) {
    let sb = (await other.forward(null, [ids])).state;
    c.b = async () => (sb = (await other.forward(sb, [[next()]])).state);
  } else {
    let past = a.state.tensors;
    let S = a.state.length;
    c.raw = async () => {
      past = presents(await session.run(rawFeeds(past, S, next())));
      S++;
    };
    const fixed = a.state;
    c.logits = async () => session.run(rawFeeds(fixed.tensors, fixed.length, next()), ['logits']);
  }
  return c;
}

let maxDiff;
if (B) {
  const la = (await A.forward(null, [prompt])).logits[0][0];
  const lb = (await B.forward(null, [prompt])).logits[0][0];
  maxDiff = la.reduce((d, v, i) => Math.max(d, Math.abs(v - lb[i])), 0);
}
const q = (a, p) => [...a].sort((u, v) => u - v)[Math.floor(a.length * p)];
for (const [name, ids] of [
  ['short', prompt.slice(0, 8)],
  ['long', prompt],
]) {
  const c = await cases(A, B, ids);
  const names = Object.keys(c);
  for (let w = 0; w < 4; w++) for (const n of names) await c[n]();
  const ms = Object.fromEntries(names.map((n) => [n, []]));
  const outside = [];
  for (let r = 0; r < rounds; r++) {
    for (const n of r % 2 ? [...names].reverse() : names) {
      inRun = 0;
      const t = performance.now();
      await c[n]();
      ms[n].push(performance.now() - t);
      if (n === 'engine') outside.push(ms[n][ms[n].length - 1] - inRun);
    }
  }
  for (const n of names) console.log(`${name} (${ids.length} + steps) ${n.padEnd(7)} p25 ${q(ms[n], 0.25).toFixed(1)} ms, median ${q(ms[n], 0.5).toFixed(1)} ms`);
  console.log(`${name} engine outside run: median ${q(outside, 0.5).toFixed(2)} ms, p90 ${q(outside, 0.9).toFixed(2)} ms`);
}
if (B) console.log(`largest |difference| of the prefill's last logits, A vs B: ${maxDiff}`);
console.log(`bandwidth ${bw0.toFixed(1)} GB/s before, ${(await measureBandwidth(threads)).gbPerS.toFixed(1)} GB/s after; load average ${loadavg()}`);
await A.dispose();
await B?.dispose();
