// The engine worker through its message set, without the LSP layer: results, errors with their
// codes, cancellation that settles at once and reaches the worker, status, dispose, crash.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { Engine } from '../../engine/src/index';
import { WorkerEngine } from '../src/worker/workerEngine';
import { REPO } from './lspClient';

const MODEL_A = path.join(REPO, 'models', 'tiny-code-a');
const LONG = 'value = compute(alpha, beta, gamma) + offset  # padding text\n'.repeat(60) + 'def total(values):\n    ';

function quietLog(): { lines: string[]; log: (level: string, message: string) => void } {
  const lines: string[] = [];
  return { lines, log: (level, message) => lines.push(`${level} ${message}`) };
}

describe('WorkerEngine (tiny-code-a in a worker thread)', () => {
  let e: WorkerEngine;
  const crashes: string[] = [];
  const logs = quietLog();
  before(async () => {
    e = await WorkerEngine.create({ models: [MODEL_A], device: 'cpu' }, { log: logs.log, onCrash: (r) => crashes.push(r) });
  });
  after(async () => e?.dispose());

  test('load returns the engine info; engine log lines come back as messages', () => {
    assert.equal(e.info().models[0].name, 'tiny-code-a');
    assert.ok(logs.lines.some((l) => l.startsWith('info loading model')), logs.lines.join('\n'));
  });

  test('complete returns the completion and the worker pushes stats with the KV cache', async () => {
    const r = await e.complete({ prefix: 'for item in items:\n    conti', suffix: '', mode: 'byte', maxTokens: 4 });
    assert.equal(r.mode, 'byte');
    assert.equal(typeof r.completion, 'string');
    assert.ok(r.promptTokens > 0);
    const s = await e.status();
    assert.equal(s.running, 1, 'the status call itself');
    assert.equal(s.kvCache[0].model, 'tiny-code-a');
    assert.ok(s.kvCache[0].entries >= 1 && s.kvCache[0].bytes > 0);
    assert.ok(s.memory.rss > 0);
    assert.deepEqual(e.stats?.kvCache[0].model, 'tiny-code-a');
  });

  test('score: bits per byte of a middle, the same number as the engine on this thread', async () => {
    const args = ['for item in items:\n    ', '\n', 'print(item)', 'byte'] as const;
    const inWorker = await e.middleBitsPerByte(...args);
    const local = await Engine.create({ models: [MODEL_A], device: 'cpu' });
    try {
      const here = await local.middleBitsPerByte(...args);
      assert.ok(Number.isFinite(inWorker) && inWorker > 0);
      assert.ok(Math.abs(inWorker - here) < 1e-6, `${inWorker} vs ${here}`);
    } finally {
      await local.dispose();
    }
  });

  test('an engine error keeps its code across the thread boundary', async () => {
    await assert.rejects(
      e.complete({ prefix: 'x', suffix: '', mode: 'nonsense' as 'byte' }),
      (err: Error & { code?: string }) => err.code === 'BAD_ARGUMENT' && /unknown mode 'nonsense'/.test(err.message),
    );
  });

  test('a cancelled call settles at once; the worker then stops it and becomes idle', async () => {
    const before = e.cancelledInWorker;
    const ac = new AbortController();
    const p = e.complete({ prefix: LONG, suffix: '', mode: 'token', maxTokens: 200, signal: ac.signal });
    // Give the worker the request, then cancel.
    await new Promise((r) => setTimeout(r, 30));
    ac.abort();
    await assert.rejects(p, (err: Error & { code?: string }) => err.code === 'ABORTED');
    assert.ok(e.running >= 0);
    // The worker answers the cancelled call (aborted) once it reaches a forward boundary.
    const end = Date.now() + 60000;
    while (e.running > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.equal(e.running, 0);
    assert.equal(e.cancelledInWorker, before + 1, 'the worker ended the call as cancelled');
    // The worker serves the next call.
    const r = await e.complete({ prefix: 'def f(x):\n    return x', suffix: '', mode: 'token', maxTokens: 2 });
    assert.notEqual(r.stopReason, 'aborted');
    assert.deepEqual(crashes, []);
  });
});

describe('WorkerEngine failures', () => {
  test('a model folder that does not load: create rejects with the engine error code; the worker ends', async () => {
    const bad = path.join(REPO, 'no-such-model');
    await assert.rejects(
      WorkerEngine.create({ models: [bad] }, { log: () => undefined, onCrash: () => assert.fail('not a crash') }),
      (err: Error & { code?: string }) => err.code === 'MODEL_NOT_FOUND' && err.message.includes(bad),
    );
  });

  test('a worker that exits: pending and later calls fail with ENGINE_CRASHED, onCrash names the exit code (fault injection)', async () => {
    process.env.BYTEFILL_TEST_HOOKS = '1';
    const crashes: string[] = [];
    const e = await WorkerEngine.create({ device: 'cpu' }, { log: () => undefined, onCrash: (r) => crashes.push(r) });
    try {
      const p = e.complete({ prefix: LONG, suffix: '', mode: 'token', maxTokens: 200 });
      e.injectFault('exit');
      await assert.rejects(p, (err: Error & { code?: string }) => err.code === 'ENGINE_CRASHED');
      assert.equal(crashes.length, 1);
      assert.match(crashes[0], /exited with code 70/);
      await assert.rejects(e.complete({ prefix: 'x', suffix: '' }), (err: Error & { code?: string }) => err.code === 'ENGINE_CRASHED');
    } finally {
      delete process.env.BYTEFILL_TEST_HOOKS;
      await e.dispose();
    }
  });
});
