// Wires the LSP connection: documents (incremental sync + incremental tree-sitter edits),
// settings, the engine host, inline completions and the bytefill/* custom methods.
import { TextDocument } from 'vscode-languageserver-textdocument';
import {
  Connection,
  DidChangeConfigurationParams,
  ErrorCodes,
  InitializeParams,
  InitializeResult,
  ResponseError,
  TextDocumentContentChangeEvent,
  TextDocumentSyncKind,
  TextDocuments,
} from 'vscode-languageserver/node';
import { CompletionCache } from './cache';
import { completionSettingsChanged, normalizeConfig } from './config';
import { CompletionService } from './completion';
import { ContextFeed } from './contextFeed';
import { EngineHost, EngineFactory } from './engineHost';
import { engineErrorName, toResponseError } from './errors';
import { Logger, errorMessage } from './logger';
import { downloadSize, hubSettings, listCachedModels } from '../../engine/src/index';
import {
  CachedModelInfo,
  CachedModelsRequest,
  CancelDownloadRequest,
  DownloadSizeInfo,
  DownloadSizesRequest,
  DidAcceptNotification,
  WarmNotification,
  ErrorNotification,
  ErrorParams,
  LoadProgressNotification,
  LoadProgressParams,
  ReloadRequest,
  ReloadResult,
  ServerConfig,
  StatusRequest,
  StatusResult,
  TestInjectFaultRequest,
} from './protocol';
import { DocumentTrees, editFor } from './syntax/documentTrees';
import { Lifecycle } from './lifecycle';
import { checkDocumentPosition, checkNotInsideSurrogatePair, isRange } from './params';

export const SERVER_VERSION = '0.1.0';

export interface ServerOptions {
  /** For tests of the host logic only; the server normally uses Engine.create. */
  engineFactory?: EngineFactory;
}

/** Accepts `{bytefill: {...}}` (VS Code style sections) or the settings object itself. */
function section(raw: unknown): unknown {
  if (raw && typeof raw === 'object' && 'bytefill' in raw) return (raw as { bytefill: unknown }).bytefill;
  return raw;
}

export function startServer(connection: Connection, options: ServerOptions = {}): void {
  const log = new Logger(connection.console);
  let config: ServerConfig = normalizeConfig({}).config;

  const trees = new DocumentTrees((m) => log.warn(m));
  const documents = new TextDocuments<TextDocument>({
    create: (uri, languageId, version, content) => {
      trees.open(uri, languageId);
      return TextDocument.create(uri, languageId, version, content);
    },
    update: (doc, changes: TextDocumentContentChangeEvent[], version) => {
      // Apply changes one by one so each tree edit is computed against the text it applies to.
      for (const change of changes) {
        if ('range' in change && !isRange(change.range)) {
          // Offsets from 1.5 or null would corrupt the text; the client's copy may now differ
          // from ours until it reopens the document, which the log says.
          log.warn(`ignored a change to ${doc.uri} whose range is not made of integer positions; the document may be out of sync until reopened`);
          continue;
        }
        if ('range' in change) {
          contextFeed.changed(doc.uri, change.range.start.line);
          const start = doc.offsetAt(change.range.start);
          const end = doc.offsetAt(change.range.end);
          trees.edit(doc.uri, editFor(start, end, doc.positionAt(start), doc.positionAt(end), change.text));
        } else {
          trees.replaced(doc.uri);
        }
        doc = TextDocument.update(doc, [change], version);
      }
      return doc;
    },
  });
  documents.onDidClose((e) => {
    trees.close(e.document.uri);
    // Before forgetting the cache: a speculative job must not store into it afterwards.
    completions.speculator.documentClosed(e.document.uri);
    completions.warmer.documentClosed(e.document.uri);
    cache.forget(e.document.uri);
  });

  const cache = new CompletionCache(256);
  const notifyError = (p: ErrorParams): void => {
    void connection.sendNotification(ErrorNotification, p).catch(() => undefined);
  };
  const host = new EngineHost(
    log,
    (p: LoadProgressParams) => {
      void connection.sendNotification(LoadProgressNotification, p).catch(() => undefined);
      if (p.state === 'error') notifyError({ message: p.message, code: p.code, models: p.models });
    },
    options.engineFactory,
  );
  const completions = new CompletionService({
    host,
    trees,
    cache,
    log,
    config: () => config,
    context: (uri, languageId, fromLine, toLine) => contextFeed.forRequest(uri, languageId, fromLine, toLine),
  });
  const contextFeed = new ContextFeed(() => config, log);
  contextFeed.listen(connection, documents);

  const applyConfig = (raw: unknown, forceReload = false): Promise<void> => {
    const { config: next, warnings } = normalizeConfig(section(raw));
    for (const w of warnings) log.warn(w);
    // Cached completions were produced under the old settings (the table says which ones matter).
    const stale = completionSettingsChanged(config, next);
    config = next;
    log.level = next.logLevel;
    contextFeed.configure(next);
    if (stale || forceReload) cache.clear();
    if (forceReload) completions.abortAll();
    return host.configure(next, forceReload);
  };

  const lifecycle = new Lifecycle();
  let initOptions: unknown;
  connection.onInitialize((params: InitializeParams): InitializeResult => {
    lifecycle.phase = 'running';
    // Document notifications are handled from here on: before initialize they are dropped, as
    // the protocol asks (an unhandled notification is ignored).
    documents.listen(connection);
    initOptions = params.initializationOptions;
    const { config: c } = normalizeConfig(section(initOptions));
    config = c;
    log.level = c.logLevel;
    return {
      capabilities: {
        // Saves feed the context ring (the code around the last edit).
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental, save: { includeText: false } },
        inlineCompletionProvider: true,
      },
      serverInfo: { name: 'bytefill-language-server', version: SERVER_VERSION },
    };
  });

  connection.onInitialized(() => {
    log.info(`bytefill language server ${SERVER_VERSION} (node ${process.version}, pid ${process.pid})`);
    // Load in the background: requests before 'ready' get empty answers at once.
    void applyConfig(initOptions).catch((e) => log.error(`initial load failed: ${errorMessage(e)}`));
  });

  connection.onDidChangeConfiguration((params: DidChangeConfigurationParams) => {
    // `settings` null means "pull with workspace/configuration"; our client always pushes.
    if (params.settings == null) return;
    void applyConfig(params.settings).catch((e) => log.error(`settings change failed: ${errorMessage(e)}`));
  });

  connection.languages.inlineCompletion.on(lifecycle.gate('textDocument/inlineCompletion', async (params, token) => {
    // Wire data is untyped: positions must be integers and not split a character.
    const { uri, position } = checkDocumentPosition(params);
    const doc = documents.get(uri);
    if (!doc) return { items: [] };
    checkNotInsideSurrogatePair(doc, position);
    return completions.provide(doc, position, params.context?.triggerKind, token);
  }));

  connection.onRequest(StatusRequest, lifecycle.gate(StatusRequest.method, (): StatusResult => {
    const info = host.info;
    return {
      state: host.state,
      error: host.error,
      errorCode: host.state === 'error' ? engineErrorName(host.failure) : null,
      models: (info?.models ?? []).map((m) => ({
        name: m.name,
        dir: m.dir,
        provider: m.provider,
        vocabSize: m.vocabSize,
        fim: m.fim,
      })),
      configuredModels: config.models,
      device: info?.device ?? null,
      ensemble: info?.ensemble ?? null,
      mode: config.mode,
      lastLatencyMs: completions.lastLatencyMs,
      loadMs: host.loadMs,
      requests: { ...completions.counts },
      cacheSize: cache.size,
      serverVersion: SERVER_VERSION,
      stats: completions.stats.snapshot(completions.speculator.counts),
      lastRequest: completions.lastTimings,
      engine: host.engineStatus(),
      context: contextFeed.status(completions.lastContext),
      warm: { ...completions.warmer.status },
    };
  }));

  if (process.env.BYTEFILL_TEST_HOOKS === '1') {
    // Fault injection for crash-and-restart tests; never registered in normal runs.
    connection.onRequest(TestInjectFaultRequest, (p) => host.injectFault(p?.fault ?? 'throw'));
  }

  // Accept counting and stale speculation: see acceptance.ts and speculation.ts.
  documents.onDidChangeContent((e) => completions.documentChanged(e.document.uri, () => e.document.getText()));
  // Cursor jumps and opened files (warming.ts): never awaited, never throws at the client.
  connection.onNotification(WarmNotification, (p) => {
    const uri = p?.textDocument?.uri;
    const pos = p?.position;
    const okPos = pos && Number.isInteger(pos.line) && Number.isInteger(pos.character) && pos.line >= 0 && pos.character >= 0;
    if (typeof uri !== 'string' || !okPos) {
      log.warn(`bytefill/warm ignored: expected {textDocument: {uri}, position: {line, character}} with non-negative integers, got ${JSON.stringify(p).slice(0, 200)}`);
      return;
    }
    void completions.warm(documents.get(uri), pos);
  });
  connection.onNotification(DidAcceptNotification, (p) => {
    if (p && typeof p.id === 'number') completions.didAccept(p.id, typeof p.index === 'number' ? p.index : 0);
  });

  connection.onRequest(ReloadRequest, lifecycle.gate(ReloadRequest.method, async (params) => {
    // Optional new settings; otherwise reload with the current ones.
    const raw = section(params);
    const given = raw !== null && typeof raw === 'object' && Object.keys(raw).length > 0;
    await applyConfig(given ? raw : config, true);
    // A failed load is the request's failure: the client gets the engine's error code.
    if (host.state === 'error') throw toResponseError(host.failure, { message: host.error ?? undefined, models: config.models });
    const result: ReloadResult = { state: host.state, error: host.error };
    return result;
  }));

  // Any other request: not-initialized / shutting-down errors first, then MethodNotFound.
  connection.onRequest((method: string) => {
    lifecycle.check(method);
    throw new ResponseError(ErrorCodes.MethodNotFound, `unhandled method ${method}`);
  });

  connection.onRequest(CancelDownloadRequest, () => ({ cancelled: host.cancelDownload() }));

  connection.onRequest(CachedModelsRequest, (): CachedModelInfo[] =>
    listCachedModels(hubSettings().cacheDir).map((m) => ({ repo: m.repo, commit: m.commit, refs: m.refs, size: m.size, variants: m.variants })),
  );

  // Sizes for the model picker, from the Hub's listing (honours HF_ENDPOINT, HF_TOKEN, offline).
  connection.onRequest(DownloadSizesRequest, async (params): Promise<DownloadSizeInfo[]> => {
    const repos = Array.isArray(params?.repos) ? params.repos.filter((r): r is string => typeof r === 'string').slice(0, 32) : [];
    return Promise.all(
      repos.map(async (repo) => {
        try {
          const s = await downloadSize(repo, { variant: config.modelVariant, device: config.device, offline: config.offline });
          return { repo, variant: s.variant, bytes: s.bytes };
        } catch (e) {
          return { repo, error: errorMessage(e) };
        }
      }),
    );
  });

  connection.onShutdown(async () => {
    lifecycle.phase = 'shutdown';
    completions.abortAll();
    await host.dispose();
  });

  connection.listen();
}
