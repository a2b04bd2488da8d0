// Model specs and variant choice (pure functions).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chooseVariant, externalDataFiles, parseModelSpec } from '../src/hub';

test('specs: paths are folders, org/name[@rev] are Hub ids', () => {
  assert.deepEqual(parseModelSpec('onnx-community/Qwen2.5-Coder-1.5B'), { kind: 'hub', id: { repo: 'onnx-community/Qwen2.5-Coder-1.5B', revision: 'main' } });
  assert.deepEqual(parseModelSpec('org/name@v1.0'), { kind: 'hub', id: { repo: 'org/name', revision: 'v1.0' } });
  for (const s of ['/abs/model', './rel/model', '../up', 'C:\\models\\x', 'just-a-name', 'a/b/c']) assert.equal(parseModelSpec(s).kind, 'folder', s);
});

test('an existing folder shaped like a Hub id stays a folder', () => {
  const cwd = process.cwd();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bytefill-spec-'));
  try {
    process.chdir(tmp);
    assert.equal(parseModelSpec('org/name').kind, 'hub');
    fs.mkdirSync(path.join(tmp, 'org', 'name'), { recursive: true });
    assert.deepEqual(parseModelSpec('org/name'), { kind: 'folder', dir: 'org/name' });
  } finally {
    process.chdir(cwd);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('auto on the CPU prefers 4- then 8-bit graphs; on a GPU half precision', () => {
  const all = ['fp32', 'fp16', 'q4', 'q4f16', 'int8', 'uint8', 'quantized'] as const;
  assert.equal(chooseVariant('auto', [...all], false, 'r').variant, 'q4');
  assert.equal(chooseVariant('auto', ['fp32', 'fp16', 'quantized'], false, 'r').variant, 'quantized');
  assert.equal(chooseVariant('auto', ['fp32', 'fp16'], false, 'r').variant, 'fp32');
  assert.equal(chooseVariant('auto', [...all], true, 'r').variant, 'q4f16');
  assert.equal(chooseVariant('auto', ['fp32', 'fp16', 'q4'], true, 'r').variant, 'fp16');
});

test('the auto choice says what it picked and why', () => {
  const c = chooseVariant('auto', ['fp32', 'int8'], false, 'org/x on the Hub');
  assert.equal(c.file, 'onnx/model_int8.onnx');
  assert.match(c.reason, /^auto picked int8 .* for the CPU: first available of q4 > int8 > .*; org\/x on the Hub has fp32, int8$/);
});

test('an explicit variant maps to its file; fp32 is model.onnx', () => {
  assert.equal(chooseVariant('fp32', ['fp32'], true, 'r').file, 'onnx/model.onnx');
  assert.equal(chooseVariant('q4f16', ['q4f16'], false, 'r').file, 'onnx/model_q4f16.onnx');
});

test('external-data files named after a graph, in shard order', () => {
  const files = ['onnx/model.onnx', 'onnx/model.onnx_data', 'onnx/model_q4.onnx_data', 'onnx/model.onnx_data_10', 'onnx/model.onnx_data_2', 'onnx/model.onnx_data_1', 'onnx/model.onnx.data'];
  assert.deepEqual(externalDataFiles('onnx/model.onnx', files), ['onnx/model.onnx_data', 'onnx/model.onnx_data_1', 'onnx/model.onnx_data_2', 'onnx/model.onnx_data_10', 'onnx/model.onnx.data']);
});
