#!/usr/bin/env node
// The 4-bit kernel's ceiling on this CPU: onnxruntime's MatMulNBits on one activation row (a decode
// step) at the shapes of a 0.5B Qwen2.5 layer, by block size, accuracy level (0: float activations,
// 4: int8 activations) and thread count, as GB/s of weights read against the memory bandwidth
// measured in the same process (before and after; the higher is used). Each case is one graph of
// `copies` independent nodes with their own random weights (the kernel's speed does not depend on
// the values), enough of them that the weights do not fit the caches, as a decode step streams
// every layer's weights from memory once.
// `--groups` also times the layers a step runs one after the other against the same weights
// concatenated along N into one node (q/k/v projections, gate/up), an exact rewrite.
// Cases alternate run by run, so a change of machine load hits all of them alike.
// `npx tsc -b` first.
//
//   node scripts/bench-q4-kernel.mjs [--threads 1,2] [--blocks 32,64,128] [--levels 0,4]
//     [--shapes 896x896,896x4864,4864x896,896x151936] [--groups 1] [--rounds 15] [--mb 192]
// A shape is KxN (K inputs, N outputs). Prints one markdown table per thread count.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
const fixtures = path.join(root, 'out', 'engine', 'test', 'fixtures', 'onnx-writer.js');
if (!fs.existsSync(fixtures)) {
  console.error(`bench-q4-kernel: ${fixtures} not found; run \`npx tsc -b\` first`);
  process.exit(2);
}
const { GraphBuilder } = require(fixtures);
const { measureBandwidth } = require(path.join(root, 'out', 'engine', 'src', 'index.js'));
const ort = require(path.join(root, 'out', 'engine', 'src', 'model', 'ort.js'));

const args = new Map();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const list = (k, d) => (args.get(k) ?? d).split(',').filter(Boolean);
const threadsList = list('threads', '1,2').map(Number);
const blocks = list('blocks', '32,64,128').map(Number);
const levels = list('levels', '0,4').map(Number);
const shapes = list('shapes', '896x896,896x4864,4864x896,896x151936').map((s) => s.split('x').map(Number));
const rounds = Number(args.get('rounds') ?? 15);
const targetBytes = Number(args.get('mb') ?? 192) * 1e6;
// Layers a step runs back to back on the same input, and the same weights as one node.
const GROUPS = {
  'q,k,v 896x(896+128+128)': [[896, 896], [896, 128], [896, 128]],
  'gate,up 896x(4864+4864)': [[896, 4864], [896, 4864]],
};

/** Bytes a node of this shape reads: packed 4-bit codes and float32 scales (no zero points). */
const weightBytes = (K, N, bs) => N * Math.ceil(K / bs) * (bs / 2 + 4);

let seed = 1;
function randomBytes(n) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  return b;
}
function randomScales(n) {
  const f = new Float32Array(n);
  for (let i = 0; i < n; i++) f[i] = ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 0.02;
  return new Uint8Array(f.buffer);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-q4-'));
let fileNo = 0;

/**
 * A graph of `copies` repetitions of `nodes` ([K, N] each, all reading the one input of width K);
 * `merged` concatenates a repetition's nodes along N into one node of the same weights.
 */
async function makeCase({ nodes, copies, bs, level, threads }) {
  const K = nodes[0][0];
  const g = new GraphBuilder();
  const x = g.input('x', 'float', [1, 1, K]);
  let n = 0;
  for (let c = 0; c < copies; c++) {
    for (const [, N] of nodes) {
      const nb = Math.ceil(K / bs);
      const B = g.initializer({ name: `w${n}`, dtype: 'uint8', dims: [N, nb, bs / 2], data: randomBytes(N * nb * (bs / 2)) });
      const S = g.initializer({ name: `s${n}`, dtype: 'float', dims: [N * nb], data: randomScales(N * nb) });
      const attrs = { K, N, bits: 4, block_size: bs };
      if (level) attrs.accuracy_level = level;
      g.node('MatMulNBits', [x, B, S], attrs, { outs: [`y${n}`], domain: 'com.microsoft' });
      g.output(`y${n}`, 'float', [1, 1, N]);
      n++;
    }
  }
  const file = path.join(tmp, `case${fileNo++}.onnx`);
  g.write(file);
  const session = await ort.InferenceSession.create(file, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    enableMemPattern: false,
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    // The engine's default (session.ts): no spinning between parallel sections.
    extra: { session: { intra_op: { allow_spinning: process.env.BYTEFILL_ORT_SPINNING === '1' ? '1' : '0' } } },
  });
  fs.rmSync(file);
  const feeds = { x: new ort.Tensor('float32', Float32Array.from({ length: K }, (_, i) => Math.sin(i)), [1, 1, K]) };
  return { session, feeds };
}

/** Runs every case once per round (alternating order), returns each case's median ms per run. */
async function timeCases(cases) {
  for (const c of cases) for (let i = 0; i < 3; i++) await c.session.run(c.feeds);
  const ms = cases.map(() => []);
  for (let r = 0; r < rounds; r++) {
    const order = cases.map((_, i) => i);
    if (r % 2) order.reverse();
    for (const i of order) {
      const t = performance.now();
      await cases[i].session.run(cases[i].feeds);
      ms[i].push(performance.now() - t);
    }
  }
  return ms.map((a) => a.sort((x, y) => x - y)[a.length >> 1]);
}

const loadStart = os.loadavg()[0];
console.log(`# MatMulNBits, one activation row, ${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} cores, onnxruntime-node ${ort.env.versions.common}, load ${loadStart.toFixed(2)}`);
for (const threads of threadsList) {
  // Bandwidth before and after the thread count's cases (a shared machine's load moves it); the
  // ratios use the higher of the two.
  const bw0 = (await measureBandwidth(threads)).gbPerS;
  const rows = [];
  const bwAt = { before: bw0 };
  for (const [K, N] of shapes) {
    const defs = [];
    for (const bs of blocks) for (const level of levels) {
      const bytes = weightBytes(K, N, bs);
      defs.push({ nodes: [[K, N]], copies: Math.max(1, Math.ceil(targetBytes / bytes)), bs, level, threads, bytes });
    }
    const cases = [];
    for (const d of defs) cases.push(await makeCase(d));
    const ms = await timeCases(cases);
    defs.forEach((d, i) => {
      rows.push({ K, N, ...d, ms: ms[i] });
    });
    for (const c of cases) await c.session.release();
  }
  bwAt.after = (await measureBandwidth(threads)).gbPerS;
  const bw = Math.max(bwAt.before, bwAt.after);
  console.log(`\n## ${threads} thread(s): measured bandwidth ${bwAt.before.toFixed(1)} GB/s before, ${bwAt.after.toFixed(1)} GB/s after\n`);
  console.log('| shape K x N | copies | block | accuracy level | MB read | ms per node | GB/s | of bandwidth |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const gbs = (r.bytes * r.copies) / (r.ms * 1e6);
    console.log(`| ${r.K} x ${r.N} | ${r.copies} | ${r.bs} | ${r.level} | ${((r.bytes * r.copies) / 1e6).toFixed(0)} | ${(r.ms / r.copies).toFixed(3)} | ${gbs.toFixed(1)} | ${(gbs / bw).toFixed(2)} |`);
  }
  if (args.get('groups') !== '0') {
    console.log('\n| layers | block | accuracy level | separate nodes: ms per group | one node: ms per group | one / separate |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const [name, nodes] of Object.entries(GROUPS)) {
      for (const bs of blocks) for (const level of levels) {
        const bytes = nodes.reduce((a, [K, N]) => a + weightBytes(K, N, bs), 0);
        const copies = Math.max(1, Math.ceil(targetBytes / bytes));
        const K = nodes[0][0];
        const merged = [[K, nodes.reduce((a, [, N]) => a + N, 0)]];
        const cases = [await makeCase({ nodes, copies, bs, level, threads }), await makeCase({ nodes: merged, copies, bs, level, threads })];
        const [sep, one] = await timeCases(cases);
        console.log(`| ${name} | ${bs} | ${level} | ${(sep / copies).toFixed(3)} | ${(one / copies).toFixed(3)} | ${(one / sep).toFixed(2)} |`);
        for (const c of cases) await c.session.release();
      }
    }
  }
}
fs.rmSync(tmp, { recursive: true, force: true });
console.log(`\nload average ${loadStart.toFixed(2)} -> ${os.loadavg()[0].toFixed(2)}`);
