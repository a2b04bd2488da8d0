#!/usr/bin/env node
// Writes a random-weight decoder model folder (Hugging Face ONNX layout) for benchmarks and tests.
// Runs the compiled generator: `npx tsc -p tsconfig.json` first.
//
//   node scripts/make-random-model.mjs --out /tmp/qwen05 --preset qwen2.5-0.5b --variants fp32,q4 \
//     --external --tokenizer path/to/tokenizer.json
//   node scripts/make-random-model.mjs --out /tmp/small --layers 2 --hidden 64 --heads 4 --kv-heads 2 \
//     --ffn 128 --vocab 4096
//
// Options: --preset qwen2.5-0.5b | --model-type llama|qwen2 --layers --hidden --heads --kv-heads
// --head-dim --ffn --vocab --rope-theta --rms-norm-eps --[no-]bias --[no-]tied --max-positions
// --seed --variants fp32,fp16,q4,q4f16,int8,uint8,quantized --q4-accuracy-level N --q4-block 32|64|128 --external --last-logits-only
// --logits-to-keep --tokenizer FILE --tokenizer-config FILE --eos ID --bos ID --config-json '{...}'
// --gguf f32,q4_0,q8_0: also write the same weights as GGUF for llama.cpp (qwen2 only) into
// DIR/gguf/model-<type>.gguf (q4_0 holds the q4 variant's codes, q8_0 the int8 variant's);
// `--variants ''` writes no ONNX file.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const compiled = path.join(root, 'out', 'engine', 'test', 'fixtures', 'random-model.js');
if (!fs.existsSync(compiled)) {
  console.error(`make-random-model: ${compiled} not found; run \`npx tsc -p tsconfig.json\` first`);
  process.exit(2);
}
const req = createRequire(import.meta.url);
const { buildRandomModel, QWEN25_05B_SHAPE } = req(compiled);
const { buildRandomGguf, ggufFileName, GGUF_VARIANTS } = req(path.join(path.dirname(compiled), 'random-gguf.js'));

const PRESETS = { 'qwen2.5-0.5b': QWEN25_05B_SHAPE };
const NUM = {
  '--layers': 'layers',
  '--hidden': 'hidden',
  '--heads': 'heads',
  '--kv-heads': 'kvHeads',
  '--head-dim': 'headDim',
  '--ffn': 'ffn',
  '--vocab': 'vocab',
  '--rope-theta': 'ropeTheta',
  '--rms-norm-eps': 'rmsNormEps',
  '--max-positions': 'maxPositions',
  '--seed': 'seed',
  '--eos': 'eosTokenId',
  '--bos': 'bosTokenId',
  '--q4-accuracy-level': 'q4AccuracyLevel',
  '--q4-block': 'q4BlockSize',
};
const FLAG = {
  '--external': ['externalData', true],
  '--last-logits-only': ['lastLogitsOnly', true],
  '--logits-to-keep': ['logitsToKeepInput', true],
  '--bias': ['qkvBias', true],
  '--no-bias': ['qkvBias', false],
  '--tied': ['tiedEmbeddings', true],
  '--no-tied': ['tiedEmbeddings', false],
};

function fail(msg) {
  console.error(`make-random-model: ${msg}`);
  process.exit(2);
}

const args = process.argv.slice(2);
let out;
let gguf = [];
const opts = {};
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const val = () => {
    if (i + 1 >= args.length) fail(`${a} needs a value`);
    return args[++i];
  };
  if (a === '--out') out = val();
  else if (a === '--preset') {
    const p = PRESETS[val()];
    if (!p) fail(`unknown preset ${args[i]} (${Object.keys(PRESETS).join(', ')})`);
    Object.assign(opts, p);
  } else if (a === '--model-type') opts.modelType = val();
  else if (a === '--gguf') gguf = val().split(',').filter(Boolean);
  else if (a === '--variants') opts.variants = val().split(',').filter(Boolean);
  else if (a === '--tokenizer') opts.tokenizerJson = val();
  else if (a === '--tokenizer-config') opts.tokenizerConfigJson = val();
  else if (a === '--config-json') opts.extraConfig = JSON.parse(val());
  else if (a in NUM) {
    const v = Number(val());
    if (!Number.isFinite(v)) fail(`${a} needs a number (got ${args[i]})`);
    opts[NUM[a]] = v;
  } else if (a in FLAG) opts[FLAG[a][0]] = FLAG[a][1];
  else fail(`unknown option ${a}`);
}
if (!out) fail('--out DIR is required');
for (const k of ['layers', 'hidden', 'heads', 'ffn', 'vocab']) if (opts[k] === undefined) fail(`--${k} is required (or --preset)`);

for (const g of gguf) if (!GGUF_VARIANTS.includes(g)) fail(`unknown --gguf type ${g} (${GGUF_VARIANTS.join(', ')})`);
if (gguf.includes('q4_0') && (opts.q4BlockSize ?? 32) !== 32) fail('--gguf q4_0 holds the q4 codes in blocks of 32: leave --q4-block at 32');

const t0 = Date.now();
const m = buildRandomModel(path.resolve(out), opts);
const ggufFiles = {};
if (gguf.length) fs.mkdirSync(path.join(m.dir, 'gguf'), { recursive: true });
for (const g of gguf) {
  const file = path.join(m.dir, 'gguf', ggufFileName(g));
  const r = buildRandomGguf(file, opts, g);
  ggufFiles[g] = { file, bytes: r.bytes, ms: r.ms };
}
const files = Object.fromEntries(
  Object.entries(m.files).map(([v, f]) => {
    let bytes = fs.statSync(f).size;
    if (fs.existsSync(`${f}_data`)) bytes += fs.statSync(`${f}_data`).size;
    return [v, { file: f, bytes, ms: m.buildMs[v] }];
  }),
);
console.log(JSON.stringify({ dir: m.dir, params: m.params, files, gguf: ggufFiles, totalMs: Date.now() - t0 }, null, 2));
