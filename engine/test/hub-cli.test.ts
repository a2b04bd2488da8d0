// The CLI's Hub commands as a user runs them: a real process against the test Hub.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot } from './helpers';
import { bundledRepoFiles, variantsRepoFiles } from './hub-server';
import { hubEnv } from './hub-env';

const CLI = path.join(repoRoot, 'out', 'engine', 'src', 'cli', 'main.js');

/** Runs the CLI asynchronously (the test Hub lives in this process). */
function run(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => p.kill(), 120_000);
    p.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

test('pull downloads the chosen variant and says why; models lists it with its size', async () => {
  const env = await hubEnv();
  try {
    const commit = env.hub.addRepo('bytefill-test/variants', variantsRepoFiles());
    const r = await run('pull', 'bytefill-test/variants', '--variant', 'auto', '--device', 'cpu', '--json');
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.variant, 'q4');
    assert.equal(j.commit, commit);
    assert.match(r.stderr, /auto picked q4 .* for the CPU/);
    const m = await run('models', '--json');
    assert.equal(m.status, 0, m.stderr);
    const listed = JSON.parse(m.stdout);
    assert.equal(listed.cacheDir, env.cache);
    assert.deepEqual(listed.models.map((x: { repo: string; variants: Array<{ variant: string }> }) => [x.repo, x.variants.map((v) => v.variant)]), [['bytefill-test/variants', ['q4']]]);
  } finally {
    await env.done();
  }
});

test('complete --model takes a Hub id', async () => {
  const env = await hubEnv();
  try {
    env.hub.addRepo('bytefill-test/tiny-code-b', bundledRepoFiles('tiny-code-b'));
    const r = await run('complete', '--file', path.join(repoRoot, 'examples', 'conti.py'), '--cursor', '98', '--json', '--max-tokens', '6', '--stop', '\\n', '--threads', '1', '--model', 'bytefill-test/tiny-code-b');
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.deepEqual(j.models, ['bytefill-test/tiny-code-b']);
    assert.ok(j.completion.startsWith('nue'), j.completion);
  } finally {
    await env.done();
  }
});

test('pull of a gated repo without a token is one line naming the repo and the file, exit 1', async () => {
  const env = await hubEnv();
  try {
    env.hub.addRepo('bytefill-test/gated', bundledRepoFiles('tiny-code-b'), { token: 'hf_secret' });
    const r = await run('pull', 'bytefill-test/gated');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^bytefill: config\.json of bytefill-test\/gated: the Hub answered 401/m);
    assert.ok(!/^\s+at /m.test(r.stderr));
  } finally {
    await env.done();
  }
});
