// The engine in its worker thread, over a real stdio LSP connection: the server answers while a
// model runs, a cancel reaches the worker, and a crashed worker is replaced.
//
// The long request: a model made slow on purpose (random weights, 40 layers of width 64, written
// by scripts/make-random-model.mjs with tiny-code-a's tokenizer) on a prompt at the full prefix
// budget (about 800 tokens, several prefill chunks). Crash tests use tiny-code-a (it loads
// faster, and they restart the worker). Crashes are injected through the server's test hook
// (BYTEFILL_TEST_HOOKS=1, request bytefill/test/injectFault), the one fault we cannot otherwise
// produce on demand; the crash handling itself is the real one (worker 'error'/'exit' events).
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CancellationTokenSource } from 'vscode-languageserver-protocol/node';
import { Client, REPO, startClient } from './lspClient';
import { ReloadRequest, StatusResult, TestInjectFaultRequest } from '../src/protocol';

process.env.BYTEFILL_TEST_HOOKS = '1';
const MODEL = path.join(REPO, 'models', 'tiny-code-a');

/** Writes the slow random-weight model (same tokenizer and FIM tokens as tiny-code-a). */
function makeSlowModel(dir: string): string {
  const fim = JSON.parse(fs.readFileSync(path.join(MODEL, 'config.json'), 'utf8')).fim;
  execFileSync(process.execPath, [
    path.join(REPO, 'scripts', 'make-random-model.mjs'),
    '--out', dir, '--layers', '40', '--hidden', '64', '--heads', '2', '--kv-heads', '2', '--ffn', '128',
    '--vocab', '8192', '--tokenizer', path.join(MODEL, 'tokenizer.json'), '--eos', '0', '--config-json', JSON.stringify({ fim }),
  ], { stdio: 'pipe' });
  return dir;
}

function longPython(): string {
  const lines: string[] = ['import math', 'from dataclasses import dataclass', ''];
  for (let i = 0; lines.join('\n').length < 5000; i++) {
    lines.push(
      `@dataclass`,
      `class Point${i}:`,
      `    x: float`,
      `    y: float`,
      ``,
      `    def norm_${i}(self) -> float:`,
      `        return math.sqrt(self.x * self.x + self.y * self.y) * ${i + 1}`,
      ``,
    );
  }
  lines.push('def total_norm(points):', '    ');
  return lines.join('\n');
}

function endOf(text: string): { line: number; character: number } {
  const lines = text.split('\n');
  return { line: lines.length - 1, character: lines[lines.length - 1].length };
}

const SETTINGS = { models: [MODEL], debounceMs: 0, mode: 'token', maxTokens: 64, maxTimeMs: 60000, logLevel: 'debug', speculate: false, candidates: 1 }; // one engine call per request: these tests count the worker's requests and items

/** Polls status until the worker reports a running request; returns the statuses seen while busy. */
async function statusesWhileBusy(c: Client, done: () => boolean, want = 5): Promise<Array<{ ms: number; status: StatusResult; beforeDone: boolean }>> {
  const seen: Array<{ ms: number; status: StatusResult; beforeDone: boolean }> = [];
  while (!done() && seen.length < want) {
    const t = performance.now();
    const s = await c.status();
    const ms = performance.now() - t;
    if (s.engine?.busy) seen.push({ ms, status: s, beforeDone: !done() });
  }
  return seen;
}

describe('engine worker over stdio (slow random model, long prompt)', () => {
  let c: Client;
  let slowDir: string;
  let slow: typeof SETTINGS;
  const uri = 'file:///work/points.py';
  const text = longPython();
  before(async () => {
    slowDir = makeSlowModel(fs.mkdtempSync(path.join(os.tmpdir(), 'bytefill-slow-')));
    slow = { ...SETTINGS, models: [slowDir], maxTokens: 16 };
    c = await startClient({ bytefill: slow });
    const s = await c.waitState(['ready', 'error'], 60000);
    assert.equal(s.state, 'ready', s.error ?? '');
    await c.open(uri, 'python', text);
  });
  after(async () => {
    await c?.close();
    if (slowDir) fs.rmSync(slowDir, { recursive: true, force: true });
  });

  test('status reports the worker thread and the KV cache budget', async () => {
    const s = await c.status();
    assert.equal(s.engine?.isolation, 'worker');
    assert.equal(typeof s.engine?.workerId, 'number');
    assert.equal(s.engine?.restarts, 0);
    // Shown once the worker has reported (after the first call).
    const pos = endOf(text);
    const src = new CancellationTokenSource();
    const p = c.complete(uri, pos.line, pos.character, src, true);
    await statusesWhileBusy(c, () => false, 1);
    src.cancel();
    await p;
    await waitIdle(c);
    const kv = (await c.status()).engine!.kvCache;
    assert.equal(kv.length, 1);
    // layers x KV heads x head size x 2 (key, value) x 4 bytes, from the model's config.json.
    const cfg = JSON.parse(fs.readFileSync(path.join(slowDir, 'config.json'), 'utf8'));
    assert.equal(kv[0].bytesPerToken, cfg.num_hidden_layers * cfg.num_key_value_heads * cfg.head_dim * 2 * 4);
    assert.equal(kv[0].maxBytes, 256 * 2 ** 20);
    assert.ok(kv[0].bytes <= kv[0].maxBytes);
  });

  test('bytefill/status is answered while a completion runs in the worker, before the completion ends', async (t) => {
    const pos = endOf(text);
    let doneAt = -1;
    let order = 0;
    const completion = c.complete(uri, pos.line, pos.character, undefined, true).then((items) => {
      doneAt = order++;
      return items;
    });
    const seen = await statusesWhileBusy(c, () => doneAt >= 0, 20);
    const firstAt = seen.length ? order++ : -1;
    await completion;
    assert.ok(seen.length > 0, 'no status was answered while the worker was busy');
    assert.ok(seen[0].beforeDone && firstAt < doneAt, 'a status answered during the run arrived before the completion');
    const ms = seen.map((x) => x.ms).sort((a, b) => a - b);
    t.diagnostic(`status latency while the worker runs: n=${ms.length} median ${ms[ms.length >> 1].toFixed(1)} ms, max ${ms[ms.length - 1].toFixed(1)} ms`);
    // Generous (two shared cores): a blocked server would answer only after the whole completion.
    assert.ok(ms[ms.length >> 1] < 2000, `median status latency ${ms[ms.length >> 1]} ms`);
  });

  test('statuses are answered during a single forward: a completion that is one prefill of under 256 tokens', async (t) => {
    await waitIdle(c);
    // A fresh prompt (prefix cache miss), shorter than one prefill chunk, and one token to
    // generate: the engine's whole work is one forward. A server that ran the forward on its
    // own thread could answer no status between the request and its answer.
    await c.configure({ ...slow, maxTokens: 1 });
    const u = 'file:///work/one-forward.py';
    const short = `# ${process.pid} ${Date.now()}\n` + 'def scale(values, factor):\n    return [v * factor for v in values]\n\n'.repeat(10) + 'def norm(v):\n    ';
    await c.open(u, 'python', short);
    const pos = endOf(short);
    let done = false;
    const p = c.complete(u, pos.line, pos.character, undefined, true).then(() => (done = true));
    const seen = await statusesWhileBusy(c, () => done, 1000);
    await p;
    await c.configure(slow);
    const during = seen.filter((x) => x.beforeDone).length;
    t.diagnostic(`statuses answered while the one forward ran: ${during}`);
    assert.ok(during >= 3, `only ${during} statuses answered while the worker was busy`);
  });

  test('$/cancelRequest is answered at once and reaches the worker, which stops the request', async () => {
    await waitIdle(c);
    const before = (await c.status()).engine!.cancelled;
    const pos = endOf(text);
    const src = new CancellationTokenSource();
    // A new document version: no cached completion, the full prompt runs again.
    await c.change(uri, 2, [{ range: { start: pos, end: pos }, text: 'r' }]);
    const p = c.complete(uri, pos.line, pos.character + 1, src, true);
    const busy = await statusesWhileBusy(c, () => false, 1);
    assert.equal(busy.length, 1);
    src.cancel();
    assert.deepEqual(await p, []);
    const s = await waitIdle(c);
    assert.equal(s.engine!.cancelled, before + 1, 'the worker ended the request as cancelled');
    assert.ok(s.requests.cancelled >= 1);
  });

  test('a didChange sent while the worker runs is applied before the completion ends', async () => {
    await waitIdle(c);
    const pos = endOf(text);
    let done = false;
    const p = c.complete(uri, pos.line, pos.character, undefined, true).then(() => (done = true));
    const busy = await statusesWhileBusy(c, () => done, 1);
    assert.equal(busy.length, 1, 'the worker got busy');
    // Type one character; the status request after it is answered only once the server has
    // handled the change (messages are processed in order).
    const at = { line: pos.line, character: pos.character };
    await c.change(uri, 10, [{ range: { start: at, end: at }, text: 'x' }]);
    const s = await c.status();
    const answeredDuringRun = !done;
    await p;
    await c.change(uri, 11, [{ range: { start: at, end: { line: at.line, character: at.character + 1 } }, text: '' }]);
    assert.ok(answeredDuringRun, 'change + status were handled before the completion finished');
    assert.equal(s.state, 'ready');
  });
});

async function waitIdle(c: Client, timeoutMs = 60000): Promise<StatusResult> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = await c.status();
    if (!s.engine?.busy) return s;
    if (Date.now() > end) throw new Error('engine worker still busy');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('engine worker crash and restart (fault injection)', () => {
  let c: Client;
  before(async () => {
    c = await startClient({ bytefill: { ...SETTINGS, workerHeapMB: 256 } });
    const s = await c.waitState(['ready', 'error'], 60000);
    assert.equal(s.state, 'ready', s.error ?? '');
  });
  after(async () => {
    await c?.close();
  });

  for (const fault of ['throw', 'oom'] as const) {
    test(`a worker that dies (${fault}) during a request: the request gets an empty answer, the crash is reported, a new worker serves the next request`, async () => {
      const uri = `file:///work/crash-${fault}.py`;
      const text = longPython();
      await c.open(uri, 'python', text);
      const s0 = await c.status();
      const pos = endOf(text);
      const p = c.complete(uri, pos.line, pos.character, undefined, true);
      await statusesWhileBusy(c, () => false, 1);
      assert.equal(await c.conn.sendRequest(TestInjectFaultRequest, { fault }), true);
      assert.deepEqual(await p, [], 'the request in flight is answered (empty)');
      const s = await c.waitState(['ready'], 60000);
      assert.equal(s.engine!.restarts, s0.engine!.restarts + 1);
      assert.ok(s.engine!.lastCrash && /exited with code/.test(s.engine!.lastCrash), s.engine!.lastCrash ?? '');
      if (fault === 'oom') assert.match(s.engine!.lastCrash!, /memory/i);
      assert.notEqual(s.engine!.workerId, s0.engine!.workerId, 'a new worker');
      assert.ok(c.logs.some((l) => l.includes('engine crashed')), 'the crash is logged');
      // The next request is served by the new worker.
      const short = 'for item in items:\n    conti';
      const u2 = `file:///work/after-${fault}.py`;
      await c.open(u2, 'python', short);
      const items = await c.complete(u2, 1, 9, undefined, true);
      assert.equal(items.length, 1);
      assert.equal((await c.status()).requests.errors, s.requests.errors);
    });
  }
});

describe('engine in a child process (engineIsolation: process)', () => {
  let c: Client;
  before(async () => {
    c = await startClient({ bytefill: { ...SETTINGS, engineIsolation: 'process' } });
    const s = await c.waitState(['ready', 'error'], 60000);
    assert.equal(s.state, 'ready', s.error ?? '');
  });
  after(async () => {
    await c?.close();
  });

  test('a native abort (SIGABRT) of the engine process: the server lives, reports it and starts a new process (fault injection)', async () => {
    const s0 = await c.status();
    assert.equal(s0.engine!.isolation, 'process');
    assert.notEqual(s0.engine!.workerId, c.proc.pid, 'the engine runs in another process');
    const uri = 'file:///work/abort.py';
    const text = longPython();
    await c.open(uri, 'python', text);
    const pos = endOf(text);
    const p = c.complete(uri, pos.line, pos.character, undefined, true);
    await statusesWhileBusy(c, () => false, 1);
    assert.equal(await c.conn.sendRequest(TestInjectFaultRequest, { fault: 'abort' }), true);
    assert.deepEqual(await p, []);
    const s = await c.waitState(['ready'], 60000);
    assert.equal(s.engine!.restarts, 1);
    assert.match(s.engine!.lastCrash ?? '', /engine process was killed by SIGABRT/);
    assert.notEqual(s.engine!.workerId, s0.engine!.workerId);
    assert.equal(c.proc.exitCode, null, 'the server process is still running');
    const u2 = 'file:///work/after-abort.py';
    await c.open(u2, 'python', 'for item in items:\n    conti');
    assert.equal((await c.complete(u2, 1, 9, undefined, true)).length, 1);
  });
});

describe('an engine that keeps crashing (fault injection)', () => {
  let c: Client;
  before(async () => {
    c = await startClient({ bytefill: { debounceMs: 0 } });
    const s = await c.waitState(['ready', 'error'], 60000);
    assert.equal(s.state, 'ready', s.error ?? '');
  });
  after(async () => {
    await c?.close();
  });

  test('after the fourth crash within a minute the server stops restarting it (state error); bytefill/reload starts it again', async () => {
    for (let i = 1; i <= 4; i++) {
      const before = (await c.status()).engine!.workerId;
      assert.equal(await c.conn.sendRequest(TestInjectFaultRequest, { fault: 'exit' }), true);
      // Wait until this worker is gone: a new one (restart) or the error state.
      const end = Date.now() + 60000;
      let s = await c.status();
      while (s.state !== 'error' && (s.state !== 'ready' || s.engine!.workerId === before)) {
        assert.ok(Date.now() < end, `crash ${i}: state ${s.state}`);
        await new Promise((r) => setTimeout(r, 50));
        s = await c.status();
      }
      if (i < 4) assert.equal(s.state, 'ready', `restarted after crash ${i}`);
      else {
        assert.equal(s.state, 'error');
        assert.match(s.error ?? '', /crashed 4 times within a minute.*not restarting/);
        assert.equal(s.engine!.restarts, 3);
      }
    }
    const r = await c.conn.sendRequest(ReloadRequest, {});
    assert.equal(r.state, 'ready');
    const u = 'file:///work/after-loop.py';
    await c.open(u, 'python', 'for item in items:\n    conti');
    assert.equal((await c.complete(u, 1, 9, undefined, true)).length, 1);
  });
});

/** Resident memory of a process in MiB (Linux /proc), for sizing the memory cap above the baseline. */
function rssMB(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, `no VmRSS for process ${pid}`);
  return Math.ceil(Number(m[1]) / 1024);
}

/** Waits until the engine was restarted `restarts` times and is ready again (a new worker). */
async function waitRestarted(c: Client, restarts: number, timeoutMs = 90000): Promise<StatusResult> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = await c.status();
    if (s.state === 'ready' && s.engine!.restarts >= restarts) return s;
    assert.notEqual(s.state, 'error', s.error ?? '');
    assert.ok(Date.now() < end, `no restart (state ${s.state}, restarts ${s.engine!.restarts})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function servesNext(c: Client, name: string): Promise<void> {
  const u = `file:///work/after-${name}.py`;
  await c.open(u, 'python', 'for item in items:\n    conti');
  assert.equal((await c.complete(u, 1, 9, undefined, true)).length, 1, 'the restarted engine serves the next request');
}

// The hang and the allocation are injected faults (BYTEFILL_TEST_HOOKS=1): a busy loop that never
// returns, and 768 MiB of native memory kept alive in the engine. The watchdog and the cap are
// the real ones.
for (const isolation of ['process', 'worker'] as const) {
  describe(`engine watchdog and memory cap (engineIsolation: ${isolation}, fault injection)`, () => {
    test('an engine that hangs: the watchdog stops it, the request answers empty, the reason is reported, a new engine serves', { timeout: 180000 }, async (t) => {
      // Deadline: maxTimeMs 1 s + max(3 s grace, 1 s) = 4 s; a healthy tiny-code-a request ends at its 1 s budget.
      const c = await startClient({ bytefill: { ...SETTINGS, engineIsolation: isolation, maxTimeMs: 1000, engineWatchdogMs: 3000 } });
      try {
        const s0 = await c.waitState(['ready', 'error'], 60000);
        assert.equal(s0.state, 'ready', s0.error ?? '');
        const uri = 'file:///work/hang.py';
        await c.open(uri, 'python', 'def add(a, b):\n    retu');
        assert.equal(await c.conn.sendRequest(TestInjectFaultRequest, { fault: 'hang' }), true);
        // The worker is stuck in the loop before this request reaches it (messages are ordered).
        assert.deepEqual(await c.complete(uri, 1, 8, undefined, true), [], 'the hung request is answered (empty)');
        const s = await waitRestarted(c, 1);
        t.diagnostic(`lastCrash: ${s.engine!.lastCrash}`);
        assert.equal(s.engine!.restarts, 1);
        assert.match(s.engine!.lastCrash ?? '', new RegExp(`engine ${isolation} stopped by the watchdog: no answer to complete within 4 s`));
        assert.notEqual(s.engine!.workerId, s0.engine!.workerId, 'a new engine');
        assert.ok(c.logs.some((l) => l.includes('stopped by the watchdog')), 'the stop is logged');
        await servesNext(c, `hang-${isolation}`);
        assert.equal((await c.status()).engine!.restarts, 1, 'the healthy request was not stopped');
      } finally {
        await c.close();
      }
    });

    test('an engine over the memory cap: stopped, the memory reason reported, a new engine serves', { timeout: 180000 }, async (t) => {
      const c = await startClient({ bytefill: { ...SETTINGS, engineIsolation: isolation } });
      try {
        const s0 = await c.waitState(['ready', 'error'], 60000);
        assert.equal(s0.state, 'ready', s0.error ?? '');
        // Baseline: the engine process, or (thread) the whole server process, an upper bound of
        // what the server counts for the thread. The cap sits 300 MiB above it; the fault adds 768.
        const base = rssMB(isolation === 'process' ? s0.engine!.workerId! : c.proc.pid!);
        const cap = base + 300;
        await c.configure({ ...SETTINGS, engineIsolation: isolation, engineMemoryMB: cap });
        const end = Date.now() + 60000;
        let s1 = await c.status();
        while (s1.state !== 'ready' || s1.engine!.workerId === s0.engine!.workerId) {
          assert.ok(Date.now() < end, `no reload under the cap (state ${s1.state})`);
          await new Promise((r) => setTimeout(r, 100));
          s1 = await c.status();
        }
        await servesNext(c, `before-alloc-${isolation}`);
        assert.equal((await c.status()).engine!.restarts, 0, 'not stopped under the cap');
        assert.equal(await c.conn.sendRequest(TestInjectFaultRequest, { fault: 'alloc' }), true);
        const s = await waitRestarted(c, 1);
        t.diagnostic(`cap ${cap} MiB (baseline ${base} MiB); lastCrash: ${s.engine!.lastCrash}`);
        assert.match(s.engine!.lastCrash ?? '', new RegExp(`engine ${isolation} stopped: engine memory [0-9.]+ [MG]B over the [0-9.]+ [MG]B cap`));
        assert.notEqual(s.engine!.workerId, s1.engine!.workerId, 'a new engine');
        assert.ok(c.logs.some((l) => /stopped: engine memory/.test(l)), 'the stop is logged');
        await servesNext(c, `alloc-${isolation}`);
      } finally {
        await c.close();
      }
    });
  });
}
