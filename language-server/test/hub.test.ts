// Hub models through the real server: switching to a Hub id while typing, download progress,
// cancel, the cache listing and picker sizes, against a test Hub on 127.0.0.1.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CachedModelInfo, DownloadSizeInfo, LoadProgressParams } from '../src/protocol';
import { HubProcess } from './hubProcess';
import { Client, startClient } from './lspClient';

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('switching to a Hub model while typing', () => {
  const hub = new HubProcess();
  let home: string;
  let c: Client;
  const uri = 'file:///work/typing.py';
  const text = 'for item in items:\n    conti';

  before(async () => {
    await hub.start({ 'bytefill-test/tiny-code-b': 'bundled:tiny-code-b', 'bytefill-test/variants': 'variants' });
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'bytefill-ls-hf-'));
    // The server process inherits these.
    process.env.HF_ENDPOINT = hub.url;
    process.env.HF_HOME = home;
    process.env.HF_HUB_CACHE = path.join(home, 'hub');
    delete process.env.HF_TOKEN;
    delete process.env.HF_HUB_OFFLINE;
    c = await startClient({ bytefill: { debounceMs: 0 } });
    const s = await c.waitState(['ready', 'error'], 60_000);
    assert.equal(s.state, 'ready', s.error ?? '');
    await c.open(uri, 'python', text);
  });
  after(async () => {
    await c?.close();
    await hub.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  test('while the new model downloads, progress is reported and the previous model keeps completing', async () => {
    await hub.setFaults({ stall: { file: 'onnx/model.onnx', after: 2_000_000 } });
    c.progress.length = 0;
    await c.configure({ models: ['bytefill-test/tiny-code-b'], debounceMs: 0 });
    const p = await until('download progress', () => c.progress.find((x: LoadProgressParams) => x.download && x.download.bytes > 0));
    assert.equal(p.state, 'loading');
    assert.equal(p.download!.repo, 'bytefill-test/tiny-code-b');
    assert.ok(p.download!.total > p.download!.bytes);
    const items = await c.complete(uri, 1, 9, undefined, true);
    assert.equal(items.length, 1, 'the bundled model still answers');
    const s = await c.status();
    assert.equal(s.state, 'loading');
    assert.deepEqual(s.models.map((m) => m.name), ['tiny-code-b']);
  });

  test('cancel stops the download and keeps the previous model', async () => {
    const r = (await c.conn.sendRequest('bytefill/cancelDownload', {})) as { cancelled: boolean };
    assert.equal(r.cancelled, true);
    const s = await c.waitState(['ready'], 30_000);
    assert.deepEqual(s.models.map((m) => m.name), ['tiny-code-b']);
    assert.ok(c.progress.some((x) => x.state === 'ready' && /Download cancelled/.test(x.message)));
    assert.equal((await c.complete(uri, 1, 9, undefined, true)).length, 1);
  });

  test('a reload resumes the download and switches to the Hub model when it is ready', async () => {
    await hub.setFaults({});
    const blobs = path.join(home, 'hub', 'models--bytefill-test--tiny-code-b', 'blobs');
    const partial = fs.readdirSync(blobs).filter((f) => f.endsWith('.incomplete'));
    assert.equal(partial.length, 1, 'the cancelled download left its partial file');
    const kept = fs.statSync(path.join(blobs, partial[0])).size;
    assert.ok(kept > 0);
    const before = (await hub.requests()).length;
    await c.conn.sendRequest('bytefill/reload', {});
    const s = await c.waitState(['ready'], 60_000);
    assert.deepEqual(s.models.map((m) => m.name), ['bytefill-test/tiny-code-b'], s.error ?? '');
    const resumed = (await hub.requests()).slice(before).find((q) => q.path.endsWith('/onnx/model.onnx'));
    assert.equal(resumed?.range, `bytes=${kept}-`);
    assert.equal((await c.complete(uri, 1, 9, undefined, true)).length, 1);
  });

  test('bytefill/cachedModels lists the downloaded model with its complete variant', async () => {
    const list = (await c.conn.sendRequest('bytefill/cachedModels', {})) as CachedModelInfo[];
    assert.deepEqual(list.map((m) => [m.repo, m.variants.map((v) => v.variant)]), [['bytefill-test/tiny-code-b', ['fp32']]]);
  });

  test('bytefill/downloadSizes gives the auto variant and its size per Hub id, and an error line for unknown ones', async () => {
    const sizes = (await c.conn.sendRequest('bytefill/downloadSizes', { repos: ['bytefill-test/variants', 'bytefill-test/nope'] })) as DownloadSizeInfo[];
    assert.equal(sizes[0].variant, 'q4');
    assert.ok(sizes[0].bytes! > 0);
    assert.match(sizes[1].error ?? '', /bytefill-test\/nope: not found on the Hub \(404\)/);
  });
});
