import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine, BytefillError } from '../src/index';
import { modelDir } from './helpers';

let engineB: Engine;
let engineA: Engine;
before(async () => {
  engineB = await Engine.create({ threads: 1 });
  engineA = await Engine.create({ models: [modelDir('tiny-code-a')], threads: 1 });
});
after(async () => {
  await engineB.dispose();
  await engineA.dispose();
});

const CONTI = {
  prefix: 'def total(items):\n    result = 0\n    for item in items:\n        if item is None:\n            conti',
  suffix: '\n        result += item\n    return result\n',
};

test('default engine uses the bundled tiny-code-b with FIM', () => {
  const info = engineB.info();
  assert.equal(info.models[0].name, 'tiny-code-b');
  assert.match(info.models[0].fim ?? '', /PSM/);
});

test('byte mode completes a mid-identifier cursor: conti| -> nue', async () => {
  for (const e of [engineA, engineB]) {
    const r = await e.complete({ ...CONTI, mode: 'byte', maxTokens: 8, stop: ['\n'] });
    assert.ok(r.completion.startsWith('nue'), `${e.info().models[0].name}: ${JSON.stringify(r.completion)}`);
    assert.equal(r.mode, 'byte');
    assert.ok(r.promptTokens > 10);
  }
});

test('token mode is deterministic under greedy and reports its fields', async () => {
  const a = await engineB.complete({ ...CONTI, mode: 'token', maxTokens: 8 });
  const b = await engineB.complete({ ...CONTI, mode: 'token', maxTokens: 8 });
  assert.equal(a.completion, b.completion);
  assert.ok(a.generatedTokens <= 8);
  assert.ok(b.cachedTokens! > 0, 'second identical request reuses the prefix cache');
});

test('heal mode output never repeats the healed token text', async () => {
  const r = await engineB.complete({ prefix: 'import os\nimport sy', suffix: '\n', mode: 'heal', maxTokens: 6, stop: ['\n'] });
  assert.ok(!r.completion.startsWith('sy'), JSON.stringify(r.completion));
});

test('sampling is reproducible with a seed', async () => {
  const req = { ...CONTI, mode: 'byte' as const, maxTokens: 10, sampling: { temperature: 0.8, topP: 0.95, seed: 42 } };
  const a = await engineB.complete(req);
  const b = await engineB.complete(req);
  assert.equal(a.completion, b.completion);
});

test('special-token strings in the file are plain text and do not break completion', async () => {
  const r = await engineB.complete({ prefix: 's = "<|endoftext|><fim_middle>"\nprint(s', suffix: ')\n', mode: 'byte', maxTokens: 6 });
  assert.equal(typeof r.completion, 'string');
  assert.ok(r.promptTokens > 12, 'the special strings were encoded as several ordinary tokens');
});

test('cancellation stops generation between forwards', async () => {
  const ctrl = new AbortController();
  const p = engineB.complete({ prefix: 'def f(x):\n', suffix: '', mode: 'token', maxTokens: 400, signal: ctrl.signal });
  setTimeout(() => ctrl.abort(), 15);
  const r = await p.catch((e) => e);
  if (r instanceof BytefillError) assert.equal(r.code, 'ABORTED');
  else assert.equal(r.stopReason, 'aborted');
  // An already-cancelled request does not run at all.
  const pre = new AbortController();
  pre.abort();
  await assert.rejects(engineB.complete({ prefix: 'x', suffix: '', signal: pre.signal }), /cancelled/);
});

test('max time stops generation', async () => {
  const r = await engineB.complete({ prefix: 'def f(x):\n', suffix: '', mode: 'token', maxTokens: 500, maxTimeMs: 1 });
  assert.equal(r.stopReason, 'max_time');
});

test('an unknown mode is refused, naming it', async () => {
  await assert.rejects(engineB.complete({ prefix: 'x', suffix: '', mode: 'bogus' as never }), /unknown mode 'bogus'/);
});

test('a missing model folder is refused, naming the folder', async () => {
  await assert.rejects(Engine.create({ models: ['/nonexistent/model'] }), /Model folder not found: \/nonexistent\/model/);
});

test("a tokenizer.json from another model is refused with TOKENIZER_MISMATCH", async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bf-model-'));
  try {
    fs.cpSync(modelDir('tiny-code-b'), tmp, { recursive: true });
    fs.copyFileSync(path.join(modelDir('tiny-code-a'), 'tokenizer.json'), path.join(tmp, 'tokenizer.json'));
    await assert.rejects(Engine.create({ models: [tmp] }), (e: BytefillError) => e.code === 'TOKENIZER_MISMATCH' && /does not belong/.test(e.message));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test("device 'cuda' without the CUDA provider is refused with PROVIDER_UNAVAILABLE", async () => {
  await assert.rejects(Engine.create({ models: [modelDir('tiny-code-b')], device: 'cuda' }), (e: BytefillError) => e.code === 'PROVIDER_UNAVAILABLE');
});

test('a weight count other than the model count is refused, naming the model count', async () => {
  await assert.rejects(Engine.create({ models: [modelDir('tiny-code-a'), modelDir('tiny-code-b')], weights: [1] }), /2 models/);
});

test('middle bits per byte: byte equals token where no other cover exists (empty prefix)', async () => {
  const t = await engineB.middleBitsPerByte('', '\n', 'import os', 'token');
  const b = await engineB.middleBitsPerByte('', '\n', 'import os', 'byte');
  assert.ok(Math.abs(t - b) < 1e-6, `${t} vs ${b}`);
  const mid = await engineB.middleBitsPerByte(CONTI.prefix, CONTI.suffix, 'nue', 'byte');
  const midTok = await engineB.middleBitsPerByte(CONTI.prefix, CONTI.suffix, 'nue', 'token');
  assert.ok(mid > 0 && Number.isFinite(mid));
  assert.ok(mid < midTok, `byte-level conditioning makes 'nue' likelier (${mid} < ${midTok})`);
});
