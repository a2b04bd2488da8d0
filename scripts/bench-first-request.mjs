#!/usr/bin/env node
// The first byte-mode completions after a model loads, with and without a byte-mode warm-up
// before them. The warm-up is at another point of the file, so neither case finds the
// completion's prompt cached: the difference is what the first request would otherwise build
// (the byte layer's per-tokenizer tables). Each case in a fresh process (the tables are kept per
// loaded tokenizer), the cases alternated round by round. `npx tsc -b` first.
//
//   node scripts/bench-first-request.mjs --model DIR [--model DIR2 (an ensemble)] [--variant q4]
//     [--file F] [--rounds 3] [--threads 2]
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const models = [];
const args = new Map();
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, '');
  if (k === 'model') models.push(process.argv[i + 1]);
  else args.set(k, process.argv[i + 1]);
}
const file = args.get('file') ?? '/usr/lib/python3.11/textwrap.py';
const cursors = [1200, 2300, 3400];

if (args.get('child') !== undefined) {
  // One case: load, optionally warm, then the completions; prints one JSON line.
  const require = createRequire(import.meta.url);
  const { Engine } = require(path.join(root, 'out', 'engine', 'src', 'index.js'));
  const src = fs.readFileSync(file, 'utf8');
  const engine = await Engine.create({ models, variant: args.get('variant'), threads: Number(args.get('threads') ?? 2) });
  let warmMs = null;
  if (args.get('child') === 'warm') {
    const t = performance.now();
    await engine.warm({ prefix: src.slice(0, 600), suffix: src.slice(600, 800), mode: 'byte' });
    warmMs = performance.now() - t;
  }
  const ms = [];
  for (const c of cursors) {
    const t = performance.now();
    await engine.complete({ prefix: src.slice(0, c), suffix: src.slice(c, c + 200), mode: 'byte', maxTokens: 8 });
    ms.push(performance.now() - t);
  }
  await engine.dispose();
  console.log(JSON.stringify({ warmMs, ms }));
} else {
  if (models.length === 0) throw new Error('--model DIR is required');
  const rounds = Number(args.get('rounds') ?? 3);
  const pass = [...models.flatMap((m) => ['--model', m]), '--file', file, '--threads', args.get('threads') ?? '2', ...(args.has('variant') ? ['--variant', args.get('variant')] : [])];
  console.log(`first byte-mode completions after a load (ms; cursors ${cursors.join(', ')} of ${path.basename(file)}), ${models.map((m) => path.basename(m)).join(' + ')}`);
  console.log('round  case          warm-up   first  second   third');
  for (let r = 1; r <= rounds; r++) {
    for (const c of ['none', 'warm']) {
      const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', c, ...pass], { encoding: 'utf8' });
      const { warmMs, ms } = JSON.parse(out.trim().split('\n').pop());
      const f = (x) => (x === null ? '-' : x.toFixed(0)).padStart(7);
      console.log(`${String(r).padStart(5)}  ${(c === 'warm' ? 'after warm-up' : 'no warm-up').padEnd(13)} ${f(warmMs)} ${f(ms[0])} ${f(ms[1])} ${f(ms[2])}`);
    }
  }
}
