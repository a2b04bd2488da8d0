// Measurements of the completion experience (a bench, not a test). After `npx tsc -b`:
//   node out/language-server/test/benchExperience.js accepts N [readMs] [chain]
//     A scripted editing session over LSP against two servers (speculation on / off), alternating:
//     at N held-out Python points, ask for a completion, "read" it for readMs (default 400), accept it
//     (insert it with one change) and ask again, `chain` times (default 3). Reports the share of
//     accepts followed by ghost text within 30 ms and the latency of the answer after an accept.
//   node out/language-server/test/benchExperience.js candidates N
//     Engine latency of 1 vs 3 candidates on the same prompts (interleaved), and how many distinct
//     candidates come back.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../../engine/src/index';
import { Client, startClient } from './lspClient';

interface Example {
  prefix: string;
  suffix: string;
}

function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => (x = (x * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

/**
 * Held-out Python (this machine's standard library, never in the models' corpus): a line in the
 * middle of a file, the cursor at its indentation or a few characters in.
 */
function examples(n: number, seed: number): Example[] {
  const dir = fs.readdirSync('/usr/lib').filter((d) => /^python3\.\d+$/.test(d)).sort()[0];
  if (!dir) throw new Error('no /usr/lib/python3.X here: the bench needs held-out Python sources');
  const root = path.join('/usr/lib', dir);
  const files = fs.readdirSync(root).filter((f) => f.endsWith('.py')).sort();
  const r = rng(seed);
  const out: Example[] = [];
  let guard = 0;
  while (out.length < n && guard++ < n * 50) {
    const lines = fs.readFileSync(path.join(root, files[Math.floor(r() * files.length)]), 'utf8').split('\n');
    if (lines.length < 60) continue;
    const li = 30 + Math.floor(r() * (lines.length - 60));
    const line = lines[li];
    const t = line.trim();
    if (t.length < 12 || t.length > 70 || t.startsWith('#') || t.startsWith('"') || t.startsWith("'")) continue;
    const indent = line.length - line.trimStart().length;
    const cut = indent + (r() < 0.5 ? 0 : 1 + Math.floor(r() * Math.min(8, t.length / 3)));
    const before = lines.slice(0, li).join('\n') + '\n' + line.slice(0, cut);
    out.push({ prefix: before.slice(-1500), suffix: ('\n' + lines.slice(li + 1).join('\n')).slice(0, 600) });
  }
  return out;
}

function endOf(text: string): { line: number; character: number } {
  const lines = text.split('\n');
  return { line: lines.length - 1, character: lines[lines.length - 1].length };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] : NaN;
};

interface Tally {
  accepts: number;
  within30: number;
  /** Answers (with ghost text) after an accept, ms. */
  latencies: number[];
  empty: number;
  /** Latencies of answers that came from a speculative result. */
  specLatencies: number[];
}

async function session(c: Client, uri: string, text: string, readMs: number, chain: number, t: Tally): Promise<void> {
  let doc = text;
  let version = 1;
  await c.open(uri, 'python', doc, version);
  const start = endOf(doc);
  let items = await c.complete(uri, start.line, start.character);
  for (let k = 0; k < chain && items.length > 0; k++) {
    await sleep(readMs);
    const insert = items[0].insertText as string;
    const pos = endOf(doc);
    doc += insert;
    await c.change(uri, ++version, [{ range: { start: pos, end: pos }, text: insert }]);
    const after = endOf(doc);
    const used = (await c.status()).stats?.speculation.used ?? 0;
    const t0 = performance.now();
    items = await c.complete(uri, after.line, after.character);
    const ms = performance.now() - t0;
    if (((await c.status()).stats?.speculation.used ?? 0) > used) t.specLatencies.push(ms);
    t.accepts++;
    if (items.length > 0) {
      t.latencies.push(ms);
      if (ms <= 30) t.within30++;
    } else t.empty++;
  }
}

async function accepts(n: number, readMs: number, chain: number): Promise<void> {
  const exs = examples(n, 11);
  const settings = (speculate: boolean) => ({ bytefill: { speculate, debounceMs: 75, logLevel: 'warn' } });
  const on = await startClient(settings(true));
  const off = await startClient(settings(false));
  await on.waitState(['ready'], 60000);
  await off.waitState(['ready'], 60000);
  const tallies = { on: { accepts: 0, within30: 0, latencies: [], empty: 0, specLatencies: [] } as Tally, off: { accepts: 0, within30: 0, latencies: [], empty: 0, specLatencies: [] } as Tally };
  for (let i = 0; i < exs.length; i++) {
    // Only the text before the cursor and a short suffix: the session appends at the end.
    const text = exs[i].prefix;
    const order = i % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const);
    for (const which of order) await session(which === 'on' ? on : off, `file:///bench/${which}/${i}.py`, text, readMs, chain, tallies[which]);
  }
  for (const which of ['on', 'off'] as const) {
    const t = tallies[which];
    const s = await (which === 'on' ? on : off).status();
    console.log(
      `speculation ${which}: ${t.accepts} accepts, ghost text within 30 ms after ${t.within30} (${((100 * t.within30) / Math.max(1, t.accepts)).toFixed(0)}%), ` +
        `no ghost text after ${t.empty}; latency with ghost text p50 ${pct(t.latencies, 50).toFixed(0)} ms, p95 ${pct(t.latencies, 95).toFixed(0)} ms; ` +
        `answers from speculation ${t.specLatencies.length} (p50 ${pct(t.specLatencies, 50).toFixed(0)} ms); server speculation ${JSON.stringify(s.stats?.speculation)}`,
    );
  }
  await on.close();
  await off.close();
}

async function candidates(n: number): Promise<void> {
  const engine = await Engine.create({});
  const exs = examples(n, 5);
  const ms: Record<'one' | 'three', number[]> = { one: [], three: [] };
  let distinct = 0;
  for (const [i, e] of exs.entries()) {
    const req = { prefix: e.prefix, suffix: e.suffix, stop: ['\n'], maxTokens: 48, mode: 'byte' as const };
    // Warm the prefix cache so both variants see the same (cached) prompt.
    await engine.complete({ ...req, maxTokens: 1 });
    const order = i % 2 === 0 ? (['one', 'three'] as const) : (['three', 'one'] as const);
    for (const which of order) {
      const t = performance.now();
      const r = await engine.complete({ ...req, candidates: which === 'one' ? 1 : 3 });
      ms[which].push(performance.now() - t);
      if (which === 'three') distinct += r.items?.length ?? 1;
    }
  }
  const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
  const ratios = ms.one.map((o, i) => ms.three[i] / o).sort((a, b) => a - b);
  console.log(`${exs.length} prompts: 1 candidate p50 ${pct(ms.one, 50).toFixed(0)} ms p95 ${pct(ms.one, 95).toFixed(0)} ms; 3 candidates p50 ${pct(ms.three, 50).toFixed(0)} ms p95 ${pct(ms.three, 95).toFixed(0)} ms`);
  console.log(`ratio of totals ${(sum(ms.three) / sum(ms.one)).toFixed(2)}, median per-prompt ratio ${ratios[ratios.length >> 1].toFixed(2)}; distinct candidates per request ${(distinct / exs.length).toFixed(2)}`);
  await engine.dispose();
}

async function main(): Promise<void> {
  const [what, nArg = '20', a = '', b = ''] = process.argv.slice(2);
  const n = Number(nArg);
  if (what === 'accepts') await accepts(n, a ? Number(a) : 400, b ? Number(b) : 3);
  else if (what === 'candidates') await candidates(n);
  else {
    console.error('usage: benchExperience.js accepts N [readMs] [chain] | candidates N');
    process.exit(2);
  }
}

// Only with a subcommand: `node --test out/language-server/test` loads every file in test/ as a
// test file, and this bench is not one.
if (require.main === module && process.argv.length > 2)
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
