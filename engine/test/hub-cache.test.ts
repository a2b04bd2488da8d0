// The shared cache: a model another tool (Python's huggingface_hub) put there is found and used
// without a request; the cache listing reports sizes and complete variants.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listCachedModels, resolveModel } from '../src/hub';
import { variantsRepoFiles } from './hub-server';
import { hubEnv } from './hub-env';

/** Writes files the way huggingface_hub does: blobs named by etag, relative links, refs/main. */
function writePythonCache(cache: string, repo: string, commit: string, files: Record<string, Buffer>): string {
  const repoDir = path.join(cache, `models--${repo.replace('/', '--')}`);
  for (const [rel, data] of Object.entries(files)) {
    const etag = rel.includes('.onnx') ? createHash('sha256').update(data).digest('hex') : createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
    const blob = path.join(repoDir, 'blobs', etag);
    fs.mkdirSync(path.dirname(blob), { recursive: true });
    fs.writeFileSync(blob, data);
    const link = path.join(repoDir, 'snapshots', commit, rel);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(path.relative(path.dirname(link), blob), link);
  }
  fs.mkdirSync(path.join(repoDir, 'refs'), { recursive: true });
  fs.writeFileSync(path.join(repoDir, 'refs', 'main'), commit);
  return path.join(repoDir, 'snapshots', commit);
}

const COMMIT = 'a'.repeat(40);

function pick(files: Record<string, Buffer>, keys: string[]): Record<string, Buffer> {
  return Object.fromEntries(keys.map((k) => [k, files[k]]));
}

test("a model in huggingface_hub's cache layout is used with no request", async () => {
  const env = await hubEnv();
  try {
    const files = variantsRepoFiles();
    const dir = writePythonCache(env.cache, 'other-tool/model', COMMIT, pick(files, ['config.json', 'tokenizer.json', 'onnx/model_int8.onnx']));
    const r = await resolveModel('other-tool/model', { variant: 'auto', device: 'cpu' });
    assert.equal(r.dir, dir);
    assert.equal(r.onnx, 'onnx/model_int8.onnx');
    assert.equal(r.source, 'cache');
    assert.equal(env.hub.requests.length, 0);
  } finally {
    await env.done();
  }
});

test('a revision given as a commit hash is found in the cache without refs', async () => {
  const env = await hubEnv();
  try {
    const dir = writePythonCache(env.cache, 'other-tool/model', COMMIT, pick(variantsRepoFiles(), ['config.json', 'tokenizer.json', 'onnx/model.onnx']));
    const r = await resolveModel(`other-tool/model@${COMMIT}`, { offline: true });
    assert.equal(r.dir, dir);
    assert.equal(r.variant, 'fp32');
  } finally {
    await env.done();
  }
});

test('a cached variant missing an external-data shard is not complete: the download fetches the rest', async () => {
  const env = await hubEnv();
  try {
    const files = variantsRepoFiles();
    const commit = env.hub.addRepo('bytefill-test/variants', files);
    writePythonCache(env.cache, 'bytefill-test/variants', commit, pick(files, ['config.json', 'tokenizer.json', 'onnx/model_q4.onnx', 'onnx/model_q4.onnx_data']));
    // The listing (no shard _1) misses it; so does resolve, which asks the Hub for the missing pieces.
    const listed = await listCachedModels(env.cache);
    assert.deepEqual(listed[0].variants, []);
    const r = await resolveModel('bytefill-test/variants', { variant: 'q4', device: 'cpu' });
    assert.equal(r.source, 'hub');
    assert.deepEqual(env.hub.resolvedFiles().sort(), ['generation_config.json', 'onnx/model_q4.onnx_data_1', 'tokenizer_config.json']);
  } finally {
    await env.done();
  }
});

test('the cache listing names repos, refs, sizes and complete variants', async () => {
  const env = await hubEnv();
  try {
    const files = variantsRepoFiles();
    env.hub.addRepo('bytefill-test/variants', files);
    await resolveModel('bytefill-test/variants', { variant: 'q4', device: 'cpu' });
    await resolveModel('bytefill-test/variants', { variant: 'fp32', device: 'cpu' });
    const [m, ...rest] = await listCachedModels(env.cache);
    assert.equal(rest.length, 0);
    assert.equal(m.repo, 'bytefill-test/variants');
    assert.deepEqual(m.refs, ['main']);
    const q4 = ['onnx/model_q4.onnx', 'onnx/model_q4.onnx_data', 'onnx/model_q4.onnx_data_1'].reduce((n, f) => n + files[f].length, 0);
    const fp32 = files['onnx/model.onnx'].length + files['onnx/model.onnx_data'].length;
    assert.deepEqual(m.variants, [
      { variant: 'fp32', bytes: fp32 },
      { variant: 'q4', bytes: q4 },
    ]);
  } finally {
    await env.done();
  }
});
