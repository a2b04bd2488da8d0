// VS Code side of bytefill: starts the language server (IPC), shows its state, forwards
// settings and offers commands. Inline completions come from vscode-languageclient's
// standard LSP 3.18 inline completion feature (ghost text, Tab to accept).
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  State,
  TransportKind,
} from 'vscode-languageclient/node';
import type { CachedModelInfo, DidAcceptParams, DownloadSizeInfo, EngineErrorName, LoadProgressParams, ServerConfig } from '../../language-server/src/index';
import {
  CachedModelsRequest,
  CancelDownloadRequest,
  DidAcceptNotification,
  DownloadSizesRequest,
  engineErrorOf,
  ErrorNotification,
  LoadProgressNotification,
  ReloadRequest,
  StatusRequest,
  WarmNotification,
} from '../../language-server/src/index';
import { documentSelectorFor, needsClientRestart, readRawSettings, settingsToServerConfig } from './config';
import { RestartingErrorHandler } from './errorHandler';
import { presentEngineError } from './errorText';
import { StatusBar } from './statusBar';
import { buildPickItems, formatDownload, hubIdError, PickItem } from './modelPicker';
import { formatReport, formatStatus } from './statusText';
import { Snooze, formatRemaining } from './snooze';
import { MenuAction, statusMenuEntries, toggleLanguage } from './statusMenu';
import { ContextChunkNotification, DefinitionContext, copyWithContext, type Send } from './contextChunks';
import { JumpDetector, SelectionKind, WARM_DEBOUNCE_MS } from './cursorJumps';

let client: LanguageClient | undefined;
let output: vscode.LogOutputChannel;
let statusBar: StatusBar;
let current: ServerConfig;
/** A reload this client asked for is running: its failure comes back as the request's error, shown once there. */
let reloading = false;
const snooze = new Snooze();
let snoozeTimer: NodeJS.Timeout | undefined;
/** Context chunks for the server's context ring (definitions near the cursor, copies). */
const sendChunk: Send = (p) => {
  if (client?.state === State.Running) void client.sendNotification(ContextChunkNotification, p).catch(() => undefined);
};
const definitions = new DefinitionContext(sendChunk);
/** Read-only documents with the status report (no save prompt on close). */
const REPORT_SCHEME = 'bytefill-status';
let reportText = '';
const reportChanged = new vscode.EventEmitter<vscode.Uri>();
const jumps = new JumpDetector();
let warmTimer: NodeJS.Timeout | undefined;

/** After the cursor settles in `editor`: asks the server to warm its prompt cache there (bytefill/warm). */
function warmSoon(editor: vscode.TextEditor): void {
  clearTimeout(warmTimer);
  warmTimer = setTimeout(() => {
    const c = client;
    if (!c || c.state !== State.Running || !current.warmCache || !current.enable || snooze.active(Date.now())) return;
    if (editor.document.isClosed || vscode.window.activeTextEditor !== editor) return;
    if (vscode.languages.match(documentSelectorFor(current.languages), editor.document) === 0) return;
    const at = editor.selection.active;
    void c.sendNotification(WarmNotification, {
      textDocument: { uri: c.code2ProtocolConverter.asUri(editor.document.uri) },
      position: { line: at.line, character: at.character },
    }).catch(() => undefined);
  }, WARM_DEBOUNCE_MS);
}

const KINDS: Record<number, SelectionKind> = {
  [vscode.TextEditorSelectionChangeKind.Keyboard]: 'keyboard',
  [vscode.TextEditorSelectionChangeKind.Mouse]: 'mouse',
  [vscode.TextEditorSelectionChangeKind.Command]: 'command',
};

function currentConfig(): ServerConfig {
  const c = vscode.workspace.getConfiguration('bytefill');
  const { config, warnings } = settingsToServerConfig(readRawSettings((k) => c.get(k)), {
    workspaceFolder: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
  });
  for (const w of warnings) output.appendLine(`[settings] ${w}`);
  return config;
}

function createClient(context: vscode.ExtensionContext, config: ServerConfig): LanguageClient {
  const module = context.asAbsolutePath('dist/server.js');
  // The model runtime's telemetry off in the server process (the server sets it itself too).
  const env = { ...process.env, ORT_DISABLE_TELEMETRY: '1' };
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc, options: { env } },
    debug: { module, transport: TransportKind.ipc, options: { env, execArgv: ['--nolazy', '--inspect=6011'] } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: documentSelectorFor(config.languages),
    initializationOptions: { bytefill: config },
    outputChannel: output,
    errorHandler: new RestartingErrorHandler(5, 3 * 60 * 1000, () => statusBar.setState('error', 'server stopped')),
    middleware: {
      provideInlineCompletionItems: async (document, position, ctx, token, next) => {
        if (snooze.active(Date.now())) return [];
        const done = statusBar.beginGenerating();
        try {
          // Sent before the request, so the server has them for this completion (capped wait).
          if (current.context.enabled && current.context.definitions) await definitions.beforeCompletion(document, position);
          return await next(document, position, ctx, token);
        } finally {
          done();
        }
      },
    },
  };
  const c = new LanguageClient('bytefill', 'bytefill', serverOptions, clientOptions);
  c.onNotification(LoadProgressNotification, (p) => {
    const d = p.download ? formatDownload(p.download) : null;
    statusBar.setState(p.state, d ? `Downloading ${p.download!.repo}: ${d.message}` : p.message, d?.percent ?? null);
    downloads.update(p);
    if (p.state === 'error' && !reloading) void showEngineError(p.code ?? 'INTERNAL', p.message, p.models);
    // A model is ready: the editor already open is where the first request will come from.
    if (p.state === 'ready' && vscode.window.activeTextEditor) warmSoon(vscode.window.activeTextEditor);
  });
  c.onNotification(ErrorNotification, (p) => output.appendLine(`[server error]${p.code ? ` [${p.code}]` : ''} ${p.message}`));
  c.onDidChangeState((e) => {
    if (e.newState === State.Starting) statusBar.setState('loading', 'Starting server…');
  });
  return c;
}

/** One progress notification per model download, with bytes, total, speed and Cancel. */
class DownloadNotifier {
  private active: { report: (m: string, increment: number) => void; done: () => void; repo: string; percent: number } | null = null;

  update(p: LoadProgressParams): void {
    if (!p.download || p.state !== 'loading') {
      this.active?.done();
      this.active = null;
      return;
    }
    const { message, percent } = formatDownload(p.download);
    if (!this.active || this.active.repo !== p.download.repo) {
      this.active?.done();
      this.start(p.download.repo);
    }
    const a = this.active!;
    a.report(message, Math.max(0, percent - a.percent));
    a.percent = Math.max(a.percent, percent);
  }

  private start(repo: string): void {
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const entry = { report: (_m: string, _i: number) => undefined as void, done, repo, percent: 0 };
    this.active = entry;
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `bytefill: downloading ${repo}`, cancellable: true },
      (progress, token) => {
        entry.report = (message, increment) => progress.report({ message, increment });
        token.onCancellationRequested(() => {
          void client?.sendRequest(CancelDownloadRequest).catch(() => undefined);
          done();
        });
        return finished;
      },
    );
  }
}
const downloads = new DownloadNotifier();

async function chooseModel(): Promise<void> {
  if (!client || client.state !== State.Running) {
    void vscode.window.showWarningMessage('bytefill: the server is not running.');
    return;
  }
  const c = client;
  const qp = vscode.window.createQuickPick<vscode.QuickPickItem & { item?: PickItem }>();
  qp.title = 'bytefill: Choose Model';
  qp.placeholder = 'A code model from the Hugging Face Hub, one already downloaded, or a folder';
  qp.matchOnDetail = true;
  let sizes: DownloadSizeInfo[] | undefined;
  let cached: CachedModelInfo[] = [];
  const render = () => {
    qp.items = buildPickItems(sizes, cached, current.models).map((item) =>
      item.separator ? { label: item.label, kind: vscode.QuickPickItemKind.Separator } : { label: item.label, description: item.description, detail: item.detail, item },
    );
  };
  render();
  qp.busy = true;
  qp.show();
  const curatedIds = buildPickItems([], [], []).flatMap((i) => (i.action.kind === 'hub' ? [i.action.id] : []));
  // Sizes come from the Hub's file listing at pick time (through the server: HF_ENDPOINT, HF_TOKEN, offline).
  void Promise.all([
    c.sendRequest(CachedModelsRequest).then((r) => (cached = r)).catch(() => undefined).then(render),
    c.sendRequest(DownloadSizesRequest, { repos: curatedIds }).then((r) => (sizes = r)).catch((e) => (sizes = curatedIds.map((repo) => ({ repo, error: String(e) })))).then(render),
  ]).finally(() => (qp.busy = false));
  const picked = await new Promise<PickItem | undefined>((resolve) => {
    qp.onDidAccept(() => resolve(qp.selectedItems[0]?.item));
    qp.onDidHide(() => resolve(undefined));
  });
  qp.dispose();
  if (!picked) return;
  let models: string[] | undefined;
  if (picked.action.kind === 'hub') models = [picked.action.id];
  else if (picked.action.kind === 'enter') {
    const id = await vscode.window.showInputBox({ title: 'bytefill: Hub model id', placeHolder: 'onnx-community/Qwen2.5-Coder-1.5B', validateInput: hubIdError });
    if (id) models = [id.trim()];
  } else if (picked.action.kind === 'browse') {
    const dir = await vscode.window.showOpenDialog({ canSelectFiles: false, canSelectFolders: true, canSelectMany: false, openLabel: 'Use as bytefill model' });
    if (dir?.[0]) models = [dir[0].fsPath];
  }
  if (!models) return;
  // The previous model keeps serving until the new one is downloaded and loaded.
  await vscode.workspace.getConfiguration('bytefill').update('models', models, vscode.ConfigurationTarget.Global);
}

async function showEngineError(name: EngineErrorName, message: string, models?: string[]): Promise<void> {
  const { text, actions } = presentEngineError(name, message, models);
  const choice = await vscode.window.showErrorMessage(text, ...actions);
  if (choice === 'Choose model folder') await vscode.commands.executeCommand('bytefill.selectModelFolder');
  else if (choice === 'Choose Model…') await vscode.commands.executeCommand('bytefill.chooseModel');
  else if (choice === 'Use CPU') await vscode.workspace.getConfiguration('bytefill').update('device', 'cpu', vscode.ConfigurationTarget.Global);
  else if (choice === 'Show Logs') output.show(true);
}

async function startClient(context: vscode.ExtensionContext): Promise<void> {
  client = createClient(context, current);
  try {
    await client.start();
  } catch (e) {
    statusBar.setState('error', `server failed to start: ${e instanceof Error ? e.message : String(e)}`);
    output.appendLine(`[client] start failed: ${e instanceof Error ? e.stack : String(e)}`);
  }
}

function renderSnooze(): void {
  clearTimeout(snoozeTimer);
  const left = snooze.remaining(Date.now());
  statusBar.setSnoozed(left > 0 ? formatRemaining(left) : null);
  // Re-render each minute (and once when it ends).
  if (left > 0) snoozeTimer = setTimeout(renderSnooze, Math.min(left, 60_000));
}

async function setLanguageDisabled(languageId: string, disable: boolean): Promise<void> {
  const cfg = vscode.workspace.getConfiguration('bytefill');
  const next = toggleLanguage(cfg.get<string[]>('disabledLanguages') ?? [], languageId, disable);
  await cfg.update('disabledLanguages', next, vscode.ConfigurationTarget.Global);
}

async function showStatusMenu(): Promise<void> {
  const languageId = vscode.window.activeTextEditor?.document.languageId;
  const entries = statusMenuEntries({
    snoozed: snooze.active(Date.now()),
    languageId,
    languageDisabled: languageId ? current.disabledLanguages.includes(languageId) : false,
  });
  const picked = await vscode.window.showQuickPick(entries, { title: 'bytefill', placeHolder: statusBar.summary() });
  if (!picked) return;
  const act: Record<MenuAction, () => unknown> = {
    snooze5: () => snooze.snooze(5 * 60_000, Date.now()),
    snooze30: () => snooze.snooze(30 * 60_000, Date.now()),
    resume: () => snooze.resume(),
    disableLanguage: () => languageId && setLanguageDisabled(languageId, true),
    enableLanguage: () => languageId && setLanguageDisabled(languageId, false),
    chooseModel: () => vscode.commands.executeCommand('bytefill.chooseModel'),
    showStatus: () => vscode.commands.executeCommand('bytefill.showStatus'),
    showLogs: () => output.show(true),
  };
  await act[picked.action]();
  renderSnooze();
}

async function setEnabled(enabled: boolean): Promise<void> {
  await vscode.workspace.getConfiguration('bytefill').update('enable', enabled, vscode.ConfigurationTarget.Global);
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel('bytefill', { log: true });
  statusBar = new StatusBar();
  context.subscriptions.push(output, statusBar);
  current = currentConfig();

  context.subscriptions.push(
    reportChanged,
    vscode.workspace.registerTextDocumentContentProvider(REPORT_SCHEME, {
      onDidChange: reportChanged.event,
      provideTextDocumentContent: () => reportText,
    }),
    vscode.commands.registerCommand('bytefill.statusMenu', () => showStatusMenu()),
    // Bound to the copy keys while the context is on (desktop only: in a browser the clipboard
    // needs the key press's own user gesture): copies as usual, then feeds the context ring.
    vscode.commands.registerCommand('bytefill.copy', () => copyWithContext(sendChunk)),
    // Run by VS Code when an inline item is accepted (the server puts it on every item).
    // (Literal for the manifest check; equals ACCEPT_COMMAND.)
    vscode.commands.registerCommand('bytefill.didAccept', (args: unknown) => {
      if (client?.state === State.Running && args && typeof args === 'object') void client.sendNotification(DidAcceptNotification, args as DidAcceptParams);
    }),
    { dispose: () => clearTimeout(snoozeTimer) },
    // Cursor jumps and shown editors warm the server's prompt cache (cursorJumps.ts).
    { dispose: () => clearTimeout(warmTimer) },
    vscode.window.onDidChangeTextEditorSelection((e) => {
      const doc = e.textEditor.document;
      const kind = e.kind === undefined ? 'other' : KINDS[e.kind] ?? 'other';
      if (jumps.selectionChanged(doc.uri.toString(), e.selections[0].active.line, doc.version, kind)) warmSoon(e.textEditor);
    }),
    vscode.window.onDidChangeActiveTextEditor((ed) => {
      if (ed && jumps.editorShown(ed.document.uri.toString(), ed.selection.active.line, ed.document.version)) warmSoon(ed);
    }),
    vscode.commands.registerCommand('bytefill.enable', () => setEnabled(true)),
    vscode.commands.registerCommand('bytefill.disable', () => setEnabled(false)),
    vscode.commands.registerCommand('bytefill.showLogs', () => output.show(true)),
    vscode.commands.registerCommand('bytefill.chooseModel', () => chooseModel()),
    vscode.commands.registerCommand('bytefill.cancelDownload', () => client?.sendRequest(CancelDownloadRequest)),
    vscode.commands.registerCommand('bytefill.triggerCompletion', () =>
      vscode.commands.executeCommand('editor.action.inlineSuggest.trigger'),
    ),
    vscode.commands.registerCommand('bytefill.selectModelFolder', async () => {
      const picked = await vscode.window.showOpenDialog({
        canSelectFiles: false,
        canSelectFolders: true,
        canSelectMany: true,
        openLabel: 'Use as bytefill model(s)',
        title: 'Choose model folder(s): config.json, tokenizer.json, onnx/model.onnx',
      });
      if (!picked || picked.length === 0) return;
      const folders = picked.map((u) => u.fsPath);
      await vscode.workspace.getConfiguration('bytefill').update('models', folders, vscode.ConfigurationTarget.Global);
      void vscode.window.showInformationMessage(`bytefill: loading ${folders.join(', ')}`);
    }),
    vscode.commands.registerCommand('bytefill.showStatus', async () => {
      if (!client || client.state !== State.Running) {
        void vscode.window.showWarningMessage('bytefill: the server is not running.', 'Show Logs').then((c) => {
          if (c) output.show(true);
        });
        return;
      }
      try {
        const s = await client.sendRequest(StatusRequest);
        output.appendLine(`[status] ${JSON.stringify(s, null, 2)}`);
        reportText = formatReport(s);
        const uri = vscode.Uri.parse(`${REPORT_SCHEME}:bytefill%20status`);
        reportChanged.fire(uri);
        await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preview: true });
        const choice = await vscode.window.showInformationMessage(formatStatus(s), 'Show Logs', 'Reload Model');
        if (choice === 'Show Logs') output.show(true);
        else if (choice === 'Reload Model') {
          reloading = true;
          try {
            await client.sendRequest(ReloadRequest, { bytefill: current });
          } finally {
            reloading = false;
          }
        }
      } catch (e) {
        // A failed reload carries the engine's error code; anything else is INTERNAL.
        const err = engineErrorOf(e);
        void showEngineError(err.name, err.message, err.models);
      }
    }),
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (!e.affectsConfiguration('bytefill')) return;
      const before = current;
      current = currentConfig();
      if (needsClientRestart(before, current)) {
        // The document selector is fixed when the client starts.
        await client?.stop().catch(() => undefined);
        await startClient(context);
        return;
      }
      // Push the new settings; the server reloads the engine only if model settings changed.
      if (client?.state === State.Running) {
        await client.sendNotification(DidChangeConfigurationNotification.type, { settings: { bytefill: current } });
      }
    }),
  );

  await startClient(context);
}

export async function deactivate(): Promise<void> {
  const c = client;
  client = undefined;
  if (c) await c.stop(3000).catch(() => undefined);
}
