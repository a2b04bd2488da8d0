#!/usr/bin/env node
// One short measurement of a large model (one process per configuration, so that peak RSS and
// load time belong to that configuration alone): load time, prefill, decode step, one sampled
// token at the model's vocabulary, optional warm keystrokes (token vs byte mode), peak RSS.
// Prints one JSON line. `npx tsc -b` first.
//
//   node scripts/bench-scale.mjs --model /tmp/q05 [--variant q4] [--threads 2] [--prefill 512]
//     [--steps 4] [--warm-steps 4] [--keystrokes 0] [--bandwidth 1]
// decodeShortMs: a step after 8 tokens; decodeMs: a step after the prefill (both after warm-steps).
// Environment: BYTEFILL_REWRITE_LOGITS=0 (keep every position's logits), BYTEFILL_CACHE_OPTIMIZED=0,
// BYTEFILL_INT8_ACTIVATIONS=0 (4-bit layers on float activations, as exported),
// BYTEFILL_MERGE_MATMUL=1 (q/k/v as one 4-bit node, merge-matmul.ts).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
const { Engine, measureSampling, measureBandwidth, loadMidtoken, percentile } = require(path.join(root, 'out', 'engine', 'src', 'index.js'));

const args = new Map();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const num = (k, d) => (args.has(k) ? Number(args.get(k)) : d);
const threads = num('threads', 2);
const loadavgStart = +os.loadavg()[0].toFixed(1);

let t0 = performance.now();
const engine = await Engine.create({ models: [args.get('model')], variant: args.get('variant'), threads, device: 'cpu' });
const loadMs = performance.now() - t0;
const b = engine.bundles[0];
const V = b.model.config.vocabSize;
let x = 12345;
const next = () => ((x = (x * 1103515245 + 12345) >>> 0), 6 + (x % 150000) % (V - 6));
const prompt = Array.from({ length: num('prefill', 512) }, next);
const steps = num('steps', 4);
// Decode steps are timed after `warmSteps` untimed ones: the first runs of a session at a new
// shape pay one-off costs (kernel set-up, the allocator growing) that are not the step's cost.
const warmSteps = num('warm-steps', 4);
const decodeAfter = async (state) => {
  for (let i = 0; i < warmSteps; i++) state = (await b.model.forward(state, [[next()]])).state;
  const t = performance.now();
  for (let i = 0; i < steps; i++) state = (await b.model.forward(state, [[next()]])).state;
  return (performance.now() - t) / steps;
};
// A short context first (8 tokens): the step is then the weights' cost, attention is negligible.
const decodeShortMs = await decodeAfter((await b.model.forward(null, [prompt.slice(0, 8)])).state);
t0 = performance.now();
let r = await b.model.forward(null, [prompt]);
const prefillMs = performance.now() - t0;
const decodeMs = await decodeAfter(r.state);
const s = measureSampling(r.logits[0][0], { temperature: 0.8, topK: 40, topP: 0.95 }, 5);
r = undefined;

const keystrokes = {};
const n = num('keystrokes', 0);
if (n > 0) {
  const cases = loadMidtoken(undefined, n);
  for (const mode of ['token', 'byte']) {
    const warm = [];
    for (const c of cases) {
      b.cache.clear();
      const req = (prefix) => engine.complete({ prefix, suffix: c.suffix, mode, stop: ['\n'], maxTokens: 16 });
      await req(c.prefix.slice(0, -1));
      const t1 = performance.now();
      await req(c.prefix);
      warm.push(performance.now() - t1);
    }
    keystrokes[mode] = { p50: percentile(warm, 0.5), p95: percentile(warm, 0.95), n: warm.length };
  }
}
// Memory read bandwidth in the same process, right after the decode steps (the floor of a decode
// step is the bytes of weights it reads / this).
const bandwidth = num('bandwidth', 0) ? +(await measureBandwidth(threads)).gbPerS.toFixed(1) : undefined;
await engine.dispose();
console.log(
  JSON.stringify({
    model: args.get('model'),
    variant: args.get('variant') ?? 'fp32',
    threads,
    rewriteLogits: process.env.BYTEFILL_REWRITE_LOGITS !== '0',
    cacheOptimized: process.env.BYTEFILL_CACHE_OPTIMIZED !== '0',
    int8Activations: process.env.BYTEFILL_INT8_ACTIVATIONS !== '0',
    mergeMatMul: process.env.BYTEFILL_MERGE_MATMUL === '1',
    loadMs: Math.round(loadMs),
    prefillTokens: prompt.length,
    prefillMs: Math.round(prefillMs),
    decodeShortMs: +decodeShortMs.toFixed(1),
    decodeMs: +decodeMs.toFixed(1),
    warmSteps,
    sampleMs: +s.sampleMs.toFixed(2),
    sortingMs: +s.sortingMs.toFixed(1),
    keystrokes,
    bandwidthGBs: bandwidth,
    loadavgStart,
    loadavg: +os.loadavg()[0].toFixed(1),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
