// Reading which external-data files an ONNX graph needs, checked against onnxruntime itself.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from '../src/model/ort';
import { externalDataOf } from '../src/hub/onnx-external';
import { externalDataGraph } from './hub-server';
import { modelDir } from './helpers';

test('the files a graph references are the ones onnxruntime reads to run it', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bytefill-ext-'));
  try {
    const { graph, data } = externalDataGraph(['model.onnx_data', 'model.onnx_data', 'weights.bin']);
    fs.writeFileSync(path.join(dir, 'model.onnx'), graph);
    for (const [f, b] of Object.entries(data)) fs.writeFileSync(path.join(dir, f), b);
    assert.deepEqual(externalDataOf(path.join(dir, 'model.onnx'))!.sort(), ['model.onnx_data', 'weights.bin']);
    const s = await ort.InferenceSession.create(path.join(dir, 'model.onnx'));
    const y = await s.run({ X: new ort.Tensor('float32', new Float32Array([0.5, 0.5]), [2]) });
    assert.deepEqual(Array.from(y.Y.data as Float32Array), [6.5, 60.5]);
    await s.release();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a graph with its weights inside references no external file', () => {
  assert.deepEqual(externalDataOf(path.join(modelDir('tiny-code-b'), 'onnx', 'model.onnx')), []);
});

test('a file that is not a protobuf is unreadable (null), not an empty list', () => {
  assert.equal(externalDataOf(path.join(modelDir('tiny-code-b'), 'config.json')), null);
});
