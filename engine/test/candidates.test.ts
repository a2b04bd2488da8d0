// Several candidates from one request: the first is the single-candidate completion, the others
// start from the next-best first tokens (byte mode: covers), decoded in one batch.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { Engine } from '../src/api/engine';
import { BoundaryMode, BytefillError } from '../src/core/types';
import { firstStopIndex } from '../src/decode/generate';

let engine: Engine;
before(async () => {
  engine = await Engine.create({ threads: 1 });
});
after(async () => {
  await engine.dispose();
});

const CASES = [
  { prefix: 'function fib(n: number): number {\n  if (n < 2) return n;\n  return fi', suffix: '\n}\n', stop: ['\n'] },
  { prefix: 'def total(items):\n    result = 0\n    for item in items:\n        if item is None:\n            conti', suffix: '\n        result += item\n    return result\n', stop: ['\n'] },
  { prefix: 'def add(a, b):\n    ', suffix: '\n' },
];

for (const mode of ['byte', 'token', 'heal'] as BoundaryMode[]) {
  test(`${mode} mode: the first of 3 candidates is the single greedy completion; all distinct`, async () => {
    for (const c of CASES) {
      const one = await engine.complete({ ...c, mode, maxTokens: 16 });
      const three = await engine.complete({ ...c, mode, maxTokens: 16, candidates: 3, candidateExtraMs: 60000 });
      assert.equal(one.items, undefined, 'one candidate: no items list');
      const texts = three.items!.map((i) => i.completion);
      assert.equal(texts[0], one.completion, `${mode} ${JSON.stringify(c.prefix.slice(-12))}: ${JSON.stringify(texts)}`);
      assert.equal(three.completion, one.completion);
      assert.ok(texts.length <= 3);
      assert.equal(new Set(texts).size, texts.length, JSON.stringify(texts));
      for (const t of texts.slice(1)) {
        assert.ok(t.length > 0, 'no empty alternative');
        if (c.stop) assert.ok(!t.includes('\n'), `stop strings apply to alternatives: ${JSON.stringify(t)}`);
      }
    }
  });
}

test('no candidate is a prefix of another (their first tokens are not prefix-related)', async () => {
  const c = CASES[0];
  const r = await engine.complete({ ...c, mode: 'byte', maxTokens: 16, candidates: 4, candidateExtraMs: 60000 });
  const texts = r.items!.map((i) => i.completion);
  assert.ok(texts.length >= 2, JSON.stringify(texts));
  for (let i = 0; i < texts.length; i++) {
    for (let j = 0; j < texts.length; j++) if (i !== j) assert.ok(!texts[j].startsWith(texts[i]), JSON.stringify(texts));
  }
});

test('time cap: with no extra time, only alternatives that stopped with the first one are returned', async () => {
  // The first candidate stops after a few tokens at the newline; the rows step together, so an
  // alternative returned under a zero cap cannot have generated more tokens than the first.
  const c = CASES[1];
  const r = await engine.complete({ ...c, mode: 'token', maxTokens: 32, candidates: 3, candidateExtraMs: 0 });
  const first = r.items![0];
  for (const it of r.items!.slice(1)) {
    assert.ok(it.generatedTokens <= first.generatedTokens + 1, `alternative ran ${it.generatedTokens} tokens, first ${first.generatedTokens}`);
    assert.notEqual(it.stopReason, 'max_time');
  }
  const uncapped = await engine.complete({ ...c, mode: 'token', maxTokens: 32, candidates: 3, candidateExtraMs: 60000 });
  assert.ok(uncapped.items!.length >= r.items!.length);
});

test('extra steps: with no extra time but enough extra steps, the alternatives are those of an uncapped request', async () => {
  // Steps, not milliseconds: the result does not depend on how busy the machine is.
  const c = CASES[1];
  const uncapped = await engine.complete({ ...c, mode: 'token', maxTokens: 32, candidates: 3, candidateExtraMs: 60000 });
  const stepped = await engine.complete({ ...c, mode: 'token', maxTokens: 32, candidates: 3, candidateExtraMs: 0, candidateExtraSteps: 32 });
  assert.deepEqual(stepped.items!.map((i) => i.completion), uncapped.items!.map((i) => i.completion));
});

test('stage timings add up to no more than the request time', async () => {
  const r = await engine.complete({ ...CASES[0], mode: 'byte', maxTokens: 8, candidates: 2 });
  const t = r.timings!;
  const sum = t.promptMs + t.prefillMs + t.coversMs + t.decodeMs;
  assert.ok(t.coversMs > 0 && t.decodeMs > 0, JSON.stringify(t));
  assert.ok(sum <= r.ms + 1, `${sum} > ${r.ms}`);
  assert.ok(t.queueMs >= 0);
});

test('candidates out of range is a clear error', async () => {
  for (const n of [0, 2.5, 99]) {
    await assert.rejects(engine.complete({ ...CASES[0], candidates: n }), (e: unknown) => e instanceof BytefillError && e.code === 'BAD_ARGUMENT' && /candidates/.test(e.message));
  }
});

test('stopAfterLeadingWhitespace: a leading newline does not stop, the next one does', async () => {
  assert.equal(firstStopIndex('\n    x = 1\ny', ['\n'], true), 10);
  assert.equal(firstStopIndex('\n   ', ['\n'], true), -1);
  assert.equal(firstStopIndex('\n    x', ['\n']), 0);
  const req = { prefix: 'def add(a, b):\n    c = a + b', suffix: '\n', stop: ['\n'], maxTokens: 24 };
  const plain = await engine.complete({ ...req, mode: 'byte' });
  const next = await engine.complete({ ...req, mode: 'byte', stopAfterLeadingWhitespace: true, candidates: 3, candidateExtraMs: 60000 });
  assert.ok(!plain.completion.includes('\n'));
  for (const it of next.items!) {
    const body = it.completion.replace(/^\s+/, '');
    assert.ok(!body.includes('\n'), `at most one line after the leading whitespace: ${JSON.stringify(it.completion)}`);
  }
  assert.ok(next.completion.startsWith('\n') || plain.completion.length > 0, 'the model chose a newline, so the answer continues on the next line');
});
