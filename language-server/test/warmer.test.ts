// The server's warm-up bookkeeping (warming.ts): one at a time, counted once each.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { WarmOutcome, WarmTarget, Warmer } from '../src/warming';

const target = (uri: string, line = 0): WarmTarget => ({ uri, languageId: 'python', text: 'x = 1\n', offset: 5, line });

/** A runner that waits until released or aborted. */
function gated(): { run: (t: WarmTarget, s: AbortSignal) => Promise<WarmOutcome | null>; release: () => void; seen: AbortSignal[] } {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const seen: AbortSignal[] = [];
  return {
    seen,
    release: () => release(),
    run: async (_t, s) => {
      seen.push(s);
      await Promise.race([gate, new Promise((r) => s.addEventListener('abort', r, { once: true }))]);
      if (s.aborted) throw Object.assign(new Error('aborted'), { code: 'ABORTED' });
      return { promptTokens: 10, computedTokens: 7, ms: 1 };
    },
  };
}

test('a new warm-up cancels the running one; each is counted once', async () => {
  const g = gated();
  const w = new Warmer(g.run);
  const first = w.start(target('file:///a.py'));
  const second = w.start(target('file:///b.py', 3));
  assert.equal(g.seen[0].aborted, true, 'the first was aborted');
  g.release();
  await Promise.all([first, second]);
  assert.deepEqual({ ...w.status, last: null }, { requested: 2, started: 2, finished: 1, cancelled: 1, failed: 0, skipped: 0, last: null });
  assert.deepEqual(w.status.last, { uri: 'file:///b.py', line: 3, promptTokens: 10, computedTokens: 7, ms: 1 });
  assert.equal(w.running, false);
});

test('a warm-up the engine aborted for another call counts as cancelled', async () => {
  const w = new Warmer(async () => {
    throw Object.assign(new Error('preempted'), { code: 'ABORTED' });
  });
  await w.start(target('file:///a.py'));
  assert.equal(w.status.cancelled, 1);
  assert.equal(w.status.failed, 0);
});

test('a failing warm-up is counted and reported, nothing thrown', async () => {
  const errors: unknown[] = [];
  const w = new Warmer(async () => {
    throw new Error('boom');
  }, (e) => errors.push(e));
  await w.start(target('file:///a.py'));
  assert.equal(w.status.failed, 1);
  assert.equal(errors.length, 1);
});

test('closing the document cancels its warm-up only', async () => {
  const g = gated();
  const w = new Warmer(g.run);
  const p = w.start(target('file:///a.py'));
  w.documentClosed('file:///other.py');
  assert.equal(g.seen[0].aborted, false);
  w.documentClosed('file:///a.py');
  assert.equal(g.seen[0].aborted, true);
  await p;
  assert.equal(w.status.cancelled, 1);
});

test('skipped requests and runs with nothing to prefill count as skipped, not started', async () => {
  const w = new Warmer(async () => null);
  w.skip();
  await w.start(target('file:///a.py'));
  assert.deepEqual({ ...w.status }, { requested: 2, started: 0, finished: 0, cancelled: 0, failed: 0, skipped: 2, last: null });
});
