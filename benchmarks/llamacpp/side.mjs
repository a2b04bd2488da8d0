// One side of the comparison in its own process (so that its peak RSS and thread pools belong to
// it alone): bytefill (onnxruntime, the ONNX model) or llama.cpp (node-llama-cpp, the GGUF file
// with the same weights). Prints one JSON line. Run by compare.mjs; by hand:
//
//   node benchmarks/llamacpp/side.mjs --engine bytefill|llamacpp --model DIR --variant q4|int8|fp32 \
//     [--threads 2] [--prefill 512] [--steps 16] [--keystrokes 3] [--repeat 2]
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as fs from 'node:fs';
import * as path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const args = new Map();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const num = (k, d) => (args.has(k) ? Number(args.get(k)) : d);
const engineName = args.get('engine');
const modelDir = path.resolve(args.get('model'));
const variant = args.get('variant') ?? 'q4';
const threads = num('threads', 2);
const prefillLen = num('prefill', 512);
const steps = num('steps', 16);
const keystrokes = num('keystrokes', 3);
const repeat = num('repeat', 2);
const GGUF = { fp32: 'f32', q4: 'q4_0', int8: 'q8_0' };

// The same prompts on both sides: random ids for prefill/decode (as scripts/bench-scale.mjs), and
// source files of this repository cut to about `prefillLen` tokens for the argmax check and the
// keystrokes.
function randomIds(n, V) {
  let x = 12345;
  const next = () => ((x = (x * 1103515245 + 12345) >>> 0), 6 + ((x % 150000) % (V - 6)));
  return Array.from({ length: n }, next);
}
const SOURCES = ['engine/src/decode/sampler.ts', 'engine/src/model/prefix-cache.ts', 'engine/src/tokenizer/tokenizer.ts', 'engine/src/model/session.ts'];
/** Texts of about 4 bytes per token, each ending in the middle of a line. */
function texts(n) {
  return SOURCES.slice(0, n).map((f) => {
    const t = fs.readFileSync(path.join(root, f), 'utf8');
    const cut = Math.min(t.length, prefillLen * 4);
    return t.slice(0, cut - 7);
  });
}
const CHECK_TEXT = 'export function fibonacci(n: number): number {\n  if (n < 2) return n;\n  return fibonacci(n - 1) + ';
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor((a.length - 1) / 2)];
const now = () => performance.now();

function top5(probs) {
  return probs.slice(0, 5).map(([id, p]) => [id, +p.toFixed(4)]);
}

async function runBytefill() {
  const require = createRequire(import.meta.url);
  const { Engine } = require(path.join(root, 'out', 'engine', 'src', 'index.js'));
  let t0 = now();
  const engine = await Engine.create({ models: [modelDir], variant, threads, device: 'cpu', fim: { disabled: true } });
  const loadMs = now() - t0;
  const b = engine.bundles[0];
  const m = b.model;
  const V = JSON.parse(fs.readFileSync(path.join(modelDir, 'config.json'), 'utf8')).vocab_size;
  const softmaxTop = (logits) => {
    let mx = -Infinity;
    for (let i = 0; i < logits.length; i++) if (logits[i] > mx) mx = logits[i];
    let z = 0;
    for (let i = 0; i < logits.length; i++) z += Math.exp(logits[i] - mx);
    const idx = Array.from(logits.keys()).sort((a, c) => logits[c] - logits[a]).slice(0, 5);
    return idx.map((i) => [i, Math.exp(logits[i] - mx) / z]);
  };
  const argmax = (l) => {
    let best = 0;
    for (let i = 1; i < l.length; i++) if (l[i] > l[best]) best = i;
    return best;
  };
  // Argmax check.
  const checkIds = b.tok.encode(CHECK_TEXT);
  const check = softmaxTop((await m.forward(null, [checkIds])).logits[0][0]);

  const prompt = randomIds(prefillLen, V);
  await m.forward(null, [prompt.slice(0, 8)]); // warm-up
  const prefill = [];
  let r;
  for (let i = 0; i < repeat; i++) {
    r = undefined;
    t0 = now();
    r = await m.forward(null, [prompt]);
    prefill.push(now() - t0);
  }
  // Decode: greedy steps after the prompt (forward + argmax, as llama.cpp's greedy sampler).
  let state = r.state;
  let tok = argmax(r.logits[0][0]);
  r = undefined;
  t0 = now();
  for (let i = 0; i < steps; i++) {
    const s = await m.forward(state, [[tok]]);
    state = s.state;
    tok = argmax(s.logits[0][0]);
  }
  const decodeMs = (now() - t0) / steps;
  state = undefined;

  // Keystrokes: the same file one character shorter first (fills the prefix cache), then the
  // measured request; 16 tokens, no stop string, in token and byte mode.
  const ks = { token: [], byte: [], tokens: [], cached: [], promptTokens: [] };
  for (const mode of ['token', 'byte']) {
    for (const text of texts(keystrokes)) {
      b.cache.clear();
      const req = (prefix) => engine.complete({ prefix, suffix: '', mode, stop: [], maxTokens: 16 });
      await req(text.slice(0, -1));
      t0 = now();
      const res = await req(text);
      ks[mode].push(now() - t0);
      if (mode === 'token') {
        ks.tokens.push(res.generatedTokens);
        ks.cached.push(res.cachedTokens ?? 0);
        ks.promptTokens.push(res.promptTokens);
      }
    }
  }
  await engine.dispose();
  return { loadMs, checkIds, check, prefill, decodeMs, ks };
}

async function runLlamacpp() {
  const { getLlama, LlamaLogLevel } = await import(path.join(here, 'node_modules', 'node-llama-cpp', 'dist', 'index.js'));
  const file = path.join(modelDir, 'gguf', `model-${GGUF[variant]}.gguf`);
  if (!fs.existsSync(file)) throw new Error(`${file} not found: build it with scripts/make-random-model.mjs --gguf ${GGUF[variant]}`);
  let t0 = now();
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
  const ctx = await model.createContext({ contextSize: 2048, batchSize: 512, threads, sequences: 1 });
  const seq = ctx.getSequence();
  const loadMs = now() - t0;
  const V = JSON.parse(fs.readFileSync(path.join(modelDir, 'config.json'), 'utf8')).vocab_size;
  // Argmax check: the next-token distribution at temperature 1 (no top-k/top-p), its 5 best.
  const checkIds = model.tokenize(CHECK_TEXT);
  const g = seq.evaluateWithMetadata(checkIds, { probabilities: true }, { temperature: 1, topK: 0, topP: 1, minP: 0, seed: 1 });
  const first = (await g.next()).value;
  await g.return();
  const check = [...first.probabilities.entries()].sort((a, c) => c[1] - a[1]).slice(0, 5);
  await seq.clearHistory();

  const prompt = randomIds(prefillLen, V);
  await seq.evaluateWithoutGeneratingNewTokens(prompt.slice(0, 8));
  const prefill = [];
  for (let i = 0; i < repeat; i++) {
    await seq.clearHistory();
    t0 = now();
    await seq.evaluateWithoutGeneratingNewTokens(prompt);
    prefill.push(now() - t0);
  }
  // Decode: the greedy generator, one token evaluated per iteration.
  await seq.eraseContextTokenRanges([{ start: prefillLen - 1, end: prefillLen }]);
  const gen = seq.evaluate([prompt[prefillLen - 1]], { temperature: 0 });
  await gen.next(); // the last prompt token
  t0 = now();
  for (let i = 0; i < steps; i++) await gen.next();
  const decodeMs = (now() - t0) / steps;
  await gen.return();

  // Keystrokes, as llama-server's prompt cache does: keep the common prefix of the context,
  // evaluate the rest, then 16 greedy tokens (stop at end of text).
  const ks = { token: [], tokens: [], cached: [], promptTokens: [] };
  for (const text of texts(keystrokes)) {
    await seq.clearHistory();
    await seq.evaluateWithoutGeneratingNewTokens(model.tokenize(text.slice(0, -1)));
    t0 = now();
    const ids = model.tokenize(text);
    const ctxTokens = seq.contextTokens;
    let c = 0;
    while (c < ids.length - 1 && c < ctxTokens.length && ids[c] === ctxTokens[c]) c++;
    if (c < ctxTokens.length) await seq.eraseContextTokenRanges([{ start: c, end: ctxTokens.length }]);
    let n = 0;
    for await (const t of seq.evaluate(ids.slice(c), { temperature: 0 })) {
      if (model.isSpecialToken(t) || ++n >= 16) break;
    }
    ks.token.push(now() - t0);
    ks.tokens.push(n);
    ks.cached.push(c);
    ks.promptTokens.push(ids.length);
  }
  await ctx.dispose();
  await model.dispose();
  return { loadMs, checkIds, check, prefill, decodeMs, ks };
}

const r = engineName === 'bytefill' ? await runBytefill() : engineName === 'llamacpp' ? await runLlamacpp() : null;
if (!r) throw new Error(`--engine must be bytefill or llamacpp (got ${engineName})`);
console.log(
  JSON.stringify({
    engine: engineName,
    variant,
    threads,
    loadMs: Math.round(r.loadMs),
    checkIds: r.checkIds,
    check: top5(r.check),
    prefillMs: r.prefill.map(Math.round),
    decodeMs: +r.decodeMs.toFixed(1),
    keystroke: {
      tokenMs: r.ks.token.map(Math.round),
      byteMs: r.ks.byte?.map(Math.round),
      generated: r.ks.tokens,
      cached: r.ks.cached,
      promptTokens: r.ks.promptTokens,
      p50TokenMs: Math.round(median(r.ks.token)),
      p50ByteMs: r.ks.byte ? Math.round(median(r.ks.byte)) : undefined,
    },
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
