#!/usr/bin/env node
// Ten single-line byte-mode completions at fixed points of textwrap.py on an ensemble (after one
// warm-up and one completion not timed), printing each completion's ms; optionally under the
// inspector's CPU profiler (200 µs), so the decoding thread's own time can be read apart from its
// waiting for the member workers. `npx tsc -b` first.
//
//   [OUT=BUILD/out] [W=0 (no member workers)] [PROF=FILE.cpuprofile] \
//     node scripts/profile-ensemble-decoding.mjs [MODEL_DIR ...]   (default: /tmp/qwen-small models/tiny-code-b)
import fs from 'node:fs';
import inspector from 'node:inspector';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const out = process.env.OUT ?? path.join(root, 'out');
const E = await import(path.join(out, 'engine/src/index.js'));
const models = process.argv.length > 2 ? process.argv.slice(2) : ['/tmp/qwen-small', path.join(root, 'models/tiny-code-b')];
const eng = await E.Engine.create({ models, ensembleWorkers: process.env.W !== '0' });
const src = fs.readFileSync('/usr/lib/python3.11/textwrap.py', 'utf8');
const pts = [700, 1200, 1800, 2300, 2900, 3400, 4100, 4600, 5200, 5800];
await eng.warm({ prefix: src.slice(0, 600), suffix: '', mode: 'byte' });
await eng.complete({ prefix: src.slice(0, 500), suffix: '', mode: 'byte', maxTokens: 16 });
const sess = new inspector.Session();
sess.connect();
const post = (m, p) => new Promise((res, rej) => sess.post(m, p, (e, r) => (e ? rej(e) : res(r))));
if (process.env.PROF) {
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
}
const ms = [];
let bytes = 0;
for (const c of pts) {
  const nl = src.indexOf('\n', c);
  const t = performance.now();
  const r = await eng.complete({ prefix: src.slice(0, c), suffix: src.slice(nl), mode: 'byte', maxTokens: 16, singleLine: true });
  ms.push(performance.now() - t);
  bytes += Buffer.byteLength(r.completion);
}
if (process.env.PROF) fs.writeFileSync(process.env.PROF, JSON.stringify((await post('Profiler.stop')).profile));
console.log('W', process.env.W ?? 1, 'ms', ms.map((x) => x.toFixed(0)).join(' '), 'total', ms.reduce((a, b) => a + b, 0).toFixed(0), 'bytes', bytes);
await eng.dispose();
