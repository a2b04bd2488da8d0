// Measurements of the completion experience (a bench, not a test). After `npx tsc -b`:
//   node out/language-server/test/benchExperience.js accepts N [readMs] [chain]
//     A scripted editing session over LSP against two servers (speculation on / off), alternating:
//     at N held-out Python points, ask for a completion, "read" it for readMs (default 400), accept it
//     (insert it with one change) and ask again, `chain` times (default 3). Reports the share of
//     accepts followed by ghost text within 30 ms and the latency of the answer after an accept.
//   node out/language-server/test/benchExperience.js jumps N [thinkMs]
//     The first request after a cursor jump, over LSP against two servers (bytefill.warmCache on /
//     off), alternating: in held-out Python files, N jumps to the end of a far line (the server
//     with warming gets bytefill/warm there, as the extension sends it), a pause of thinkMs
//     (default 500) before the user types Enter and the indentation, then the completion request.
//     Reports its latency and how much of its prompt came from the prefix KV cache.
//   node out/language-server/test/benchExperience.js debounce N [ms,ms,...]
//     Typing at human speed over LSP against one server per debounce value (default 0,75,150,300),
//     alternating: at N held-out Python lines, the line is typed character by character (gaps of
//     60-240 ms, drawn once per line and replayed for every server), each keystroke a change and
//     an automatic request that cancels the previous one, as VS Code does. Reports the latency
//     from the last keystroke to its answer, and the engine work (prefills started, prompt tokens
//     computed) per typed line.
//   node out/language-server/test/benchExperience.js candidates N
//     Engine latency of 1 vs 3 candidates on the same prompts (interleaved), and how many distinct
//     candidates come back.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../../engine/src/index';
import { Client, startClient } from './lspClient';
import { WarmNotification } from '../src/protocol';
import { CancellationTokenSource } from 'vscode-languageserver-protocol/node';

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

/** Held-out Python files of at least `minLines` lines (this machine's standard library). */
function bigFiles(minLines: number): string[] {
  const dir = fs.readdirSync('/usr/lib').filter((d) => /^python3\.\d+$/.test(d)).sort()[0];
  if (!dir) throw new Error('no /usr/lib/python3.X here: the bench needs held-out Python sources');
  const root = path.join('/usr/lib', dir);
  return fs
    .readdirSync(root)
    .filter((f) => f.endsWith('.py'))
    .sort()
    .map((f) => path.join(root, f))
    .filter((f) => fs.readFileSync(f, 'utf8').split('\n').length >= minLines);
}

interface JumpTally {
  ms: number[];
  prefillMs: number[];
  promptTokens: number;
  cachedTokens: number;
  empty: number;
}

/**
 * One jump: (warm notification), pause, Enter + indentation typed at the end of `line`, request,
 * then the edit undone. Returns the request's latency.
 */
async function jumpOnce(c: Client, uri: string, lines: string[], line: number, version: number, warm: boolean, thinkMs: number, t: JumpTally): Promise<void> {
  const end = { line, character: lines[line].length };
  if (warm) await c.conn.sendNotification(WarmNotification, { textDocument: { uri }, position: end });
  await sleep(thinkMs);
  const indent = /^\s*/.exec(lines[line])![0] + (/:\s*$/.test(lines[line]) ? '    ' : '');
  await c.change(uri, version, [{ range: { start: end, end }, text: '\n' + indent }]);
  const t0 = performance.now();
  const items = await c.complete(uri, line + 1, indent.length);
  t.ms.push(performance.now() - t0);
  if (items.length === 0) t.empty++;
  const last = (await c.status()).lastRequest;
  if (last) {
    t.prefillMs.push(last.prefillMs);
    t.promptTokens += last.promptTokens ?? 0;
    t.cachedTokens += last.cachedTokens ?? 0;
  }
  // Undo: the file is the same for the next jump.
  await c.change(uri, version + 1, [{ range: { start: end, end: { line: line + 1, character: indent.length } }, text: '' }]);
}

async function jumps(n: number, thinkMs: number): Promise<void> {
  const files = bigFiles(600);
  const r = rng(23);
  const settings = (warmCache: boolean) => ({ bytefill: { warmCache, logLevel: 'warn' } });
  const on = await startClient(settings(true));
  const off = await startClient(settings(false));
  await on.waitState(['ready'], 60000);
  await off.waitState(['ready'], 60000);
  const fresh = (): JumpTally => ({ ms: [], prefillMs: [], promptTokens: 0, cachedTokens: 0, empty: 0 });
  const tallies = { on: fresh(), off: fresh() };
  const perFile = 5;
  let done = 0;
  for (let f = 0; done < n; f++) {
    const file = files[Math.floor(r() * files.length)];
    const text = fs.readFileSync(file, 'utf8');
    const lines = text.split('\n');
    const versions = { on: 1, off: 1 };
    for (const which of ['on', 'off'] as const) await (which === 'on' ? on : off).open(`file:///bench/${which}/${f}.py`, 'python', text);
    // Far-apart code lines: every jump lands where no earlier prompt was.
    let prev = -1000;
    for (let k = 0; k < perFile && done < n; ) {
      const line = 60 + Math.floor(r() * (lines.length - 120));
      const tr = lines[line].trim();
      if (Math.abs(line - prev) < 80 || tr.length < 8 || tr.startsWith('#') || tr.startsWith('"') || tr.startsWith("'")) continue;
      prev = line;
      const order = done % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const);
      for (const which of order) {
        await jumpOnce(which === 'on' ? on : off, `file:///bench/${which}/${f}.py`, lines, line, versions[which] + 1, which === 'on', thinkMs, tallies[which]);
        versions[which] += 2;
      }
      k++;
      done++;
    }
  }
  for (const which of ['on', 'off'] as const) {
    const t = tallies[which];
    const s = await (which === 'on' ? on : off).status();
    console.log(
      `warming ${which}: ${t.ms.length} first requests after a jump (pause ${thinkMs} ms): latency p50 ${pct(t.ms, 50).toFixed(0)} ms, p95 ${pct(t.ms, 95).toFixed(0)} ms, ` +
        `mean ${(t.ms.reduce((a, b) => a + b, 0) / t.ms.length).toFixed(0)} ms; engine prefill p50 ${pct(t.prefillMs, 50).toFixed(0)} ms; ` +
        `prompt tokens from the cache ${((100 * t.cachedTokens) / Math.max(1, t.promptTokens)).toFixed(0)}%; empty answers ${t.empty}; server warm ${JSON.stringify({ ...s.warm, last: undefined })}`,
    );
  }
  const ratio = tallies.on.ms.map((x, i) => x / tallies.off.ms[i]).sort((a, b) => a - b);
  console.log(`per-jump latency ratio on/off: median ${ratio[ratio.length >> 1].toFixed(2)}; sum on/off ${(tallies.on.ms.reduce((a, b) => a + b, 0) / tallies.off.ms.reduce((a, b) => a + b, 0)).toFixed(2)}`);
  await on.close();
  await off.close();
}

interface TypingTally {
  lastMs: number[];
  prefills: number;
  computedTokens: number;
  lines: number;
  empty: number;
}

/** Types `typed` at the end of the document with the given gaps; returns after the last answer. */
async function typeLine(c: Client, uri: string, base: string, typed: string, gaps: number[], t: TypingTally): Promise<void> {
  await c.open(uri, 'python', base);
  const lines = base.split('\n');
  const line = lines.length - 1;
  let ch = lines[line].length;
  const s0 = await c.status();
  let prev: CancellationTokenSource | null = null;
  let last: Promise<unknown> = Promise.resolve();
  let lastAt = 0;
  for (let k = 0; k < typed.length; k++) {
    await sleep(gaps[k]);
    prev?.cancel();
    await c.change(uri, 2 + k, [{ range: { start: { line, character: ch }, end: { line, character: ch } }, text: typed[k] }]);
    ch++;
    const src = new CancellationTokenSource();
    prev = src;
    lastAt = performance.now();
    last = c.complete(uri, line, ch, src).catch(() => []);
  }
  const items = (await last) as unknown[];
  t.lastMs.push(performance.now() - lastAt);
  if (items.length === 0) t.empty++;
  // Let cancelled work drain before reading the engine's counters.
  for (let i = 0; i < 100 && (await c.status()).engine?.busy; i++) await sleep(50);
  const s1 = await c.status();
  const k0 = s0.engine?.kvCache[0];
  const k1 = s1.engine?.kvCache[0];
  if (k0 && k1) {
    t.prefills += k1.prefills - k0.prefills;
    t.computedTokens += k1.computedTokens - k0.computedTokens;
  }
  t.lines++;
}

async function debounce(n: number, values: number[]): Promise<void> {
  const exs = examples(n * 3, 31).filter((e) => {
    const cur = e.prefix.split('\n').pop()!;
    return cur.trim().length === 0;
  });
  const r = rng(41);
  const servers = new Map<number, Client>();
  for (const d of values) servers.set(d, await startClient({ bytefill: { debounceMs: d, speculate: false, warmCache: false, logLevel: 'warn' } }));
  for (const c of servers.values()) await c.waitState(['ready'], 60000);
  const tallies = new Map(values.map((d) => [d, { lastMs: [], prefills: 0, computedTokens: 0, lines: 0, empty: 0 } as TypingTally]));
  let done = 0;
  for (const [i, e] of exs.entries()) {
    if (done >= n) break;
    // The line to type: the first line of the suffix (what the file really has there), at most 24 characters.
    const target = e.suffix.replace(/^\n/, '').split('\n')[0].trimStart().slice(0, 24);
    if (target.length < 8) continue;
    const gaps = [...target].map(() => 60 + Math.floor(r() * 180));
    const order = values.map((_, k) => values[(k + i) % values.length]);
    for (const d of order) await typeLine(servers.get(d)!, `file:///bench/typing/${d}/${i}.py`, e.prefix, target, gaps, tallies.get(d)!);
    done++;
  }
  for (const d of values) {
    const t = tallies.get(d)!;
    console.log(
      `debounce ${d} ms: ${t.lines} lines typed; after the last keystroke p50 ${pct(t.lastMs, 50).toFixed(0)} ms, p95 ${pct(t.lastMs, 95).toFixed(0)} ms; ` +
        `per line: ${(t.prefills / Math.max(1, t.lines)).toFixed(1)} prefills, ${(t.computedTokens / Math.max(1, t.lines)).toFixed(0)} prompt tokens computed; empty answers ${t.empty}`,
    );
  }
  for (const c of servers.values()) await c.close();
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
  else if (what === 'jumps') await jumps(n, a ? Number(a) : 500);
  else if (what === 'debounce') await debounce(n, (a || '0,75,150,300').split(',').map(Number));
  else {
    console.error('usage: benchExperience.js accepts N [readMs] [chain] | candidates N | jumps N [thinkMs] | debounce N [ms,...]');
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
