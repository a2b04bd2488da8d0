// Integration tests: the real server process over a real LSP (stdio) connection, with the
// real engine and the bundled model.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { CancellationTokenSource, ResponseError } from 'vscode-languageserver-protocol/node';
import { ENGINE_ERROR_CODES, ReloadRequest } from '../src/protocol';
import { Client, REPO, startClient } from './lspClient';

const PY = 'file:///work/demo.py';

function endOf(text: string): { line: number; character: number } {
  const lines = text.split('\n');
  return { line: lines.length - 1, character: lines[lines.length - 1].length };
}

describe('language server over stdio (bundled model)', () => {
  let c: Client;
  before(async () => {
    c = await startClient({ bytefill: { debounceMs: 20, logLevel: 'debug' } });
    await c.waitState(['ready', 'error'], 60000);
  });
  after(async () => {
    await c?.close();
  });

  test('advertises inline completions and incremental sync; status reports a ready model', async () => {
    assert.equal(c.init.capabilities.inlineCompletionProvider, true);
    assert.deepEqual(c.init.capabilities.textDocumentSync, { openClose: true, change: 2, save: { includeText: false } });
    const s = await c.status();
    assert.equal(s.state, 'ready', s.error ?? '');
    assert.ok(s.models.length >= 1);
    assert.ok(s.models[0].name.length > 0);
    assert.ok(s.device);
    assert.equal(typeof s.loadMs, 'number');
    assert.deepEqual(c.progress.map((p) => p.state).slice(0, 2), ['loading', 'ready']);
  });

  test('completes a mid-token Python cursor (for item in items: conti|)', async () => {
    const text = 'items = [1, 2, 3]\nfor item in items:\n    if item > 1:\n        conti';
    await c.open(PY, 'python', text);
    const pos = endOf(text);
    const items = await c.complete(PY, pos.line, pos.character);
    assert.ok(items.length >= 1 && items.length <= 3, `1 to 3 candidates (bytefill.candidates default), got ${items.length}`);
    const it = items[0];
    assert.equal(typeof it.insertText, 'string');
    const insert = it.insertText as string;
    assert.ok(insert.length > 0);
    assert.ok(!insert.includes('\n'), 'single-line at a mid-token cursor');
    assert.match(insert, /^nue/, `byte mode completes "conti" to "continue", got ${JSON.stringify(insert)}`);
    assert.deepEqual(it.range, { start: pos, end: pos });
    assert.ok(c.logs.some((l) => l.includes('syntax python: {')), 'tree-sitter was used');
    const s = await c.status();
    assert.equal(typeof s.lastLatencyMs, 'number');
  });

  test('typing through a suggestion is served from the cache', async () => {
    const before = (await c.status()).requests.cached;
    // Type "n" (the first char of the suggestion) with an incremental change.
    const text = 'items = [1, 2, 3]\nfor item in items:\n    if item > 1:\n        conti';
    const pos = endOf(text);
    await c.change(PY, 2, [{ range: { start: pos, end: pos }, text: 'n' }]);
    const t = Date.now();
    const items = await c.complete(PY, pos.line, pos.character + 1);
    const ms = Date.now() - t;
    assert.ok(items.length >= 1);
    assert.match(items[0].insertText as string, /^ue/);
    assert.equal((await c.status()).requests.cached, before + 1);
    assert.ok(ms < 1000, `cache hit took ${ms} ms`);
  });

  test('a multi-line position after a block opener returns a well-formed item', async () => {
    const uri = 'file:///work/add.py';
    const text = 'def add(a, b):\n    ';
    await c.open(uri, 'python', text);
    const items = await c.complete(uri, 1, 4, undefined, true);
    for (const it of items) {
      assert.equal(typeof it.insertText, 'string');
      assert.ok((it.insertText as string).trim().length > 0);
    }
  });

  test('a cancelled request returns quickly with no items', async () => {
    const uri = 'file:///work/cancel.ts';
    const text = 'function fib(n: number): number {\n  if (n < 2) return n;\n  return fi';
    await c.open(uri, 'typescript', text);
    const src = new CancellationTokenSource();
    const pos = endOf(text);
    const t = Date.now();
    const p = c.complete(uri, pos.line, pos.character, src);
    src.cancel();
    const items = await p.catch(() => []);
    assert.equal(items.length, 0);
    assert.ok(Date.now() - t < 2000);
  });

  test('a newer request supersedes an older one', async () => {
    const uri = 'file:///work/sup.py';
    const text = 'def greet(name):\n    return "Hello, " + na';
    await c.open(uri, 'python', text);
    const pos = endOf(text);
    const first = c.complete(uri, pos.line, pos.character);
    const second = c.complete(uri, pos.line, pos.character);
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.length, 0, 'older request answered empty');
    assert.ok(b.length <= 3);
  });

  test('a storm of 100 keystroke requests in a second: only the latest does work', async () => {
    const uri = 'file:///work/storm.py';
    let text = 'values = [3, 1, 2]\nresult = sorted(val';
    await c.open(uri, 'python', text);
    // The default debounce; the test runner may share the CPU with other suites.
    await c.configure({ debounceMs: 75 });
    const s0 = (await c.status()).requests;
    const pending: Promise<unknown>[] = [];
    const t = Date.now();
    for (let i = 0; i < 100; i++) {
      const pos = endOf(text);
      const ch = i % 2 === 0 ? 'u' : '\b';
      if (ch === 'u') {
        await c.change(uri, i + 2, [{ range: { start: pos, end: pos }, text: 'u' }]);
        text += 'u';
      } else {
        const start = { line: pos.line, character: pos.character - 1 };
        await c.change(uri, i + 2, [{ range: { start, end: pos }, text: '' }]);
        text = text.slice(0, -1);
      }
      const now = endOf(text);
      pending.push(c.complete(uri, now.line, now.character));
      await new Promise((r) => setTimeout(r, 9));
    }
    const results = (await Promise.all(pending)) as unknown[][];
    const elapsed = Date.now() - t;
    const s1 = (await c.status()).requests;
    const worked = s1.completed + s1.empty + s1.errors - (s0.completed + s0.empty + s0.errors);
    assert.equal(results.length, 100);
    assert.ok(worked <= 5, `engine ran to the end ${worked} times`);
    assert.ok(s1.cancelled - s0.cancelled >= 85, `cancelled ${s1.cancelled - s0.cancelled}`);
    await c.configure({ debounceMs: 20 });
    assert.ok(elapsed < 15000, `storm took ${elapsed} ms`);
    assert.equal(s1.errors, s0.errors);
  });

  test('a 10 MB file: the request is answered and the server stays responsive', async () => {
    const uri = 'file:///work/huge.py';
    const line = 'value_0123456789 = compute(alpha, beta, gamma) + offset  # padding text\n';
    const text = line.repeat(Math.ceil(10_000_000 / line.length)) + 'def finish(x):\n    return fin';
    await c.open(uri, 'python', text);
    const pos = endOf(text);
    const t = Date.now();
    const items = await c.complete(uri, pos.line, pos.character);
    assert.ok(items.length <= 3);
    const mid = await c.complete(uri, 1000, 10);
    assert.ok(Array.isArray(mid));
    assert.ok(Date.now() - t < 20000, `took ${Date.now() - t} ms`);
    assert.equal((await c.status()).state, 'ready');
  });

  test('binary content, lone surrogates and replacement characters do not break completion', async () => {
    const uri = 'file:///work/binary.py';
    const junk = Array.from({ length: 3000 }, (_, i) => String.fromCharCode((i * 7919) % 0xd7ff)).join('');
    const text = `\u0000\u0001\u0002PNG${junk}\n\uD800 lone \uDC00 half \uFFFD\uFFFD\nx = \uD83D`;
    await c.open(uri, 'python', text);
    const pos = endOf(text);
    const items = await c.complete(uri, pos.line, pos.character, undefined, true);
    assert.ok(Array.isArray(items));
    const uri2 = 'file:///work/surrogates.ts';
    const text2 = 'const s = "\uD800";\nconst t = "😀\uDFFF";\nconst u = ';
    await c.open(uri2, 'typescript', text2);
    const p2 = endOf(text2);
    const items2 = await c.complete(uri2, p2.line, p2.character, undefined, true);
    for (const it of items2) assert.equal(typeof it.insertText, 'string');
    const s = await c.status();
    assert.equal(s.state, 'ready');
  });

  test('special-token strings in the file are plain text to the server', async () => {
    const uri = 'file:///work/special.py';
    const text = 'MARKERS = ["<|endoftext|>", "<fim_middle>", "<fim_prefix>", "<|fim_suffix|>"]\n# <|endoftext|>\nprint(MARK';
    await c.open(uri, 'python', text);
    const before = (await c.status()).requests.errors;
    const pos = endOf(text);
    const items = await c.complete(uri, pos.line, pos.character, undefined, true);
    assert.ok(items.length <= 3);
    if (items.length) assert.equal(typeof items[0].insertText, 'string');
    assert.equal((await c.status()).requests.errors, before);
  });

  test('settings apply without restart: disable, per-request mode, re-enable', async () => {
    const loadMs = (await c.status()).loadMs;
    await c.configure({ enable: false, debounceMs: 20 });
    const text = 'items = [1, 2, 3]\nfor item in items:\n    if item > 1:\n        contin';
    const uri = 'file:///work/settings.py';
    await c.open(uri, 'python', text);
    const pos = endOf(text);
    assert.equal((await c.complete(uri, pos.line, pos.character)).length, 0);
    assert.equal((await c.status()).state, 'disabled');
    await c.configure({ enable: true, mode: 'token', debounceMs: 20 });
    const s = await c.waitState(['ready'], 10000);
    assert.equal(s.mode, 'token');
    assert.equal(s.loadMs, loadMs, 'no engine reload for a per-request setting');
    const items = await c.complete(uri, pos.line, pos.character);
    assert.ok(items.length <= 3);
    // Extra context from other open documents (snippets) goes through the engine without errors.
    const errors = (await c.status()).requests.errors;
    await c.configure({ context: { enabled: true }, debounceMs: 20 });
    await c.open('file:///work/helpers.py', 'python', 'def contains_item(items, item):\n    return item in items\n');
    await c.complete(uri, pos.line, pos.character, undefined, true);
    assert.equal((await c.status()).requests.errors, errors);
    await c.configure({ debounceMs: 20 });
  });

  test('bytefill/reload re-creates the engine', async () => {
    const res = await c.conn.sendRequest(ReloadRequest, {});
    assert.equal(res.state, 'ready');
    assert.equal((await c.status()).state, 'ready');
  });
});

describe('a model folder that fails to load', () => {
  let c: Client;
  const bad = path.join(REPO, 'no-such-model-folder');
  before(async () => {
    c = await startClient({ bytefill: { models: [bad], debounceMs: 0 } });
  });
  after(async () => {
    await c?.close();
  });

  test('status is error with the path; completions are empty; the server stays up', async () => {
    const s = await c.waitState(['error'], 30000);
    assert.ok(s.error && s.error.includes(bad), s.error ?? '');
    assert.ok(c.progress.some((p) => p.state === 'error'));
    const uri = 'file:///work/x.py';
    await c.open(uri, 'python', 'def f():\n    ret');
    assert.deepEqual(await c.complete(uri, 1, 7), []);
    // A corrupt folder (files present but invalid) also fails cleanly.
    const corrupt = fs.mkdtempSync(path.join(require('os').tmpdir(), 'bytefill-bad-'));
    fs.writeFileSync(path.join(corrupt, 'config.json'), '{ not json');
    await c.configure({ models: [corrupt], debounceMs: 0 });
    const s2 = await c.waitState(['error'], 30000).then(async (x) => (x.error?.includes(corrupt) ? x : c.waitState(['error'])));
    assert.ok(s2.error);
    // Switching back to the bundled model recovers without a restart.
    await c.configure({ models: [], debounceMs: 0 });
    const s3 = await c.waitState(['ready'], 60000);
    assert.equal(s3.error, null);
    fs.rmSync(corrupt, { recursive: true, force: true });
  });
});

describe('a reload of a missing model folder (real engine)', () => {
  let c: Client;
  const missing = path.join(REPO, 'no-such-model-folder');
  before(async () => {
    c = await startClient({ bytefill: { models: [missing], debounceMs: 0 } });
  });
  after(async () => {
    await c?.close();
  });

  test('answers a ResponseError with the engine code MODEL_NOT_FOUND and the folder', async () => {
    await c.waitState(['error'], 30000);
    const err = await c.conn.sendRequest(ReloadRequest, {}).then(
      () => assert.fail('reload succeeded'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ResponseError, String(err));
    assert.equal(err.code, ENGINE_ERROR_CODES.MODEL_NOT_FOUND);
    assert.deepEqual(err.data, { name: 'MODEL_NOT_FOUND', models: [missing] });
    assert.ok(err.message.includes(missing), err.message);
  });
});

describe('bundled dist/server.js', { skip: !fs.existsSync(path.join(REPO, 'dist', 'server.js')) }, () => {
  test('starts over stdio and completes', async () => {
    process.env.BYTEFILL_TEST_DIST = '1';
    const c = await startClient({ bytefill: { debounceMs: 0, logLevel: 'debug' } });
    delete process.env.BYTEFILL_TEST_DIST;
    try {
      const s = await c.waitState(['ready', 'error'], 60000);
      assert.equal(s.state, 'ready', s.error ?? '');
      const uri = 'file:///work/b.py';
      const text = 'for item in items:\n    conti';
      await c.open(uri, 'python', text);
      const items = await c.complete(uri, 1, 9);
      assert.ok(items.length >= 1);
      // tree-sitter loaded from syntaxes/ inside the bundle (no silent fallback to heuristics).
      assert.ok(c.logs.some((l) => l.includes('syntax python: {')), c.logs.join('\n'));
    } finally {
      await c.close();
    }
  });
});
