// The status summary shows where the engine runs, its crashes and the KV cache use.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { formatStatus } from '../src/statusText';
import { StatusResult } from '../../language-server/src/index';

const base: StatusResult = {
  state: 'ready',
  error: null,
  errorCode: null,
  models: [{ name: 'tiny-code-b', dir: '/m/b', provider: 'cpu' }],
  configuredModels: [],
  device: 'cpu',
  ensemble: null,
  mode: 'byte',
  lastLatencyMs: 40,
  loadMs: 300,
  requests: { total: 1, completed: 1, cached: 0, cancelled: 0, empty: 0, errors: 0, notReady: 0 },
  cacheSize: 1,
  serverVersion: '0.1.0',
};

test('formatStatus: engine thread, restarts with the last crash, KV cache use per model', () => {
  const t = formatStatus({
    ...base,
    engine: {
      isolation: 'worker',
      workerId: 3,
      busy: false,
      cancelled: 0,
      restarts: 1,
      lastCrash: '2026-11-29T10:00:00.000Z engine worker exited with code 1',
      kvCache: [{ model: 'tiny-code-b', entries: 2, bytes: 3 * 2 ** 20, maxBytes: 256 * 2 ** 20, maxEntries: 16, bytesPerToken: 16384, chunkTokens: 256, prefills: 4, fullHits: 1, reusedTokens: 300, computedTokens: 100 }],
      memory: null,
    },
  });
  assert.match(t, /Engine: worker thread \(restarted 1×; last crash: .*exited with code 1\)/);
  assert.match(t, /KV cache: tiny-code-b 3\.0 MiB of 256 MiB, 16 KiB per token, 75% of prompt tokens reused/);
});

test('formatStatus: no engine section when the server does not report one', () => {
  assert.doesNotMatch(formatStatus(base), /Engine:/);
});
