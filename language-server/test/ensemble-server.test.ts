// The real server over stdio with two bundled models: the engine runs in the server's worker thread
// and each ensemble member in a worker thread of its own (nested), so this checks that the server's
// build starts and uses them.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import { Client, REPO, startClient } from './lspClient';

describe('language server over stdio with an ensemble of the two bundled models', () => {
  let c: Client;
  before(async () => {
    const models = ['tiny-code-a', 'tiny-code-b'].map((m) => path.join(REPO, 'models', m));
    c = await startClient({ bytefill: { models, debounceMs: 0 } });
    await c.waitState(['ready', 'error'], 120000);
  });
  after(async () => {
    await c?.close();
  });

  test('status is ready with both members', async () => {
    const s = await c.status();
    assert.equal(s.state, 'ready', s.error ?? '');
    assert.equal(s.models.length, 2);
  });

  test('a mid-token cursor gets a single-line completion from the ensemble', async () => {
    const uri = 'file:///work/ens.py';
    const text = 'items = [1, 2, 3]\nfor item in items:\n    if item > 1:\n        conti';
    await c.open(uri, 'python', text);
    const items = await c.complete(uri, 3, 13);
    assert.ok(items.length >= 1, 'at least one candidate');
    const insert = items[0].insertText as string;
    assert.ok(insert.length > 0 && !insert.includes('\n'), JSON.stringify(insert));
    assert.ok(!c.logs.some((l) => l.includes('worker thread stopped') || l.includes('worker thread failed')), 'no member worker failed');
  });
});
