// Server responsiveness while a model runs (BENCHMARKS.md): the engine on the server's own
// thread (engineIsolation 'none'), in a worker thread ('worker') and in a child process
// ('process'), in one run, rounds interleaved.
// Each round: a multi-line completion on a ~800-token prompt (a new document, so the prefix
// cache misses), `bytefill/status` sent every 10 ms until it returns; then the same request
// cancelled ($/cancelRequest) 150 ms after it was sent, timing the cancel's answer.
// Not a test: run after `npx tsc -b` with
//   node out/language-server/test/responsiveness.bench.js --run [rounds=4] [modelDir]
// (without --run it does nothing: `node --test` also loads every file under test/).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CancellationTokenSource } from 'vscode-languageserver-protocol/node';
import { Client, REPO, startClient } from './lspClient';

const args = process.argv.slice(2);
const run = args[0] === '--run';
const rounds = Number(args[1] ?? 4);
const model = args[2] ?? path.join(REPO, 'models', 'tiny-code-a');
const pct = (a: number[], p: number): number => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN;
};

/** Resident memory of a process in MiB (Linux), NaN elsewhere. */
function rssMiB(pid: number | null | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

function doc(round: number): string {
  const lines = [`# round ${round}`, 'import math', ''];
  for (let i = 0; lines.join('\n').length < 5000; i++) {
    lines.push(`class Point${i}:`, `    def norm_${i}(self, x, y):`, `        return math.sqrt(x * x + y * y) * ${i + round}`, '');
  }
  lines.push('def total_norm(points):', '    ');
  return lines.join('\n');
}

if (run) void main();

async function main(): Promise<void> {
  const variants = ['none', 'worker', 'process'] as const;
  type Variant = (typeof variants)[number];
  const clients = {} as Record<Variant, Client>;
  for (const v of variants) {
    clients[v] = await startClient({ bytefill: { models: [model], engineIsolation: v, debounceMs: 0, mode: 'token', maxTokens: 48, maxTimeMs: 60000 } });
    await clients[v].waitState(['ready']);
  }
  const res = Object.fromEntries(variants.map((v) => [v, { status: [] as number[], completionMs: [] as number[], cancelMs: [] as number[] }])) as Record<
    Variant,
    { status: number[]; completionMs: number[]; cancelMs: number[] }
  >;
  for (let r = 0; r < rounds; r++) {
    for (const v of variants) {
      const c = clients[v];
      const text = doc(r * 2 + variants.indexOf(v));
      const uri = `file:///bench/${v}-${r}.py`;
      await c.open(uri, 'python', text);
      const line = text.split('\n').length - 1;
      let done = false;
      const t0 = performance.now();
      const p = c.complete(uri, line, 4, undefined, true).then(() => (done = true));
      while (!done) {
        const t = performance.now();
        await c.status();
        if (!done) res[v].status.push(performance.now() - t);
        // One status every 10 ms: a status bar polling hard, not a flood that competes for the CPU.
        await new Promise((ok) => setTimeout(ok, 10));
      }
      await p;
      res[v].completionMs.push(performance.now() - t0);
      // Cancel: a new document again, cancelled 150 ms in.
      const uri2 = `file:///bench/${v}-${r}-cancel.py`;
      await c.open(uri2, 'python', doc(100 + r * 2 + variants.indexOf(v)));
      const src = new CancellationTokenSource();
      const p2 = c.complete(uri2, line, 4, src, true);
      await new Promise((ok) => setTimeout(ok, 150));
      const tc = performance.now();
      src.cancel();
      await p2;
      res[v].cancelMs.push(performance.now() - tc);
      // Let a cancelled worker finish its forward before the next round.
      for (let k = 0; k < 500 && (await c.status()).engine?.busy; k++) await new Promise((ok) => setTimeout(ok, 20));
    }
  }
  // Memory after the runs: the server, plus the engine's own process where it has one.
  const rss = {} as Record<Variant, number>;
  const load = {} as Record<Variant, number | null>;
  for (const v of variants) {
    const s = await clients[v].status();
    load[v] = s.loadMs;
    rss[v] = rssMiB(clients[v].proc.pid) + (v === 'process' ? rssMiB(s.engine?.workerId) : 0);
  }
  const rows = variants.map((v) => ({
    engineIsolation: v,
    statusN: res[v].status.length,
    statusP50: +pct(res[v].status, 0.5).toFixed(1),
    statusP95: +pct(res[v].status, 0.95).toFixed(1),
    statusMax: +Math.max(...res[v].status).toFixed(1),
    completionP50: +pct(res[v].completionMs, 0.5).toFixed(0),
    cancelP50: +pct(res[v].cancelMs, 0.5).toFixed(1),
    cancelMax: +Math.max(...res[v].cancelMs).toFixed(1),
    loadMs: load[v],
    rssMiB: +rss[v].toFixed(0),
  }));
  console.table(rows);
  console.log(JSON.stringify(rows));
  for (const v of variants) await clients[v].close();
}
