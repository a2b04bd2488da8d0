#!/usr/bin/env node
// Hostile input against the real server over stdio: how fast bytefill/status answers after each
// framing error, invalid request and hostile model folder, and what validation costs at load.
// Usage: npx tsc -p tsconfig.json && node scripts/bench-hostile.js [--reps 20]
'use strict';
process.env.ORT_DISABLE_TELEMETRY = '1';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const rpc = require('vscode-languageserver-protocol/node');

const ROOT = path.resolve(__dirname, '..');
const SERVER = path.join(ROOT, 'out/language-server/src/main.js');
const B = path.join(ROOT, 'models/tiny-code-b');
const repsArg = process.argv.indexOf('--reps');
const REPS = repsArg > 0 ? Number(process.argv[repsArg + 1]) : 20;

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const fmt = (xs) => `median ${pct(xs, 0.5).toFixed(1)} ms, p95 ${pct(xs, 0.95).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms (n=${xs.length})`;

function hostileFolders(tmp) {
  const make = (name, edit) => {
    const d = path.join(tmp, name);
    fs.mkdirSync(path.join(d, 'onnx'), { recursive: true });
    fs.copyFileSync(path.join(B, 'config.json'), path.join(d, 'config.json'));
    fs.copyFileSync(path.join(B, 'tokenizer.json'), path.join(d, 'tokenizer.json'));
    fs.symlinkSync(path.join(B, 'onnx/model.onnx'), path.join(d, 'onnx/model.onnx'));
    edit(d);
    return d;
  };
  const cfg = () => JSON.parse(fs.readFileSync(path.join(B, 'config.json'), 'utf8'));
  const tok = () => JSON.parse(fs.readFileSync(path.join(B, 'tokenizer.json'), 'utf8'));
  return {
    'layers 1e9': make('layers', (d) => fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify({ ...cfg(), num_hidden_layers: 1e9 }))),
    'added token id 2e9': make('added', (d) => {
      const t = tok();
      t.added_tokens.push({ id: 2e9, content: '<x>', special: true });
      fs.writeFileSync(path.join(d, 'tokenizer.json'), JSON.stringify(t));
    }),
    'config.json -> /dev/zero': make('zero', (d) => {
      fs.rmSync(path.join(d, 'config.json'));
      fs.symlinkSync('/dev/zero', path.join(d, 'config.json'));
    }),
    'config.json FIFO': make('fifo', (d) => {
      fs.rmSync(path.join(d, 'config.json'));
      execFileSync('mkfifo', [path.join(d, 'config.json')]);
    }),
    'catastrophic pre-tokenizer regex': make('regex', (d) => {
      const t = tok();
      t.pre_tokenizer.pretokenizers[0].pattern.Regex = "(?:[a-z]+)+[0-9]|'s|\\s+|.";
      fs.writeFileSync(path.join(d, 'tokenizer.json'), JSON.stringify(t));
    }),
  };
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bf-bench-hostile-'));
  const proc = spawn(process.execPath, [SERVER, '--stdio', '--partial-message-timeout-ms', '500'], { stdio: ['pipe', 'pipe', 'pipe'] });
  proc.stderr.on('data', () => undefined);
  const conn = rpc.createProtocolConnection(new rpc.StreamMessageReader(proc.stdout), new rpc.StreamMessageWriter(proc.stdin));
  for (const m of ['window/logMessage', 'bytefill/loadProgress', 'bytefill/error']) conn.onNotification(m, () => undefined);
  conn.listen();
  const status = async () => {
    const t = performance.now();
    const s = await conn.sendRequest('bytefill/status');
    return { ms: performance.now() - t, s };
  };
  const raw = (s) => new Promise((r) => proc.stdin.write(s, r));
  try {
    await conn.sendRequest(rpc.InitializeRequest.type, { processId: process.pid, rootUri: null, capabilities: {}, initializationOptions: { bytefill: { debounceMs: 0 } } });
    await conn.sendNotification(rpc.InitializedNotification.type, {});
    for (;;) {
      const { s } = await status();
      if (s.state === 'ready' || s.state === 'error') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await conn.sendNotification(rpc.DidOpenTextDocumentNotification.type, { textDocument: { uri: 'file:///e.py', languageId: 'python', version: 1, text: "s = '🙂'\n" } });

    const rows = [];
    const measure = async (name, provoke) => {
      const xs = [];
      for (let i = 0; i < REPS; i++) {
        await provoke();
        xs.push((await status()).ms);
      }
      rows.push([name, xs]);
    };
    await measure('(no case: baseline)', async () => undefined);
    await measure('missing Content-Length', () => raw('Content-Type: x\r\n\r\n{"jsonrpc":"2.0","method":"x/y"}'));
    await measure('negative Content-Length', () => raw('Content-Length: -5\r\n\r\n{"jsonrpc":"2.0","method":"x/y"}'));
    await measure('Content-Length smaller than body', () => raw('Content-Length: 5\r\n\r\n{"jsonrpc":"2.0","method":"x/y"}'));
    await measure('Content-Length larger than body', () => raw('Content-Length: 4000\r\n\r\n{"jsonrpc":"2.0","method":"x/y"}'));
    const inline = (position) =>
      conn.sendRequest(rpc.InlineCompletionRequest.type, { textDocument: { uri: 'file:///e.py' }, position, context: { triggerKind: 1 } }).catch(() => undefined);
    await measure('position character 1.5', () => inline({ line: 0, character: 1.5 }));
    await measure('position between surrogate halves', () => inline({ line: 0, character: 6 }));

    // Hostile model folders through the real reload path: time until the error state, and the
    // status latency while it is reported.
    const loads = [];
    for (const [name, dir] of Object.entries(hostileFolders(tmp))) {
      const xs = [];
      const t = performance.now();
      // A failed load answers the reload request with an error (the engine's code in its data).
      const r = await conn.sendRequest('bytefill/reload', { models: [dir] }).then(
        (ok) => ok,
        (e) => ({ state: `error ${e.code}`, error: e.message }),
      );
      const rejectMs = performance.now() - t;
      for (let i = 0; i < REPS; i++) xs.push((await status()).ms);
      loads.push([name, rejectMs, r.state, String(r.error).replace(dir, '<dir>').slice(0, 140)]);
      rows.push([`after hostile folder: ${name}`, xs]);
    }

    console.log(`bytefill/status round trip after each case (${REPS} repetitions each):`);
    for (const [name, xs] of rows) console.log(`  ${name.padEnd(52)} ${fmt(xs)}`);
    console.log('hostile model folders via bytefill/reload (time until the error answer):');
    for (const [name, ms, state, err] of loads) console.log(`  ${name.padEnd(36)} ${ms.toFixed(0).padStart(5)} ms  ${state}: ${err}`);
  } finally {
    conn.dispose();
    proc.kill();
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  // Validation cost at load (in this process): every check that needs no onnxruntime session.
  const { preflightModelFolder } = require('../out/engine/src/index.js');
  const pre = [];
  for (let i = 0; i < REPS; i++) {
    const t = performance.now();
    preflightModelFolder(B);
    pre.push(performance.now() - t);
  }
  console.log(`preflight of tiny-code-b (config + tokenizer + pattern probe + graph checks): ${fmt(pre)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
