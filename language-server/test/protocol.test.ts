// The custom protocol over a real stdio LSP connection: typed requests, and engine failures as
// ResponseErrors that carry the engine's error code.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import { ResponseError } from 'vscode-languageserver-protocol/node';
import { ENGINE_ERROR_CODES, EngineErrorData, EngineErrorName, ReloadRequest, StatusRequest, StatusResult } from '../src/protocol';
import { SERVER_VERSION } from '../src/server';
import { Client, startClient } from './lspClient';

const FAULTY = path.join(__dirname, 'fixtures', 'faultyEngineServer.js');
const NAMES = Object.keys(ENGINE_ERROR_CODES) as EngineErrorName[];

describe('engine failures over stdio (test double: an engine factory that throws each code)', () => {
  let c: Client;
  before(async () => {
    c = await startClient({ bytefill: { models: ['fault:MODEL_INVALID'], debounceMs: 0 } }, FAULTY);
  });
  after(async () => {
    await c?.close();
  });

  test('the typed status request round-trips the server state', async () => {
    const s: StatusResult = await c.waitState(['error'], 30000);
    const again = await c.conn.sendRequest(StatusRequest);
    assert.equal(again.state, 'error');
    assert.equal(again.errorCode, 'MODEL_INVALID');
    assert.deepEqual(again.configuredModels, ['fault:MODEL_INVALID']);
    assert.equal(again.serverVersion, SERVER_VERSION);
    assert.equal(typeof again.requests.total, 'number');
    assert.equal(s.errorCode, again.errorCode);
  });

  for (const name of NAMES) {
    test(`a reload that fails with ${name} answers a ResponseError with code ${ENGINE_ERROR_CODES[name]}`, async () => {
      const models = [`fault:${name}`];
      const err = await c.conn.sendRequest(ReloadRequest, { bytefill: { models, debounceMs: 0 } }).then(
        () => assert.fail('reload succeeded'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ResponseError, String(err));
      const r = err as ResponseError<EngineErrorData>;
      assert.equal(r.code, ENGINE_ERROR_CODES[name]);
      assert.deepEqual(r.data, { name, models });
      assert.match(r.message, new RegExp(`test fault ${name}`));
      assert.equal((await c.status()).errorCode, name);
    });
  }

  test('the error codes are distinct and outside the JSON-RPC reserved range', () => {
    const codes = NAMES.map((n) => ENGINE_ERROR_CODES[n]);
    assert.equal(new Set(codes).size, codes.length);
    for (const code of codes) assert.ok(code > -32000 || code < -32768, String(code));
  });
});
