// The completion experience over a real LSP (stdio) connection with the bundled model: several
// candidates, speculative completion after an accept, typing through, accept counting and the
// statistics in bytefill/status.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Client, startClient } from './lspClient';
import { ACCEPT_COMMAND, DidAcceptNotification, StatusResult } from '../src/protocol';

function endOf(text: string): { line: number; character: number } {
  const lines = text.split('\n');
  return { line: lines.length - 1, character: lines[lines.length - 1].length };
}

/** Polls status until `pred` holds (the server works in the background). */
async function until(c: Client, pred: (s: StatusResult) => boolean, what: string, timeoutMs = 60000): Promise<StatusResult> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = await c.status();
    if (pred(s)) return s;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(s.stats)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const FIB = 'function fib(n: number): number {\n  if (n < 2) return n;\n  return fi';

describe('candidates, speculation and statistics over stdio (bundled model)', () => {
  let c: Client;
  before(async () => {
    c = await startClient({ bytefill: { debounceMs: 0, logLevel: 'debug', speculate: false } });
    await c.waitState(['ready'], 60000);
  });
  after(async () => {
    await c?.close();
  });

  test('typing gets one candidate; an explicit request (next/previous keys) gets several distinct ones, the first unchanged', async () => {
    const uri = 'file:///work/fib.ts';
    await c.open(uri, 'typescript', FIB + '\n}\n');
    const pos = endOf(FIB);
    const typed = await c.complete(uri, pos.line, pos.character);
    assert.equal(typed.length, 1, 'automatic trigger: one candidate');
    const s0 = await c.status();
    const three = await c.complete(uri, pos.line, pos.character, undefined, true);
    const texts = three.map((i) => i.insertText as string);
    assert.equal((await c.status()).requests.completed, s0.requests.completed + 1, 'the explicit request generated the alternatives');
    assert.ok(three.length >= 2 && three.length <= 3, `2 or 3 candidates, got ${JSON.stringify(texts)}`);
    assert.equal(new Set(texts).size, texts.length, `distinct: ${JSON.stringify(texts)}`);
    assert.equal(texts[0], typed[0].insertText, 'the first candidate is the one shown while typing');
    for (const it of three) {
      assert.deepEqual(it.range, { start: pos, end: pos });
      assert.equal(it.command?.command, ACCEPT_COMMAND);
    }
    // Asking again explicitly is answered from the cache with all candidates.
    const again = await c.complete(uri, pos.line, pos.character, undefined, true);
    assert.deepEqual(again.map((i) => i.insertText), texts);
    assert.equal((await c.status()).requests.completed, s0.requests.completed + 1);
  });

  test('bytefill.candidates caps what an explicit request returns', async () => {
    await c.configure({ debounceMs: 0, speculate: false, candidates: 1 });
    const uri = 'file:///work/fib-one.ts';
    await c.open(uri, 'typescript', FIB + '\n}\n');
    const pos = endOf(FIB);
    const one = await c.complete(uri, pos.line, pos.character, undefined, true);
    assert.equal(one.length, 1);
    await c.configure({ debounceMs: 0, speculate: false });
  });

  test('typing through a suggestion inside a word is answered from the cache, keeping the candidates that agree', async () => {
    const uri = 'file:///work/through.ts';
    await c.open(uri, 'typescript', FIB + '\n}\n');
    const pos = endOf(FIB);
    const first = await c.complete(uri, pos.line, pos.character, undefined, true);
    const s0 = await c.status();
    const typed = (first[0].insertText as string).slice(0, 2);
    assert.equal(typed.length, 2);
    let ch = pos.character;
    for (let k = 0; k < 2; k++) {
      await c.change(uri, 2 + k, [{ range: { start: { line: pos.line, character: ch }, end: { line: pos.line, character: ch } }, text: typed[k] }]);
      ch++;
      const items = await c.complete(uri, pos.line, ch);
      assert.ok(items.length >= 1);
      assert.equal(items[0].insertText, (first[0].insertText as string).slice(k + 1));
      for (const it of items) {
        const full = typed.slice(0, k + 1) + (it.insertText as string);
        assert.ok(first.some((f) => f.insertText === full), `each remainder continues a shown candidate: ${JSON.stringify(full)}`);
      }
    }
    const s1 = await c.status();
    assert.equal(s1.requests.completed, s0.requests.completed, 'no new generation');
    assert.equal(s1.stats!.total.cacheHits, s0.stats!.total.cacheHits + 2);
    assert.equal(s1.stats!.total.shown, s0.stats!.total.shown, 'typing through does not count as a new suggestion');
  });

  test('a full accept reported by the item command and an accept-word inferred from the document are counted', async () => {
    const uri = 'file:///work/accept.ts';
    const text = FIB + '\n}\n';
    await c.open(uri, 'typescript', text);
    const pos = endOf(FIB);
    const items = await c.complete(uri, pos.line, pos.character, undefined, true);
    const s0 = (await c.status()).stats!.total;
    const args = items[0].command!.arguments![0] as { id: number; index: number };
    await c.conn.sendNotification(DidAcceptNotification, args);
    const s1 = (await until(c, (s) => s.stats!.total.acceptedFull > s0.acceptedFull, 'the full accept')).stats!.total;
    assert.equal(s1.charsAccepted - s0.charsAccepted, (items[0].insertText as string).length);
    // The same accept reported twice counts once.
    await c.conn.sendNotification(DidAcceptNotification, args);
    // Partial accept: a new suggestion, then one change inserting its first 2+ characters.
    const uri2 = 'file:///work/accept2.ts';
    await c.open(uri2, 'typescript', text);
    const items2 = await c.complete(uri2, pos.line, pos.character, undefined, true);
    const s2 = (await c.status()).stats!.total;
    assert.equal(s2.acceptedFull, s1.acceptedFull, 'a repeated accept report is ignored');
    const insert = items2[0].insertText as string;
    assert.ok(insert.length >= 3, JSON.stringify(insert));
    const word = insert.slice(0, Math.max(2, insert.search(/\W/) > 1 ? insert.search(/\W/) : 2));
    await c.change(uri2, 2, [{ range: { start: pos, end: pos }, text: word }]);
    const s3 = (await until(c, (s) => s.stats!.total.acceptedPartial > s2.acceptedPartial, 'the partial accept')).stats!.total;
    assert.equal(s3.charsAccepted - s2.charsAccepted, word.length);
    assert.equal(s3.acceptedFull, s2.acceptedFull);
    const st = await c.status();
    assert.ok(st.stats!.byLanguage.typescript.acceptedPartial >= 1, 'counted per language');
  });

  test('status reports latency percentiles, a histogram and the stages of the last request', async () => {
    const uri = 'file:///work/stages.py';
    const text = 'items = [1, 2, 3]\nfor item in items:\n    if item > 1:\n        conti';
    await c.open(uri, 'python', text);
    const pos = endOf(text);
    await c.complete(uri, pos.line, pos.character, undefined, true);
    const s = await c.status();
    const last = s.lastRequest!;
    assert.ok(last, 'lastRequest is set');
    assert.equal(last.languageId, 'python');
    for (const k of ['debounceMs', 'queueMs', 'promptMs', 'prefillMs', 'coversMs', 'decodeMs', 'postprocessMs', 'totalMs'] as const) {
      assert.ok(Number.isFinite(last[k]) && last[k] >= 0, `${k} = ${last[k]}`);
    }
    assert.ok(last.coversMs > 0, 'byte mode scored covers');
    assert.ok(last.totalMs >= last.decodeMs);
    const lat = s.stats!.total.latency;
    assert.ok(lat.count >= 1);
    assert.ok(lat.p50! <= lat.p95!);
    assert.equal(lat.histogram.reduce((a, b) => a + b, 0), lat.count);
    assert.ok(s.stats!.byLanguage.python.shown >= 1);
  });

  test('bytefill.disabledLanguages turns completion off for those languages only', async () => {
    await c.configure({ debounceMs: 0, speculate: false, disabledLanguages: ['python'] });
    const uri = 'file:///work/off.py';
    const text = 'for item in items:\n    conti';
    await c.open(uri, 'python', text);
    assert.deepEqual(await c.complete(uri, 1, 9, undefined, true), []);
    const ts = 'file:///work/on.ts';
    await c.open(ts, 'typescript', FIB);
    const pos = endOf(FIB);
    assert.ok((await c.complete(ts, pos.line, pos.character, undefined, true)).length >= 1);
    await c.configure({ debounceMs: 0, speculate: false });
  });
});

describe('speculative completion over stdio (bundled model)', () => {
  let c: Client;
  before(async () => {
    c = await startClient({ bytefill: { debounceMs: 0, logLevel: 'debug', speculate: true } });
    await c.waitState(['ready'], 60000);
  });
  after(async () => {
    await c?.close();
  });

  test('after an accept, the next suggestion comes from the speculative cache without a new generation', async () => {
    const uri = 'file:///work/spec.ts';
    const text = FIB + '\n}\n';
    await c.open(uri, 'typescript', text);
    const pos = endOf(FIB);
    const s0 = await c.status();
    const items = await c.complete(uri, pos.line, pos.character, undefined, true);
    assert.ok(items.length >= 1);
    const s1 = await until(c, (s) => s.stats!.speculation.finished > s0.stats!.speculation.finished, 'the speculative completion');
    // Accept: the suggestion is inserted with one change.
    const insert = items[0].insertText as string;
    await c.change(uri, 2, [{ range: { start: pos, end: pos }, text: insert }]);
    const after = endOf(FIB + insert);
    const next = await c.complete(uri, after.line, after.character);
    const s2 = await c.status();
    assert.ok(next.length >= 1, 'ghost text right after the accept');
    assert.equal(s2.requests.completed, s1.requests.completed, 'answered without running the engine');
    assert.equal(s2.stats!.total.speculationHits, s1.stats!.total.speculationHits + 1);
    assert.equal(s2.stats!.speculation.used, s1.stats!.speculation.used + 1);
  });

  test('an accept while the speculation is still running waits for it instead of generating again', async () => {
    const uri = 'file:///work/spec-wait.py';
    const text = 'def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n\n\ndef sub(a, b):\n    ';
    await c.open(uri, 'python', text);
    const pos = endOf(text);
    const items = await c.complete(uri, pos.line, pos.character, undefined, true);
    assert.ok(items.length >= 1);
    const s1 = await c.status();
    const insert = items[0].insertText as string;
    await c.change(uri, 2, [{ range: { start: pos, end: pos }, text: insert }]);
    const after = endOf(text + insert);
    await c.complete(uri, after.line, after.character);
    const s2 = await c.status();
    // Either it joined the running job or the job had already finished: no second generation.
    assert.equal(s2.requests.completed, s1.requests.completed);
    assert.equal(s2.stats!.speculation.cancelled, s1.stats!.speculation.cancelled);
  });

  test('after a keystroke other than the accept, the speculative result is not used', async () => {
    const uri = 'file:///work/spec-other.py';
    const text = 'class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n        ';
    await c.open(uri, 'python', text);
    const pos = endOf(text);
    const items = await c.complete(uri, pos.line, pos.character, undefined, true);
    assert.ok(items.length >= 1);
    const s1 = await c.status();
    const sp = s1.stats!.speculation;
    assert.equal(sp.started, sp.finished + sp.cancelled + sp.empty + 1, `one job running: ${JSON.stringify(sp)}`);
    // Type something else than the suggestion: the job is cancelled (or already over).
    await c.change(uri, 2, [{ range: { start: pos, end: pos }, text: '#' }]);
    await until(c, (s) => s.stats!.speculation.started === s.stats!.speculation.finished + s.stats!.speculation.cancelled + s.stats!.speculation.empty, 'the job to end');
    const next = endOf(text + '#');
    await c.complete(uri, next.line, next.character, undefined, true);
    const s2 = await c.status();
    assert.equal(s2.stats!.speculation.used, s1.stats!.speculation.used);
    assert.equal(s2.requests.completed + s2.requests.empty, s1.requests.completed + s1.requests.empty + 1, 'a fresh generation');
  });
});
