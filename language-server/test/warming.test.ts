// Prefix KV cache warming (bytefill/warm) over a real LSP (stdio) connection with the bundled model
// in its worker: a warm-up makes the next request at that point a whole-prompt cache hit (the
// engine's cache counters), a request arriving during a warm-up preempts it, and with
// bytefill.warmCache off a warm notification does nothing.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Client, startClient } from './lspClient';
import { KvCacheStatus, StatusResult, WarmNotification } from '../src/protocol';

/** Polls status until `pred` holds (warm-ups run in the background). */
async function until(c: Client, pred: (s: StatusResult) => boolean, what: string, timeoutMs = 90000): Promise<StatusResult> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = await c.status();
    if (pred(s)) return s;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: warm ${JSON.stringify(s.warm)}, kv ${JSON.stringify(s.engine?.kvCache)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const kv = (s: StatusResult): KvCacheStatus => {
  const k = s.engine?.kvCache[0];
  assert.ok(k, 'the status reports the KV cache');
  return k;
};

/** A long Python file: every 10-line block differs, so the prompts at far-apart lines share nothing. */
function longFile(tag: string): string {
  const out: string[] = [];
  for (let i = 0; i < 120; i++) {
    out.push(`def ${tag}_part_${i}(rows, limit=${i * 3}):`);
    out.push(`    kept = [r for r in rows if r.size < limit + ${i}]`);
    out.push(`    return sorted(kept, key=lambda r: r.name_${i % 7})`);
    out.push('');
  }
  return out.join('\n');
}

/** Cursor at the end of line `line` (a `return ...` line). */
function at(text: string, line: number): { line: number; character: number } {
  return { line, character: text.split('\n')[line].length };
}

describe('prefix KV cache warming over stdio (bundled model, worker)', () => {
  let c: Client;
  before(async () => {
    c = await startClient({ bytefill: { debounceMs: 0, speculate: false, logLevel: 'debug' } });
    await c.waitState(['ready'], 90000);
  });
  after(async () => {
    await c?.close();
  });

  const warm = (uri: string, position: { line: number; character: number }) =>
    c.conn.sendNotification(WarmNotification, { textDocument: { uri }, position });

  test('a warm notification makes the next request at that point a whole-prompt cache hit; a point not warmed is computed', async () => {
    const uri = 'file:///work/warm-hit.py';
    const text = longFile('hit');
    await c.open(uri, 'python', text);
    const p = at(text, 302);
    const s0 = await c.status();
    await warm(uri, p);
    const s1 = await until(c, (s) => s.warm!.finished === s0.warm!.finished + 1, 'the warm-up to finish');
    assert.equal(s1.warm!.last?.line, 302);
    assert.ok(s1.warm!.last!.computedTokens > 200, `the warm-up prefilled the prompt (${JSON.stringify(s1.warm!.last)})`);
    const k1 = kv(await until(c, (s) => kv(s).prefills > kv(s0).prefills, 'the worker to report the prefill'));

    await c.complete(uri, p.line, p.character, undefined, true);
    const s2 = await until(c, (s) => kv(s).prefills === k1.prefills + 1, 'the request to prefill');
    const k2 = kv(s2);
    assert.equal(k2.computedTokens, k1.computedTokens, 'the request computed no prompt token');
    assert.equal(k2.fullHits, k1.fullHits + 1, 'a whole-prompt hit');
    assert.equal(s2.lastRequest?.cachedTokens, s2.lastRequest?.promptTokens);

    // Control: a far point that was not warmed is computed by its request.
    const q = at(text, 42);
    await c.complete(uri, q.line, q.character, undefined, true);
    const k3 = kv(await until(c, (s) => kv(s).prefills === k2.prefills + 1, 'the second request to prefill'));
    assert.ok(k3.computedTokens > k2.computedTokens + 100, `a cold point computes its prompt (${k3.computedTokens - k2.computedTokens} tokens)`);
  });

  test('a request arriving during a warm-up preempts it: the warm-up is cancelled, not finished, and the request answers', async () => {
    // The warm-up and the request are sent back to back; the warm-up's prefill is several
    // forwards long. Should it finish before the request reaches the engine (a stalled server
    // thread), that attempt proves nothing and another cold point is tried; a warm-up that cannot
    // be preempted finishes every time.
    const uri = 'file:///work/warm-preempt.py';
    const text = longFile('pre');
    await c.open(uri, 'python', text);
    // Parse the document once, so the request does not spend its first milliseconds on that.
    await c.complete(uri, 2, at(text, 2).character, undefined, true);
    let preempted = false;
    for (let attempt = 0; attempt < 5 && !preempted; attempt++) {
      const s0 = await c.status();
      const p = at(text, 462 - attempt * 80);
      const q = at(text, 442 - attempt * 80);
      void warm(uri, p);
      const items = await c.complete(uri, q.line, q.character, undefined, true);
      const s1 = await until(c, (s) => s.warm!.finished + s.warm!.cancelled + s.warm!.failed + s.warm!.skipped > s0.warm!.finished + s0.warm!.cancelled + s0.warm!.failed + s0.warm!.skipped, 'the warm-up to end');
      assert.equal(s1.warm!.started, s0.warm!.started + 1, 'the warm-up started');
      assert.equal(s1.warm!.failed, s0.warm!.failed);
      assert.equal(s1.requests.completed + s1.requests.empty, s0.requests.completed + s0.requests.empty + 1, 'the request ran the engine to the end');
      assert.ok(items.length >= 0);
      if (s1.warm!.cancelled === s0.warm!.cancelled + 1) {
        assert.equal(s1.warm!.finished, s0.warm!.finished, 'the cancelled warm-up did not also finish');
        preempted = true;
      }
    }
    assert.ok(preempted, 'in 5 attempts a warm-up was never preempted by the request that followed it');
  });

  test('with bytefill.warmCache off a warm notification does nothing: counted as skipped, no prefill, the request stays cold', async () => {
    await c.configure({ debounceMs: 0, speculate: false, logLevel: 'debug', warmCache: false });
    try {
      const uri = 'file:///work/warm-off.py';
      const text = longFile('off');
      await c.open(uri, 'python', text);
      const p = at(text, 202);
      const s0 = await c.status();
      await warm(uri, p);
      // Requests and notifications are handled in order: this status comes after the notification.
      const s1 = await c.status();
      assert.equal(s1.warm!.skipped, s0.warm!.skipped + 1);
      assert.equal(s1.warm!.started, s0.warm!.started);
      assert.equal(kv(s1).prefills, kv(s0).prefills, 'nothing reached the engine');
      await c.complete(uri, p.line, p.character, undefined, true);
      const s2 = await until(c, (s) => kv(s).prefills === kv(s0).prefills + 1, 'the request to prefill');
      assert.ok(kv(s2).computedTokens > kv(s0).computedTokens + 100, 'the request computed its prompt');
      assert.equal(kv(s2).fullHits, kv(s0).fullHits);
    } finally {
      await c.configure({ debounceMs: 0, speculate: false, logLevel: 'debug' });
    }
  });

  test('a malformed warm notification is ignored with one log line, and the server keeps answering', async () => {
    await c.conn.sendNotification(WarmNotification, { textDocument: { uri: 'file:///work/x.py' }, position: { line: -1, character: 0.5 } });
    const s = await c.status();
    assert.equal(s.state, 'ready');
    await until(c, () => c.logs.some((l) => l.includes('bytefill/warm ignored')), 'the log line', 10000);
  });
});
