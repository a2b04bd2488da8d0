// Test helper: starts the real server process and talks LSP to it over stdio.
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import {
  CancellationTokenSource,
  InitializeRequest,
  InitializeResult,
  InitializedNotification,
  InlineCompletionList,
  InlineCompletionRequest,
  InlineCompletionTriggerKind,
  ProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  createProtocolConnection,
  DidOpenTextDocumentNotification,
  DidChangeTextDocumentNotification,
  DidChangeConfigurationNotification,
  ShutdownRequest,
  ExitNotification,
  InlineCompletionItem,
} from 'vscode-languageserver-protocol/node';
import { ErrorNotification, LoadProgressNotification, LoadProgressParams, StatusRequest, StatusResult } from '../src/protocol';

export const REPO = path.resolve(__dirname, '..', '..', '..');

/** The bundled server if built (dist/server.js), else the tsc output. BYTEFILL_SERVER overrides. */
export function serverEntry(): string {
  if (process.env.BYTEFILL_SERVER) return path.resolve(process.env.BYTEFILL_SERVER);
  const dist = path.join(REPO, 'dist', 'server.js');
  const out = path.join(REPO, 'out', 'language-server', 'src', 'main.js');
  if (process.env.BYTEFILL_TEST_DIST === '1' && fs.existsSync(dist)) return dist;
  return out;
}

export interface Client {
  conn: ProtocolConnection;
  init: InitializeResult;
  proc: ChildProcess;
  logs: string[];
  progress: LoadProgressParams[];
  stderr: () => string;
  open(uri: string, languageId: string, text: string, version?: number): Promise<void>;
  change(uri: string, version: number, changes: { range?: Range; text: string }[]): Promise<void>;
  complete(uri: string, line: number, character: number, token?: CancellationTokenSource, invoked?: boolean): Promise<InlineCompletionItem[]>;
  status(): Promise<StatusResult>;
  waitState(states: string[], timeoutMs?: number): Promise<StatusResult>;
  configure(settings: unknown): Promise<void>;
  close(): Promise<void>;
}

interface Range {
  start: { line: number; character: number };
  end: { line: number; character: number };
}

/** `entry`: another server program (a test double's), else serverEntry(); `serverArgs` go after --stdio. */
export async function startClient(initializationOptions: unknown = {}, entry = serverEntry(), serverArgs: string[] = []): Promise<Client> {
  const proc = spawn(process.execPath, [entry, '--stdio', ...serverArgs], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const conn = createProtocolConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
  const logs: string[] = [];
  const progress: LoadProgressParams[] = [];
  conn.onNotification('window/logMessage', (p: { message: string }) => {
    logs.push(p.message);
  });
  conn.onNotification(LoadProgressNotification, (p) => {
    progress.push(p);
  });
  conn.onNotification(ErrorNotification, () => undefined);
  conn.listen();
  const init = await conn.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: null,
    capabilities: {},
    initializationOptions,
  });
  await conn.sendNotification(InitializedNotification.type, {});

  const client: Client = {
    conn,
    init,
    proc,
    logs,
    progress,
    stderr: () => err,
    async open(uri, languageId, text, version = 1) {
      await conn.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId, version, text } });
    },
    async change(uri, version, changes) {
      await conn.sendNotification(DidChangeTextDocumentNotification.type, {
        textDocument: { uri, version },
        contentChanges: changes.map((c) => (c.range ? { range: c.range, text: c.text } : { text: c.text })),
      });
    },
    async complete(uri, line, character, source, invoked = false) {
      const res = (await conn.sendRequest(
        InlineCompletionRequest.type,
        {
          textDocument: { uri },
          position: { line, character },
          context: { triggerKind: invoked ? InlineCompletionTriggerKind.Invoked : InlineCompletionTriggerKind.Automatic },
        },
        source?.token,
      )) as InlineCompletionList | InlineCompletionItem[] | null;
      if (!res) return [];
      return Array.isArray(res) ? res : res.items;
    },
    status: () => conn.sendRequest(StatusRequest),
    async waitState(states, timeoutMs = 60000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const s = await client.status();
        if (states.includes(s.state)) return s;
        if (Date.now() > end) throw new Error(`state ${s.state} (wanted ${states.join('|')}): ${s.error ?? ''}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async configure(settings) {
      await conn.sendNotification(DidChangeConfigurationNotification.type, { settings: { bytefill: settings } });
    },
    async close() {
      try {
        await Promise.race([conn.sendRequest(ShutdownRequest.type), new Promise((r) => setTimeout(r, 3000))]);
        await conn.sendNotification(ExitNotification.type);
      } catch {
        // already gone
      }
      conn.dispose();
      await new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        const t = setTimeout(() => {
          proc.kill('SIGKILL');
          resolve();
        }, 3000);
        proc.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
      });
    },
  };
  return client;
}

/** Whether the real engine can be created here (it is being written at the same time). */
export async function engineWorks(): Promise<boolean> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Engine } = require('../../engine/src/index') as typeof import('../../engine/src/index');
    const e = await Engine.create({});
    await e.dispose();
    return true;
  } catch {
    return false;
  }
}
