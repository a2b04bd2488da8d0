// The engine takes Hub ids wherever it takes a model folder.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Engine } from '../src/api/engine';
import { bundledRepoFiles, variantsRepoFiles } from './hub-server';
import { hubEnv } from './hub-env';
import { modelDir } from './helpers';

const req = { prefix: 'def fibonacci(n):\n    if n < 2:\n        return n\n    return fib', suffix: '\n', maxTokens: 8, stop: ['\n'], mode: 'byte' as const };

test('a Hub id completes exactly like the same model loaded from its folder', async () => {
  const env = await hubEnv();
  try {
    env.hub.addRepo('bytefill-test/tiny-code-b', bundledRepoFiles('tiny-code-b'));
    const seen: number[] = [];
    const fromHub = await Engine.create({ models: ['bytefill-test/tiny-code-b'], device: 'cpu', threads: 1, onDownload: (p) => seen.push(p.bytes) });
    const fromDir = await Engine.create({ models: [modelDir('tiny-code-b')], device: 'cpu', threads: 1 });
    try {
      assert.equal(fromHub.info().models[0].name, 'bytefill-test/tiny-code-b');
      assert.ok(seen.length > 0, 'download progress reported');
      const a = await fromHub.complete(req);
      const b = await fromDir.complete(req);
      assert.equal(a.completion, b.completion);
      assert.ok(a.completion.length > 0);
    } finally {
      await fromHub.dispose();
      await fromDir.dispose();
    }
  } finally {
    await env.done();
  }
});

test('the variant option picks the graph file of a Hub model', async () => {
  const env = await hubEnv();
  try {
    env.hub.addRepo('bytefill-test/variants', variantsRepoFiles());
    const e = await Engine.create({ models: ['bytefill-test/variants'], variant: 'int8', device: 'cpu', threads: 1 });
    try {
      assert.match(e.bundles[0].model.file, /onnx\/model_int8\.onnx$/);
      assert.deepEqual(env.hub.resolvedFiles().filter((f) => f.startsWith('onnx/')), ['onnx/model_int8.onnx']);
    } finally {
      await e.dispose();
    }
  } finally {
    await env.done();
  }
});

test('an engine with an offline Hub id that is not cached fails with the offline error', async () => {
  const env = await hubEnv();
  try {
    await assert.rejects(Engine.create({ models: ['bytefill-test/tiny-code-b'], offline: true, device: 'cpu' }), (e: Error & { code?: string }) => e.code === 'OFFLINE');
  } finally {
    await env.done();
  }
});
