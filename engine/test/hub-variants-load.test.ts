// Every precision onnx-community publishes, served by the test Hub from a random-weight Qwen2-shape
// model (fixtures/random-model.ts) with external data: each downloads with only its own files and
// loads and completes in the engine.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine } from '../src/index';
import { buildRandomModel, smallQwen2, Variant } from './fixtures/random-model';
import { modelDir } from './helpers';
import { hubEnv, HubEnv } from './hub-env';

process.env.ORT_DISABLE_TELEMETRY = '1';

const ID = 'bytefill-test/random-qwen2';
const VARIANTS: Variant[] = ['fp32', 'fp16', 'q4', 'q4f16', 'int8', 'uint8', 'quantized'];
let root: string;
let env: HubEnv;
let files: Record<string, Buffer>;

function readTree(dir: string, prefix = ''): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) Object.assign(out, readTree(path.join(dir, e.name), rel));
    else out[rel] = fs.readFileSync(path.join(dir, e.name));
  }
  return out;
}

before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'bytefill-hub-random-'));
  const dir = path.join(root, 'model');
  buildRandomModel(dir, {
    ...smallQwen2(11),
    variants: VARIANTS,
    externalData: true,
    tokenizerJson: path.join(modelDir('tiny-code-b'), 'tokenizer.json'),
  });
  files = readTree(dir);
  env = await hubEnv();
  env.hub.addRepo(ID, files);
});
after(async () => {
  await env?.done();
  fs.rmSync(root, { recursive: true, force: true });
});

const graphOf = (v: Variant) => (v === 'fp32' ? 'onnx/model.onnx' : `onnx/model_${v}.onnx`);

for (const v of VARIANTS) {
  test(`${v}: downloads its graph and external data only, loads and completes`, async () => {
    const before = env.hub.requests.length;
    const e = await Engine.create({ models: [ID], variant: v, device: 'cpu', threads: 1 });
    try {
      assert.ok(e.bundles[0].model.file.endsWith(graphOf(v)), e.bundles[0].model.file);
      const fetched = env.hub.requests.slice(before).filter((q) => q.path.includes('/resolve/')).map((q) => q.path.replace(/^.*\/resolve\/[^/]+\//, ''));
      const onnx = fetched.filter((f) => f.startsWith('onnx/')).sort();
      const expected = Object.keys(files).filter((f) => f === graphOf(v) || f.startsWith(graphOf(v) + '_data')).sort();
      assert.ok(expected.length >= 2, `the fixture has external data for ${v}: ${expected.join(', ')}`);
      // A file whose content is already in the cache (same blob) is linked, not fetched again.
      assert.ok(onnx.every((f) => expected.includes(f)), `fetched ${onnx.join(', ')}`);
      assert.ok(onnx.includes(graphOf(v)));
      for (const f of expected) assert.deepEqual(fs.readFileSync(path.join(e.bundles[0].model.dir, f)), files[f], f);
      const r = await e.complete({ prefix: 'def add(a, b):\n    return a', suffix: '\n', maxTokens: 4, mode: 'byte' });
      assert.ok(r.generatedTokens > 0 || r.stopReason === 'eot', JSON.stringify(r));
    } finally {
      await e.dispose();
    }
  });
}

test('auto on the CPU picks q4 from the cache once it is there, with no request', async () => {
  const n = env.hub.requests.length;
  const e = await Engine.create({ models: [ID], variant: 'auto', device: 'cpu', threads: 1 });
  try {
    assert.ok(e.bundles[0].model.file.endsWith('onnx/model_q4.onnx'));
    assert.equal(env.hub.requests.length, n);
  } finally {
    await e.dispose();
  }
});
