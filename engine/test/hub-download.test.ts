// Downloading a Hub model into the shared cache, against a test Hub on 127.0.0.1.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { downloadSize, resolveModel } from '../src/hub';
import { bundledRepoFiles, externalDataGraph, variantsRepoFiles } from './hub-server';
import { hubEnv } from './hub-env';

const ID = 'bytefill-test/tiny-code-b';

test('fresh download: the snapshot holds the model files as links into blobs, refs/main names the commit', async () => {
  const env = await hubEnv();
  try {
    const commit = env.hub.addRepo(ID, bundledRepoFiles('tiny-code-b'));
    const r = await resolveModel(ID, { variant: 'auto', device: 'cpu' });
    const repoDir = path.join(env.cache, 'models--bytefill-test--tiny-code-b');
    assert.equal(r.source, 'hub');
    assert.equal(r.dir, path.join(repoDir, 'snapshots', commit));
    assert.equal(r.onnx, 'onnx/model.onnx');
    assert.equal(fs.readFileSync(path.join(repoDir, 'refs', 'main'), 'utf8'), commit);
    const link = path.join(r.dir, 'onnx', 'model.onnx');
    assert.ok(fs.lstatSync(link).isSymbolicLink());
    assert.ok(!path.isAbsolute(fs.readlinkSync(link)), 'relative link, as huggingface_hub writes them');
    assert.deepEqual(fs.readFileSync(link), bundledRepoFiles('tiny-code-b')['onnx/model.onnx']);
    assert.equal(r.downloadedBytes, env.hub.bytesServed());
    assert.deepEqual(fs.readdirSync(path.join(repoDir, 'blobs')).filter((f) => f.endsWith('.incomplete')), []);
  } finally {
    await env.done();
  }
});

test('a second resolve of the same model downloads 0 bytes and makes no request', async () => {
  const env = await hubEnv();
  try {
    env.hub.addRepo(ID, bundledRepoFiles('tiny-code-b'));
    const first = await resolveModel(ID, { device: 'cpu' });
    const n = env.hub.requests.length;
    const second = await resolveModel(ID, { device: 'cpu' });
    assert.equal(second.dir, first.dir);
    assert.equal(second.source, 'cache');
    assert.equal(second.downloadedBytes, 0);
    assert.equal(env.hub.requests.length, n);
  } finally {
    await env.done();
  }
});

test('refresh asks the Hub for the commit but fetches no file it already has', async () => {
  const env = await hubEnv();
  try {
    env.hub.addRepo(ID, bundledRepoFiles('tiny-code-b'));
    await resolveModel(ID, { device: 'cpu' });
    const before = env.hub.requests.length;
    const r = await resolveModel(ID, { device: 'cpu', refresh: true });
    const after = env.hub.requests.slice(before);
    assert.equal(r.downloadedBytes, 0);
    assert.ok(after.length > 0, 'the Hub was asked');
    assert.deepEqual(after.filter((q) => q.path.includes('/resolve/')), []);
  } finally {
    await env.done();
  }
});

test('only the chosen variant, its external data and the four model files are requested', async () => {
  const env = await hubEnv();
  try {
    env.hub.addRepo('bytefill-test/variants', variantsRepoFiles());
    const r = await resolveModel('bytefill-test/variants', { variant: 'auto', device: 'cpu' });
    assert.equal(r.variant, 'q4');
    assert.deepEqual(env.hub.resolvedFiles().sort(), [
      'config.json',
      'generation_config.json',
      'onnx/model_q4.onnx',
      'onnx/model_q4.onnx_data',
      'onnx/model_q4.onnx_data_1',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
  } finally {
    await env.done();
  }
});

test('progress reports bytes, total and speed, ending at the total', async () => {
  const env = await hubEnv();
  try {
    env.hub.addRepo(ID, bundledRepoFiles('tiny-code-b'));
    const seen: Array<{ bytes: number; total: number; bytesPerSecond: number; file: string }> = [];
    await resolveModel(ID, { device: 'cpu', onProgress: (p) => seen.push(p) });
    const total = Object.values(bundledRepoFiles('tiny-code-b')).slice(0, 3).reduce((n, b) => n + b.length, 0);
    assert.ok(seen.length >= 2);
    assert.ok(seen.every((p) => p.total === total));
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i].bytes >= seen[i - 1].bytes, 'bytes never go back');
    assert.equal(seen[seen.length - 1].bytes, total);
    assert.ok(seen[seen.length - 1].bytesPerSecond > 0);
    assert.ok(seen.some((p) => p.file === 'onnx/model.onnx'));
  } finally {
    await env.done();
  }
});

test('a connection dropped mid-file is resumed with a Range request from where it stopped', async () => {
  const env = await hubEnv();
  try {
    env.hub.addRepo(ID, bundledRepoFiles('tiny-code-b'));
    const size = bundledRepoFiles('tiny-code-b')['onnx/model.onnx'].length;
    env.hub.faults.drop = { file: 'onnx/model.onnx', after: 1_000_000, times: 1 };
    const r = await resolveModel(ID, { device: 'cpu' });
    const gets = env.hub.requests.filter((q) => q.path.endsWith('/onnx/model.onnx'));
    assert.equal(gets.length, 2);
    assert.equal(gets[0].range, undefined);
    // fetch drops chunks it had queued but not yet handed over when the connection dies, so the
    // resume starts at what reached the disk: at most the bytes the server sent.
    const from = Number(/^bytes=(\d+)-$/.exec(gets[1].range ?? '')?.[1]);
    assert.ok(from > 0 && from <= 1_000_000, `resumed from ${gets[1].range}`);
    assert.equal(gets[1].sent, size - from, 'the resume asks only for the rest');
    assert.deepEqual(fs.readFileSync(path.join(r.dir, 'onnx', 'model.onnx')), bundledRepoFiles('tiny-code-b')['onnx/model.onnx']);
  } finally {
    await env.done();
  }
});

test('a cancelled download keeps its partial file and the next run resumes it', async () => {
  const env = await hubEnv();
  try {
    env.hub.addRepo(ID, bundledRepoFiles('tiny-code-b'));
    const ac = new AbortController();
    const blobs = path.join(env.cache, 'models--bytefill-test--tiny-code-b', 'blobs');
    const partialSize = () => fs.readdirSync(blobs).filter((f) => f.endsWith('.incomplete')).map((f) => fs.statSync(path.join(blobs, f)).size)[0];
    // Cancel once the client has written everything the stalled server sent (the user presses Cancel).
    const cancelWhenWritten = () => (partialSize() === 3_000_000 ? ac.abort() : setTimeout(cancelWhenWritten, 10));
    env.hub.faults.stall = { file: 'onnx/model.onnx', after: 3_000_000, onStall: cancelWhenWritten };
    await assert.rejects(resolveModel(ID, { device: 'cpu', signal: ac.signal }), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ABORTED');
      assert.match(e.message, /onnx\/model\.onnx/);
      return true;
    });
    const partial = fs.readdirSync(blobs).filter((f) => f.endsWith('.incomplete'));
    assert.equal(partial.length, 1);
    assert.equal(fs.statSync(path.join(blobs, partial[0])).size, 3_000_000);
    env.hub.faults = {};
    const r = await resolveModel(ID, { device: 'cpu' });
    const last = env.hub.requests.filter((q) => q.path.endsWith('/onnx/model.onnx')).pop()!;
    assert.equal(last.range, 'bytes=3000000-');
    assert.deepEqual(fs.readFileSync(path.join(r.dir, 'onnx', 'model.onnx')), bundledRepoFiles('tiny-code-b')['onnx/model.onnx']);
  } finally {
    await env.done();
  }
});

test('a file that does not match the Hub checksum is deleted, named in the error and never enters the snapshot', async () => {
  const env = await hubEnv();
  try {
    env.hub.addRepo(ID, bundledRepoFiles('tiny-code-b'));
    env.hub.faults.corrupt = { file: 'onnx/model.onnx' };
    await assert.rejects(resolveModel(ID, { device: 'cpu' }), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'CHECKSUM_MISMATCH');
      assert.match(e.message, /onnx\/model\.onnx of bytefill-test\/tiny-code-b/);
      return true;
    });
    const repoDir = path.join(env.cache, 'models--bytefill-test--tiny-code-b');
    assert.ok(!fs.existsSync(path.join(repoDir, 'snapshots')), 'no snapshot entry for a model with a bad file');
    const blobs = fs.readdirSync(path.join(repoDir, 'blobs'));
    const sha = (await import('node:crypto')).createHash('sha256').update(bundledRepoFiles('tiny-code-b')['onnx/model.onnx']).digest('hex');
    assert.ok(!blobs.some((b) => b.startsWith(sha)), 'neither blob nor partial file kept');
  } finally {
    await env.done();
  }
});

test('external data the graph references under another name is downloaded too, unrelated files are not', async () => {
  const env = await hubEnv();
  try {
    const { graph, data } = externalDataGraph(['weights.bin']);
    const base = bundledRepoFiles('tiny-code-b');
    env.hub.addRepo('bytefill-test/extdata', {
      'config.json': base['config.json'],
      'tokenizer.json': base['tokenizer.json'],
      'onnx/model.onnx': graph,
      'onnx/weights.bin': data['weights.bin'],
      'onnx/unrelated.bin': Buffer.alloc(1000),
    });
    const r = await resolveModel('bytefill-test/extdata', { variant: 'fp32', device: 'cpu' });
    assert.deepEqual(env.hub.resolvedFiles().sort(), ['config.json', 'onnx/model.onnx', 'onnx/weights.bin', 'tokenizer.json']);
    assert.deepEqual(fs.readFileSync(path.join(r.dir, 'onnx', 'weights.bin')), data['weights.bin']);
  } finally {
    await env.done();
  }
});

test('the download size of the auto variant comes from the Hub listing, without fetching a file', async () => {
  const env = await hubEnv();
  try {
    const files = variantsRepoFiles();
    env.hub.addRepo('bytefill-test/variants', files);
    const s = await downloadSize('bytefill-test/variants', { variant: 'auto', device: 'cpu' });
    const want = ['config.json', 'tokenizer.json', 'generation_config.json', 'tokenizer_config.json', 'onnx/model_q4.onnx', 'onnx/model_q4.onnx_data', 'onnx/model_q4.onnx_data_1'];
    assert.deepEqual(s, { repo: 'bytefill-test/variants', variant: 'q4', bytes: want.reduce((n, f) => n + files[f].length, 0) });
    assert.deepEqual(env.hub.resolvedFiles(), []);
  } finally {
    await env.done();
  }
});

test('two resolves of the same model at once fetch each file once and both get the model', async () => {
  const env = await hubEnv();
  try {
    const files = bundledRepoFiles('tiny-code-b');
    env.hub.addRepo(ID, files);
    const [a, b] = await Promise.all([resolveModel(ID, { device: 'cpu' }), resolveModel(ID, { device: 'cpu' })]);
    assert.equal(a.dir, b.dir);
    assert.equal(env.hub.bytesServed('onnx/model.onnx'), files['onnx/model.onnx'].length);
    assert.equal(a.downloadedBytes + b.downloadedBytes, env.hub.bytesServed());
    const blobs = fs.readdirSync(path.join(env.cache, 'models--bytefill-test--tiny-code-b', 'blobs'));
    assert.deepEqual(blobs.filter((f) => f.endsWith('.lock') || f.endsWith('.incomplete')), []);
  } finally {
    await env.done();
  }
});

test('a lock left by a process that died is taken over', async () => {
  const env = await hubEnv();
  try {
    const files = bundledRepoFiles('tiny-code-b');
    env.hub.addRepo(ID, files);
    const sha = (await import('node:crypto')).createHash('sha256').update(files['onnx/model.onnx']).digest('hex');
    const blobs = path.join(env.cache, 'models--bytefill-test--tiny-code-b', 'blobs');
    fs.mkdirSync(blobs, { recursive: true });
    // A pid far above any pid_max: no such process.
    fs.writeFileSync(path.join(blobs, `${sha}.lock`), '2147483646');
    const r = await resolveModel(ID, { device: 'cpu' });
    assert.ok(fs.existsSync(path.join(r.dir, 'onnx', 'model.onnx')));
    assert.ok(!fs.existsSync(path.join(blobs, `${sha}.lock`)));
  } finally {
    await env.done();
  }
});

test('LFS files redirected to a CDN on another origin download and resume there, without the token', async () => {
  const env = await hubEnv();
  try {
    const files = bundledRepoFiles('tiny-code-b');
    env.hub.addRepo('bytefill-test/gated', files, { token: 'hf_testtoken' });
    env.hub.redirectLfs = true;
    env.hub.faults.drop = { file: 'onnx/model.onnx', after: 1_000_000, times: 1 };
    process.env.HF_TOKEN = 'hf_testtoken';
    const r = await resolveModel('bytefill-test/gated', { device: 'cpu' });
    assert.deepEqual(fs.readFileSync(path.join(r.dir, 'onnx', 'model.onnx')), files['onnx/model.onnx']);
    const cdn = env.hub.requests.filter((q) => q.path.startsWith('/cdn-lfs/'));
    assert.equal(cdn.length, 2);
    assert.equal(cdn[0].range, undefined);
    assert.match(cdn[1].range ?? '', /^bytes=\d+-$/, 'the resumed request reached the CDN with its Range');
    assert.ok(cdn.every((q) => q.auth === undefined), 'the token is not sent to another origin');
  } finally {
    await env.done();
  }
});
