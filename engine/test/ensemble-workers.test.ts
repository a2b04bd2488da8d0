// Ensemble members in worker threads (both bundled models): the same completions as on the main
// thread, no KV handles left in the workers after a completion (finished or cancelled), and a
// worker that dies is reported as an error instead of hanging the request.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CompletionRequest, Engine } from '../src/index';
import { ENSEMBLE_WORKERS_DEFAULT_MAX_BYTES, modelFileBytes } from '../src/api/engine';
import { completeEnsembleWith, EnsembleDecodeOptions, EnsembleMember } from '../src/ensemble/decode';
import { MemberWorker, startMemberWorkers } from '../src/ensemble/index';
import { modelDir } from './helpers';

const CURSORS: CompletionRequest[] = [
  { prefix: 'def add(a, b):\n    return', suffix: '\n\nprint(add(1, 2))\n' },
  { prefix: 'import os\nfor name in os.listd', suffix: '' },
  { prefix: 'class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n        self.it', suffix: '\n' },
  { prefix: 'x = {"alpha": 1, "beta": 2}\nprint(x["alpha"], x["be', suffix: '' },
];

/** Calls `f` on the n-th call of kind `op` the worker receives (counts calls; changes nothing). */
function onCall(w: MemberWorker, op: string, n: number, f: (body: { ids?: number[] }) => void): void {
  const call = w.call.bind(w);
  let seen = 0;
  w.call = (body) => {
    if (body.op === op && ++seen === n) f(body as { ids?: number[] });
    return call(body);
  };
}
const onScoreCall = (w: MemberWorker, n: number, f: () => void) => onCall(w, 'score', n, f);

describe('ensemble members in worker threads (tiny-code-a + tiny-code-b)', () => {
  let engine: Engine | undefined;
  let members: EnsembleMember[] = [];
  let workers: MemberWorker[] = [];
  before(async () => {
    engine = await Engine.create({ models: [modelDir('tiny-code-a'), modelDir('tiny-code-b')], device: 'cpu', ensembleWorkers: false });
    members = engine.bundles.map((bundle) => ({ bundle, weight: 1 }));
    // Small prefill chunks: a cancel can land inside a prompt's prefill.
    workers = await startMemberWorkers(engine.bundles, { prefillChunkTokens: 16 });
  });
  after(async () => {
    for (const w of workers) await w.dispose();
    await engine?.dispose();
  });
  const run = (req: CompletionRequest, opts: EnsembleDecodeOptions) => completeEnsembleWith(members, { maxTokens: 8, stop: ['\n'], ...req }, opts);
  const held = async () => (await Promise.all(workers.map((w) => w.held()))).reduce((a, b) => a + b, 0);

  test('greedy completions (mixture) are the same with and without member workers', async () => {
    for (const req of CURSORS) {
      const off = await run(req, {});
      const on = await run(req, { workers });
      assert.equal(on.completion, off.completion, JSON.stringify(req.prefix.slice(-20)));
    }
  });

  test('greedy completions (product) are the same with and without member workers', async () => {
    for (const req of CURSORS) {
      const off = await run(req, { mode: 'product' });
      const on = await run(req, { mode: 'product', workers });
      assert.equal(on.completion, off.completion, JSON.stringify(req.prefix.slice(-20)));
    }
  });

  test('the forwards run in the workers and are counted per completion', async () => {
    const r = await run(CURSORS[0], { workers });
    assert.ok(r.members.every((m) => m.forwards > 0), JSON.stringify(r.members.map((m) => m.forwards)));
  });

  test('no KV handles are left in the workers after a completion', async () => {
    await run(CURSORS[2], { workers });
    assert.equal(await held(), 0);
  });

  test('no KV handles are left in the workers after a cancelled completion', async () => {
    const ac = new AbortController();
    onScoreCall(workers[0], 3, () => ac.abort());
    try {
      const r = await run({ ...CURSORS[2], signal: ac.signal, maxTokens: 40, stop: [] }, { workers });
      assert.equal(r.stopReason, 'aborted');
    } finally {
      delete (workers[0] as Partial<MemberWorker>).call; // back to the prototype's
    }
    assert.equal(await held(), 0);
  });

  test('a completion cancelled during its prompt prefill stops the prefill and leaves no KV handles', async () => {
    const ac = new AbortController();
    let prompt: number[] = [];
    onCall(workers[0], 'prefill', 1, (body) => {
      prompt = body.ids!;
      setImmediate(() => ac.abort()); // after the prefill's first chunk has started
    });
    const prefix = Array.from({ length: 30 }, (_, i) => `value_${i} = compute(${i}, scale=${i * 3})\n`).join('') + 'total = val';
    try {
      const r = await run({ prefix, suffix: '\n', signal: ac.signal }, { workers });
      assert.equal(r.stopReason, 'aborted');
    } finally {
      delete (workers[0] as Partial<MemberWorker>).call;
    }
    assert.equal(await held(), 0);
    // Part of the prompt was never computed: the prefill stopped between chunks.
    assert.ok((await workers[0].warm(prompt)).computed > 0);
  });
});

describe('a member worker that dies (tiny-code-a + tiny-code-b)', () => {
  let engine: Engine | undefined;
  before(async () => {
    engine = await Engine.create({ models: [modelDir('tiny-code-a'), modelDir('tiny-code-b')], device: 'cpu' });
  });
  after(async () => {
    await engine?.dispose();
  });

  test('a worker stopped during a completion fails the request with an error that names the member', async () => {
    const w = engine!.memberWorkers![1];
    onScoreCall(w, 2, () => void w.thread.terminate());
    await assert.rejects(engine!.complete({ ...CURSORS[2], maxTokens: 40 }), (e: Error) => /ensemble member tiny-code-b: its worker thread stopped/.test(e.message));
    // Later requests fail at once with the same reason instead of waiting on the dead thread.
    await assert.rejects(engine!.complete(CURSORS[0]), /ensemble member tiny-code-b: its worker thread stopped/);
  });
});

describe('Engine.ensembleWorkers', () => {
  test('an ensemble on the CPU decodes in member workers by default, and warm-ups fill their caches', async () => {
    const e = await Engine.create({ models: [modelDir('tiny-code-a'), modelDir('tiny-code-b')], device: 'cpu' });
    try {
      assert.equal(e.memberWorkers?.length, 2);
      await e.warm(CURSORS[1]);
      const r = await e.complete(CURSORS[1]);
      assert.equal(r.cachedTokens, r.promptTokens);
    } finally {
      await e.dispose();
    }
  });

  test("with member workers, the engine's cache status is the workers' caches, which a completion fills", async () => {
    const e = await Engine.create({ models: [modelDir('tiny-code-a'), modelDir('tiny-code-b')], device: 'cpu' });
    try {
      assert.deepEqual(e.cacheInfo().map((c) => c.entries), [0, 0]);
      await e.complete(CURSORS[0]);
      const info = e.cacheInfo();
      assert.deepEqual(info.map((c) => c.model), e.bundles.map((b) => b.name));
      for (const c of info) assert.ok(c.entries >= 1 && c.bytes > 0, JSON.stringify(c));
      // The engine's own caches stay empty: decoding ran in the workers.
      assert.deepEqual(e.bundles.map((b) => b.cache.stats().entries), [0, 0]);
    } finally {
      await e.dispose();
    }
  });

  test('a warm-up in a member worker stops when its signal fires, and the worker goes on serving', async () => {
    const e = await Engine.create({ models: [modelDir('tiny-code-a'), modelDir('tiny-code-b')], device: 'cpu', ensembleWorkers: false });
    const b = e.bundles[0];
    const w = await MemberWorker.start(b.name, { dir: b.model.dir, variant: b.model.file, prefillChunkTokens: 16 });
    try {
      const ids = b.tok.encode('def f(x):\n    return x + 1\n\n'.repeat(20));
      const ac = new AbortController();
      const warm = w.warm(ids, ac.signal);
      ac.abort();
      await assert.rejects(warm, (err: Error & { code?: string }) => err.code === 'ABORTED');
      const again = await w.warm(ids);
      assert.equal(again.reused + again.computed, ids.length);
    } finally {
      await w.dispose();
      await e.dispose();
    }
  });

  test('ensembleWorkers false keeps every forward on the engine thread', async () => {
    const e = await Engine.create({ models: [modelDir('tiny-code-a'), modelDir('tiny-code-b')], device: 'cpu', ensembleWorkers: false });
    try {
      assert.equal(e.memberWorkers, undefined);
    } finally {
      await e.dispose();
    }
  });
});

describe('the default for member workers follows the size of the members', () => {
  test('modelFileBytes counts an ONNX graph with its external data and nothing else in the folder', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bytefill-size-'));
    try {
      fs.writeFileSync(path.join(dir, 'model_q4.onnx'), Buffer.alloc(100));
      fs.writeFileSync(path.join(dir, 'model_q4.onnx_data'), Buffer.alloc(1000));
      fs.writeFileSync(path.join(dir, 'model.onnx'), Buffer.alloc(5000));
      assert.equal(modelFileBytes(path.join(dir, 'model_q4.onnx')), 1100);
      assert.equal(modelFileBytes(path.join(dir, 'missing', 'model.onnx')), Number.POSITIVE_INFINITY);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the bundled members together are under the limit, so their ensemble uses workers by default', () => {
    const total = (['tiny-code-a', 'tiny-code-b'] as const).reduce((n, m) => n + modelFileBytes(path.join(modelDir(m), 'onnx', 'model.onnx')), 0);
    assert.ok(total > 0 && total <= ENSEMBLE_WORKERS_DEFAULT_MAX_BYTES, `${total} bytes`);
  });
});
