// Protocol edge cases over a real stdio connection to the real server process: broken framing,
// positions that are not integers or split a character, prototype-named language ids, and the
// lifecycle (requests before initialize / after shutdown). After every case the server must still
// answer bytefill/status (bound: 5 s, generous for a loaded machine; the latencies are printed as
// diagnostics), and it must never crash.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  createProtocolConnection,
  DidOpenTextDocumentNotification,
  InitializeRequest,
  InlineCompletionRequest,
  ShutdownRequest,
  ExitNotification,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-languageserver-protocol/node';
import { Client, serverEntry, startClient } from './lspClient';
import { ErrorNotification, LoadProgressNotification, StatusRequest } from '../src/protocol';

const STATUS_BOUND_MS = 5000;
const CASE_BOUND_MS = 20_000;

async function within<T>(p: Promise<T>, what: string, ms = CASE_BOUND_MS): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, rej) => {
        t = setTimeout(() => rej(new Error(`${what}: no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(t);
  }
}

async function waitFor(cond: () => boolean, what: string, ms = CASE_BOUND_MS): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface RpcError {
  code: number;
  message: string;
}

async function rejectsWithCode(p: Promise<unknown>, code: number, re: RegExp, what: string): Promise<void> {
  try {
    await within(p, what);
  } catch (e) {
    const err = e as RpcError;
    assert.equal(err.code, code, `${what}: code ${err.code} ${err.message}`);
    assert.match(err.message, re, what);
    return;
  }
  assert.fail(`${what}: answered instead of an error`);
}

describe('protocol edge cases (real server over stdio)', () => {
  let c: Client;
  const latencies: Array<[string, number]> = [];

  /** The server answers bytefill/status within the bound; records how long it took. */
  async function statusAnswers(after: string): Promise<void> {
    const t = Date.now();
    const s = await within(c.status(), `status after ${after}`, STATUS_BOUND_MS);
    latencies.push([after, Date.now() - t]);
    assert.equal(typeof s.state, 'string');
    assert.equal(c.proc.exitCode, null, 'server still running');
  }
  const raw = (s: string | Buffer) => new Promise<void>((res, rej) => c.proc.stdin!.write(s, (e) => (e ? rej(e) : res())));
  const frame = (body: string) => `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

  /** Runs `send` while reading the server's stdout for the answer with `id` (raw frames bypass the client). */
  async function expectAnswer(id: number, what: string, send: () => Promise<void>): Promise<void> {
    let answered = false;
    const onData = (d: Buffer) => {
      if (d.toString().includes(`"id":${id}`)) answered = true;
    };
    c.proc.stdout!.on('data', onData);
    try {
      await send();
      await waitFor(() => answered, what);
    } finally {
      c.proc.stdout!.off('data', onData);
    }
  }

  before(async () => {
    c = await startClient({ bytefill: { debounceMs: 0, logLevel: 'info' } }, serverEntry(), ['--partial-message-timeout-ms', '1500']);
    await c.waitState(['ready', 'error'], 90_000);
  });
  after(async (t) => {
    for (const [what, ms] of latencies) (t as unknown as { diagnostic?: (s: string) => void }).diagnostic?.(`status after ${what}: ${ms} ms`);
    console.log(`status latencies (ms): ${JSON.stringify(latencies)}`);
    assert.doesNotMatch(c.stderr(), /uncaughtException|unhandledRejection/);
    await c.close();
  });

  describe('framing', () => {
    const cases: Array<[string, () => string | Buffer, RegExp]> = [
      ['missing Content-Length', () => 'Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{"jsonrpc":"2.0","method":"x/y"}', /a message header without Content-Length; skipped/],
      ['negative Content-Length', () => 'Content-Length: -5\r\n\r\n{"jsonrpc":"2.0","method":"x/y"}', /Content-Length '-5' is not a non-negative integer/],
      ['non-numeric Content-Length', () => 'Content-Length: 1e3\r\n\r\n{"jsonrpc":"2.0","method":"x/y"}', /Content-Length '1e3' is not a non-negative integer/],
      ['Content-Length over the limit', () => 'Content-Length: 99999999999\r\n\r\n{}', /Content-Length 99999999999 is over the limit/],
      ['Content-Length smaller than the body', () => 'Content-Length: 5\r\n\r\n{"jsonrpc":"2.0","method":"x/y"}', /5-byte message body is not a JSON object/],
      ['bytes that are not a header', () => 'hello there\r\n\r\n', /not a message header|header line without a name/],
      ['Content-Length larger than the body, then a real message', () => 'Content-Length: 4000\r\n\r\n{"jsonrpc":"2.0","method":"x/y"}', /Content-Length 4000 is larger than the body: a new message header came after 32 bytes/],
    ];
    for (const [name, bytes, re] of cases) {
      test(`${name}: logged by name, skipped, and the next request is answered`, async () => {
        const before = c.stderr().length;
        await raw(bytes());
        // The status request that follows is written right after the broken bytes.
        await statusAnswers(name);
        await waitFor(() => re.test(c.stderr().slice(before)), `log of ${name}`);
        assert.match(c.stderr().slice(before), /LSP framing error: /);
      });
    }

    test('Content-Length larger than the body and nothing after it: dropped after the partial-message timeout', async () => {
      const before = c.stderr().length;
      await raw('Content-Length: 4000\r\n\r\n{"jsonrpc":"2.0","method":"x/y"}');
      await waitFor(() => /incomplete message \(Content-Length 4000, 32 bytes received\), nothing more for 1500 ms; dropped/.test(c.stderr().slice(before)), 'timeout log');
      await statusAnswers('an incomplete message');
    });

    test('Content-Length larger than the body, and the next header split across two writes: still found', async () => {
      const body = JSON.stringify({ jsonrpc: '2.0', id: 987653, method: StatusRequest.method });
      const before = c.stderr().length;
      await expectAnswer(987653, 'answer to the message after the cut one', async () => {
        await raw('Content-Length: 4000\r\n\r\n{"jsonrpc":"2.0","method":"x/y"}Conte');
        await new Promise((r) => setTimeout(r, 100));
        await raw(`nt-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      });
      assert.match(c.stderr().slice(before), /Content-Length 4000 is larger than the body: a new message header came after 32 bytes/);
      await statusAnswers('a header split across writes after a cut message');
    });

    test('a frame split across writes is still read (the guard does not misfire on slow writers)', async () => {
      const body = JSON.stringify({ jsonrpc: '2.0', id: 987654, method: StatusRequest.method });
      const whole = frame(body);
      const before = c.stderr().length;
      await expectAnswer(987654, 'answer to the split frame', async () => {
        for (let i = 0; i < whole.length; i += 7) {
          await raw(whole.slice(i, i + 7));
          await new Promise((r) => setTimeout(r, 2));
        }
      });
      assert.doesNotMatch(c.stderr().slice(before), /LSP framing error/);
    });
  });

  describe('positions', () => {
    const URI = 'file:///work/edge.py';
    before(async () => {
      await c.open(URI, 'python', "s = '🙂'\nprint(s)\n");
    });
    const request = (position: unknown) =>
      c.conn.sendRequest(InlineCompletionRequest.type, { textDocument: { uri: URI }, position, context: { triggerKind: 1 } } as never);

    const bad: Array<[string, unknown, RegExp]> = [
      ['character 1.5', { line: 0, character: 1.5 }, /position\.character must be an integer in 0\.\.2147483647 \(got 1\.5\)/],
      ['character as a string', { line: 0, character: '3' }, /position\.character must be an integer .* \(got a string\)/],
      ['character null', { line: 0, character: null }, /position\.character must be an integer .* \(got null\)/],
      ['line -1', { line: -1, character: 0 }, /position\.line must be an integer .* \(got -1\)/],
      ['position missing', undefined, /position must be an object \(got missing\)/],
    ];
    for (const [name, pos, re] of bad) {
      test(`${name} -> InvalidParams naming the field`, async () => {
        await rejectsWithCode(request(pos), -32602, re, name);
        await statusAnswers(name);
      });
    }

    test('a cursor between the halves of a surrogate pair -> InvalidParams; either side of it is fine', async () => {
      // "s = '" is 5 UTF-16 units; the emoji takes units 5 and 6.
      await rejectsWithCode(request({ line: 0, character: 6 }), -32602, /falls between the two UTF-16 halves of one character; use character 5 or 7/, 'mid-pair');
      for (const ch of [5, 7]) {
        const r = (await within(request({ line: 0, character: ch }), `character ${ch}`)) as { items: Array<{ range?: { start: { character: number } } }> };
        assert.ok(Array.isArray(r.items));
        for (const it of r.items) assert.equal(it.range?.start.character, ch);
      }
      await statusAnswers('a mid-pair cursor');
    });
  });

  test('a didChange whose range is not integer positions is ignored with a warning, not applied', async () => {
    const uri = 'file:///work/change.py';
    await c.open(uri, 'python', 'abc\n');
    const before = c.logs.length;
    await c.conn.sendNotification('textDocument/didChange', {
      textDocument: { uri, version: 2 },
      contentChanges: [{ range: { start: { line: 0, character: 1.5 }, end: { line: 0, character: null } }, text: 'ZZZ' }],
    });
    await statusAnswers('a didChange with a broken range');
    await waitFor(() => c.logs.slice(before).some((l) => /ignored a change to file:\/\/\/work\/change\.py whose range is not made of integer positions/.test(l)), 'warning');
  });

  test('language ids named like Object.prototype members are plain names', async () => {
    const before = c.logs.length;
    for (const id of ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf']) {
      const uri = `file:///work/proto-${id}.txt`;
      await c.open(uri, id, 'def f(x):\n    return x\n');
      const items = await within(c.complete(uri, 1, 12, undefined, true), id);
      assert.ok(Array.isArray(items), id);
    }
    const logs = c.logs.slice(before).join('\n');
    assert.doesNotMatch(logs, /grammar for (toString|__proto__|constructor|hasOwnProperty|valueOf) failed/);
    assert.doesNotMatch(logs, /inline completion failed/);
    await statusAnswers('prototype-named language ids');
  });
});

describe('lifecycle (a fresh server process)', () => {
  test('requests before initialize get ServerNotInitialized; after shutdown InvalidRequest; exit ends the process with 0', async () => {
    const proc = spawn(process.execPath, [serverEntry(), '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const conn = createProtocolConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
    conn.onNotification('window/logMessage', () => undefined);
    conn.onNotification(LoadProgressNotification.method, () => undefined);
    conn.onNotification(ErrorNotification.method, () => undefined);
    conn.listen();
    try {
      // A document opened before initialize is dropped (the protocol says so): later, a request
      // at a mid-surrogate position in it finds no document instead of an InvalidParams error.
      await conn.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri: 'file:///early.py', languageId: 'python', version: 1, text: '🙂' } });
      await rejectsWithCode(conn.sendRequest(StatusRequest), -32002, /bytefill\/status: the server is not initialized/, 'status before init');
      await rejectsWithCode(
        conn.sendRequest(InlineCompletionRequest.type, { textDocument: { uri: 'file:///x' }, position: { line: 0, character: 0 }, context: { triggerKind: 1 } }),
        -32002,
        /not initialized/,
        'completion before init',
      );
      await rejectsWithCode(conn.sendRequest('custom/unknown'), -32002, /custom\/unknown: the server is not initialized/, 'unknown before init');

      await within(conn.sendRequest(InitializeRequest.type, { processId: process.pid, rootUri: null, capabilities: {}, initializationOptions: { bytefill: { enable: false } } }), 'initialize');
      const s = (await within(conn.sendRequest(StatusRequest), 'status after init')) as { state: string };
      assert.equal(typeof s.state, 'string');
      await rejectsWithCode(conn.sendRequest('custom/unknown'), -32601, /unhandled method custom\/unknown/, 'unknown after init');
      const early = (await within(
        conn.sendRequest(InlineCompletionRequest.type, { textDocument: { uri: 'file:///early.py' }, position: { line: 0, character: 1 }, context: { triggerKind: 1 } }),
        'request on the early document',
      )) as { items: unknown[] };
      assert.deepEqual(early.items, [], 'the document opened before initialize was not kept');

      await within(conn.sendRequest(ShutdownRequest.type), 'shutdown');
      await rejectsWithCode(conn.sendRequest(StatusRequest), -32600, /bytefill\/status: the server is shutting down/, 'status after shutdown');
      await rejectsWithCode(
        conn.sendRequest(InlineCompletionRequest.type, { textDocument: { uri: 'file:///x' }, position: { line: 0, character: 0 }, context: { triggerKind: 1 } }),
        -32600,
        /shutting down/,
        'completion after shutdown',
      );
      const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
      await conn.sendNotification(ExitNotification.type);
      assert.equal(await within(exited, 'exit'), 0);
    } finally {
      conn.dispose();
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
  });
});
