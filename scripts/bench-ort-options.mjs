#!/usr/bin/env node
// onnxruntime session options by measurement: each configuration (threads, arena, memory pattern,
// intra-op spinning, graph optimisation level) loads the model in its own process and measures a
// prefill and the decode step; rounds interleave the configurations so that all see the same
// machine load. Prints a markdown table of medians and ratios to the first configuration.
// `npx tsc -b` first.
//
//   node scripts/bench-ort-options.mjs --model /tmp/q05 [--variant q4] [--rounds 2] [--prefill 256]
//     [--steps 8] [--configs base,spin-on,threads1,arena-off,pattern-off,opt-basic]
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as os from 'node:os';
import * as path from 'node:path';

const here = fileURLToPath(import.meta.url);
const root = path.dirname(path.dirname(here));
const args = new Map();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const num = (k, d) => (args.has(k) ? Number(args.get(k)) : d);

/** Load options of each configuration (threads 2 and the engine's defaults unless said: spinning off since it was measured here). */
const CONFIGS = {
  base: {},
  threads1: { threads: 1 },
  'arena-off': { cpu: { memArena: false } },
  'pattern-off': { cpu: { memPattern: false } },
  'spin-off': { cpu: { spinning: false } },
  'spin-on': { cpu: { spinning: true } },
  'opt-extended': { optimizationLevel: 'extended' },
  'opt-basic': { optimizationLevel: 'basic' },
};

async function child(name) {
  const { OnnxModel } = createRequire(import.meta.url)(path.join(root, 'out', 'engine', 'src', 'index.js'));
  const c = CONFIGS[name];
  let t0 = performance.now();
  const m = await OnnxModel.load(args.get('model'), { variant: args.get('variant') ?? 'q4', device: 'cpu', threads: 2, ...c });
  const loadMs = performance.now() - t0;
  const V = m.config.vocabSize;
  let x = 12345;
  const next = () => ((x = (x * 1103515245 + 12345) >>> 0), 6 + ((x % 150000) % (V - 6)));
  const prompt = Array.from({ length: num('prefill', 256) }, next);
  await m.forward(null, [prompt.slice(0, 8)]);
  t0 = performance.now();
  let r = await m.forward(null, [prompt]);
  const prefillMs = performance.now() - t0;
  let state = r.state;
  r = undefined;
  const steps = num('steps', 8);
  t0 = performance.now();
  for (let i = 0; i < steps; i++) state = (await m.forward(state, [[next()]])).state;
  const decodeMs = (performance.now() - t0) / steps;
  const cpu = process.cpuUsage();
  await m.dispose();
  console.log(JSON.stringify({ name, loadMs, prefillMs, decodeMs, cpuS: (cpu.user + cpu.system) / 1e6, peakRssMb: process.resourceUsage().maxRSS / 1024 }));
}

if (args.has('child')) await child(args.get('child'));
else {
  if (!args.get('model')) {
    console.error('bench-ort-options: --model DIR is required');
    process.exit(2);
  }
  const names = (args.get('configs') ?? 'base,spin-on,threads1,arena-off,pattern-off,opt-basic').split(',');
  for (const n of names) if (!CONFIGS[n]) throw new Error(`bench-ort-options: unknown config ${n} (${Object.keys(CONFIGS).join(', ')})`);
  const pass = [...args].filter(([k]) => k !== 'configs' && k !== 'rounds').flatMap(([k, v]) => [`--${k}`, v]);
  const runs = [];
  const loads = [];
  for (let r = 0; r < num('rounds', 2); r++) {
    const order = r % 2 ? [...names].reverse() : names;
    for (const n of order) {
      loads.push(os.loadavg()[0]);
      const p = spawnSync(process.execPath, [here, ...pass, '--child', n], { encoding: 'utf8', env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' } });
      const line = p.stdout.trim().split('\n').pop();
      if (p.status !== 0 || !line?.startsWith('{')) throw new Error(`bench-ort-options: ${n} failed (exit ${p.status}): ${p.stderr.slice(-1500)}`);
      const res = JSON.parse(line);
      runs.push(res);
      console.error(`round ${r + 1} ${n}: load ${res.loadMs.toFixed(0)} ms, prefill ${res.prefillMs.toFixed(0)} ms, decode ${res.decodeMs.toFixed(1)} ms, RSS ${res.peakRssMb.toFixed(0)} MB (load average ${os.loadavg()[0].toFixed(1)})`);
    }
  }
  loads.push(os.loadavg()[0]);
  const median = (a) => {
    const s = [...a].sort((p, q) => p - q);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  };
  const med = (n, k) => median(runs.filter((x) => x.name === n).map((x) => x[k]));
  const base = names[0];
  console.log(`| config | load | prefill ${num('prefill', 256)} | decode step | peak RSS |`);
  console.log('|---|---:|---:|---:|---:|');
  for (const n of names) {
    const cell = (k, unit, d = 0) => `${med(n, k).toFixed(d)} ${unit}${n === base ? '' : ` (${(med(n, k) / med(base, k)).toFixed(2)}x)`}`;
    console.log(`| ${n} | ${cell('loadMs', 'ms')} | ${cell('prefillMs', 'ms')} | ${cell('decodeMs', 'ms', 1)} | ${cell('peakRssMb', 'MB')} |`);
  }
  console.log(`\nload average (1 min) during the runs: ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)} on ${os.cpus().length} CPUs`);
}
