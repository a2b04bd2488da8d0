import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { CompletionResult } from '../src/index';
import { percentile, runEval, summarize } from '../src/eval/runner';
import type { EvalCase, EvalRun, EvalSubject } from '../src/eval/types';

function result(completion: string): CompletionResult {
  return { completion, mode: 'byte', models: ['fake'], promptTokens: 0, generatedTokens: 0, ms: 0, stopReason: 'eot' };
}

/** Answers from a table keyed by prefix; bits per byte = 1 per reference char of 'a', 3 otherwise. */
function fakeSubject(answers: Record<string, string>, bpb?: (middle: string) => number): EvalSubject {
  return {
    label: 'fake',
    complete: async (prefix) => result(answers[prefix] ?? ''),
    ...(bpb && { middleBitsPerByte: async (_p: string, _s: string, m: string) => bpb(m) }),
  };
}

const testCode = 'def check(candidate):\n    assert candidate(2, 3) == 5\n';
const he = (id: string, prefix: string): EvalCase => ({
  id,
  prefix,
  suffix: '',
  reference: '    return a + b\n',
  test: testCode,
  entryPoint: 'add',
  kind: 'humaneval',
});

// One run over four cases (two HumanEval-style with a test, two mid-token), shared by the tests below.
let shared: Promise<{ run: EvalRun; progress: number[] }> | undefined;
function sharedRun() {
  shared ??= (async () => {
    const cases: EvalCase[] = [
      he('ok', 'def add(a, b):\n'),
      he('wrong', 'def add(a,  b):\n'),
      { id: 'mt1', prefix: 'conti', suffix: '', reference: 'nue', restOfIdentifier: 'nue', kind: 'midtoken' },
      { id: 'mt2', prefix: 'retu', suffix: '', reference: 'rn x', restOfIdentifier: 'rn', kind: 'midtoken' },
    ];
    const subject = fakeSubject(
      { 'def add(a, b):\n': '    return a + b\n', 'def add(a,  b):\n': '    return a - b\n', conti: 'nue\nfoo', retu: 'x' },
      (m) => (m.startsWith(' ') ? 1 : 3),
    );
    const progress: number[] = [];
    const run = await runEval(subject, cases, { onProgress: (p) => progress.push(p.done) });
    return { run, progress };
  })();
  return shared;
}

test('runEval finishes every case (not aborted) and reports progress once per case', async () => {
  const { run, progress } = await sharedRun();
  assert.equal(run.aborted, false);
  assert.deepEqual(progress.sort(), [1, 2, 3, 4]);
});

test('runEval executes the test: a correct body passes, a wrong one fails, a case without a test is not run', async () => {
  const [ok, wrong, mt1] = (await sharedRun()).run.records;
  assert.equal(ok.passed, true, ok.execError);
  assert.equal(wrong.passed, false);
  assert.equal(mt1.passed, undefined);
});

test('runEval scores exact match, prefix match and edit similarity against the reference', async () => {
  const [ok, wrong] = (await sharedRun()).run.records;
  assert.equal(ok.exactMatch, true);
  assert.equal(wrong.exactMatch, false);
  assert.equal(wrong.prefixMatchLength, 13); // '    return a ' then '-' vs '+'
  assert.equal(wrong.editSimilarity, 1 - 1 / 16);
});

test('runEval without firstLineOnly: exact match compares everything, first-line EM the first line', async () => {
  const mt1 = (await sharedRun()).run.records[2];
  assert.equal(mt1.exactMatch, false); // 'nue\nfoo' vs 'nue'
  assert.equal(mt1.firstLineExactMatch, true);
});

test('runEval scores identifier continuation on mid-token cases', async () => {
  const [, , mt1, mt2] = (await sharedRun()).run.records;
  assert.equal(mt1.identifierContinuation, true);
  assert.equal(mt2.identifierContinuation, false);
});

test('the run summary counts and averages the records', async () => {
  const s = (await sharedRun()).run.summary;
  assert.equal(s.n, 4);
  assert.equal(s.pass1, 0.5);
  assert.equal(s.nExecuted, 2);
  assert.equal(s.exactMatch, 0.25);
  assert.equal(s.firstLineEM, 0.5);
  assert.equal(s.identifierContinuation, 0.5);
  assert.equal(s.nIdentifier, 2);
  assert.equal(s.errors, 0);
});

test('the run summary gives bits per byte as a mean of cases and as total bits over total bytes', async () => {
  const s = (await sharedRun()).run.summary;
  // bpb: 1, 1 (17 bytes each), 3 (3 bytes), 3 (4 bytes): mean 2, total (17+17+9+12)/41.
  assert.equal(s.bitsPerByte, 2);
  assert.equal(s.bitsPerByteTotal, (17 + 17 + 9 + 12) / 41);
});

test('firstLineOnly truncates for scoring and restores the newline for execution', async () => {
  const cases = [he('ok', 'def add(a, b):\n')];
  const run = await runEval(fakeSubject({ 'def add(a, b):\n': '    return a + b\n    # extra line\n' }), cases, { firstLineOnly: true });
  const r = run.records[0];
  assert.equal(r.completion, '    return a + b');
  assert.equal(r.exactMatch, true);
  assert.equal(r.editSimilarity, 1);
  assert.equal(r.passed, true, r.execError);
  assert.equal(run.summary.bitsPerByte, null);
});

async function timeoutRun() {
  const subject: EvalSubject = {
    label: 'slow',
    complete: (prefix, _suffix, signal) =>
      prefix === 'hang'
        ? new Promise((_, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted'))))
        : Promise.resolve(result('x')),
  };
  const cases: EvalCase[] = [
    { id: 'a', prefix: 'hang', suffix: '', reference: 'x', kind: 'midtoken' },
    { ...he('b', 'x'), reference: 'x' },
  ];
  return runEval(subject, cases, { caseTimeoutMs: 100, execute: false });
}

test('a case past its timeout is recorded as an error with an empty completion, and counted', async () => {
  const run = await timeoutRun();
  assert.match(run.records[0].error ?? '', /timeout/);
  assert.equal(run.records[0].completion, '');
  assert.equal(run.summary.errors, 1);
});

test('after a timed-out case the run goes on to the next case', async () => {
  const run = await timeoutRun();
  assert.equal(run.records[1].exactMatch, true);
});

test('execute: false runs no test (passed undefined, pass@1 null)', async () => {
  const run = await timeoutRun();
  assert.equal(run.records[1].passed, undefined);
  assert.equal(run.summary.pass1, null);
});

test('an aborted signal stops the run and returns finished cases', async () => {
  const ac = new AbortController();
  let calls = 0;
  const subject: EvalSubject = {
    label: 'x',
    complete: async () => {
      if (++calls === 2) ac.abort();
      return result('y');
    },
  };
  const cases: EvalCase[] = ['1', '2', '3'].map((id) => ({ id, prefix: '', suffix: '', reference: 'y', kind: 'midtoken' }));
  const run = await runEval(subject, cases, { signal: ac.signal });
  assert.equal(run.aborted, true);
  assert.equal(run.records.length, 1);
});

test('percentile picks the smallest value with at least q of the values at or below it', () => {
  assert.equal(percentile([5, 1, 4, 2, 3], 0.5), 3);
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95), 10);
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.5), 5);
});

test('summarize: latency p50/p95/mean, mean prefix match, identifier continuation null without mid-token cases', () => {
  const s = summarize('l', [
    { id: 'a', label: 'l', kind: 'midtoken', completion: '', exactMatch: true, firstLineExactMatch: true, editSimilarity: 1, prefixMatchLength: 2, middleBytes: 1, ms: 10 },
    { id: 'b', label: 'l', kind: 'midtoken', completion: '', exactMatch: false, firstLineExactMatch: false, editSimilarity: 0, prefixMatchLength: 0, middleBytes: 1, ms: 30 },
  ]);
  assert.deepEqual(s.latency, { p50: 10, p95: 30, mean: 20 });
  assert.equal(s.prefixMatchLength, 1);
  assert.equal(s.identifierContinuation, null);
});
