// Hub failures a user meets: unknown repo or file, gated repo, no network, no disk space.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { assertFreeSpace, resolveModel } from '../src/hub';
import { bundledRepoFiles } from './hub-server';
import { hubEnv } from './hub-env';

type Coded = Error & { code?: string };

test('an unknown repo is a one-line 404 error naming the repo', async () => {
  const env = await hubEnv();
  try {
    await assert.rejects(resolveModel('bytefill-test/missing', { device: 'cpu' }), (e: Coded) => {
      assert.equal(e.code, 'HUB_NOT_FOUND');
      assert.match(e.message, /^bytefill-test\/missing: not found on the Hub \(404\)/);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
  } finally {
    await env.done();
  }
});

test('an unknown revision is a 404 error naming the repo and the revision', async () => {
  const env = await hubEnv();
  try {
    env.hub.addRepo('bytefill-test/tiny-code-b', bundledRepoFiles('tiny-code-b'));
    await assert.rejects(resolveModel('bytefill-test/tiny-code-b@v9', { device: 'cpu' }), /bytefill-test\/tiny-code-b@v9: not found on the Hub \(404\)/);
  } finally {
    await env.done();
  }
});

test('a variant the repo does not publish is named with the variants it has', async () => {
  const env = await hubEnv();
  try {
    env.hub.addRepo('bytefill-test/tiny-code-b', bundledRepoFiles('tiny-code-b'));
    await assert.rejects(resolveModel('bytefill-test/tiny-code-b', { variant: 'q4f16', device: 'cpu' }), /has no q4f16 variant \(onnx\/model_q4f16\.onnx\); variants there: fp32/);
  } finally {
    await env.done();
  }
});

test('a gated repo without a token is a 401 error naming the repo and the file', async () => {
  const env = await hubEnv();
  try {
    env.hub.addRepo('bytefill-test/gated', bundledRepoFiles('tiny-code-b'), { token: 'hf_testtoken' });
    await assert.rejects(resolveModel('bytefill-test/gated', { device: 'cpu' }), (e: Coded) => {
      assert.equal(e.code, 'HUB_UNAUTHORIZED');
      assert.match(e.message, /^config\.json of bytefill-test\/gated: .*401.*HF_TOKEN/);
      return true;
    });
  } finally {
    await env.done();
  }
});

test('a gated repo with a token that lacks access is a 403 error', async () => {
  const env = await hubEnv();
  try {
    env.hub.addRepo('bytefill-test/gated', bundledRepoFiles('tiny-code-b'), { token: 'hf_testtoken' });
    process.env.HF_TOKEN = 'hf_othertoken';
    await assert.rejects(resolveModel('bytefill-test/gated', { device: 'cpu' }), (e: Coded) => e.code === 'HUB_FORBIDDEN' && /bytefill-test\/gated/.test(e.message));
  } finally {
    await env.done();
  }
});

test('a gated repo downloads with HF_TOKEN, sent on every request', async () => {
  const env = await hubEnv();
  try {
    env.hub.addRepo('bytefill-test/gated', bundledRepoFiles('tiny-code-b'), { token: 'hf_testtoken' });
    process.env.HF_TOKEN = 'hf_testtoken';
    const r = await resolveModel('bytefill-test/gated', { device: 'cpu' });
    assert.ok(fs.existsSync(path.join(r.dir, 'onnx', 'model.onnx')));
    assert.ok(env.hub.requests.every((q) => q.auth === 'Bearer hf_testtoken'));
  } finally {
    await env.done();
  }
});

test('offline without a cached copy is a clear error and makes no request', async () => {
  const env = await hubEnv();
  try {
    env.hub.addRepo('bytefill-test/tiny-code-b', bundledRepoFiles('tiny-code-b'));
    await assert.rejects(resolveModel('bytefill-test/tiny-code-b', { device: 'cpu', offline: true }), (e: Coded) => {
      assert.equal(e.code, 'OFFLINE');
      assert.match(e.message, /bytefill-test\/tiny-code-b is not in the Hugging Face cache \(.*\).*offline/);
      return true;
    });
    assert.equal(env.hub.requests.length, 0);
  } finally {
    await env.done();
  }
});

test('HF_HUB_OFFLINE=1 uses the cached copy even when a refresh is asked for, with no request', async () => {
  const env = await hubEnv();
  try {
    env.hub.addRepo('bytefill-test/tiny-code-b', bundledRepoFiles('tiny-code-b'));
    const first = await resolveModel('bytefill-test/tiny-code-b', { device: 'cpu' });
    const n = env.hub.requests.length;
    process.env.HF_HUB_OFFLINE = '1';
    const r = await resolveModel('bytefill-test/tiny-code-b', { device: 'cpu', refresh: true });
    assert.equal(r.dir, first.dir);
    assert.equal(env.hub.requests.length, n);
  } finally {
    await env.done();
  }
});

test('an unreachable Hub is a one-line error naming the endpoint and the repo', async () => {
  const env = await hubEnv();
  const url = env.hub.url;
  await env.hub.close();
  try {
    await assert.rejects(resolveModel('bytefill-test/tiny-code-b', { device: 'cpu', endpoint: url }), (e: Coded) => {
      assert.equal(e.code, 'DOWNLOAD_FAILED');
      assert.ok(e.message.includes(`cannot reach the Hub at ${url} for bytefill-test/tiny-code-b`), e.message);
      return true;
    });
  } finally {
    await env.done();
  }
});

test('a download larger than the free disk space is refused before it starts, naming sizes and folder', async () => {

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bytefill-space-'));
  try {
    assert.throws(() => assertFreeSpace(path.join(dir, 'not', 'yet'), 2 ** 62, 'org/huge (fp32)'), (e: Coded) => {
      assert.equal(e.code, 'NO_SPACE');
      assert.ok(e.message.startsWith('not enough disk space for org/huge (fp32): '), e.message);
      assert.ok(e.message.endsWith(`free in ${dir}`), e.message);
      return true;
    });
    assert.doesNotThrow(() => assertFreeSpace(dir, 1, 'org/small'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a token that is not a Hub token is named as such, not as a network failure', async () => {
  const env = await hubEnv();
  try {
    env.hub.addRepo('bytefill-test/tiny-code-b', bundledRepoFiles('tiny-code-b'));
    process.env.HF_TOKEN = 'not-a-token';
    await assert.rejects(resolveModel('bytefill-test/tiny-code-b', { device: 'cpu' }), /HF_TOKEN .* must start with hf_/);
    assert.equal(env.hub.requests.length, 0);
  } finally {
    await env.done();
  }
});
