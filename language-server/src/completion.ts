// One inline-completion request, end to end: cache, debounce, cancellation, context,
// single/multi-line decision, engine call, post-processing.
import type { TextDocument } from 'vscode-languageserver-textdocument';
import {
  CancellationToken,
  InlineCompletionItem,
  InlineCompletionList,
  InlineCompletionTriggerKind,
  Position,
} from 'vscode-languageserver/node';
import { CompletionCache } from './cache';
import { languageEnabled } from './config';
import { OpenDoc, contextWindow, extraSnippets, looksBinary } from './context';
import { sleep } from './debounce';
import { EngineHost } from './engineHost';
import { Logger, errorMessage } from './logger';
import { postprocess } from './postprocess';
import { lineAfterCursor, lineBeforeCursor } from './postprocess/types';
import { RequestCounts, ServerConfig } from './protocol';
import { DocumentTrees } from './syntax/documentTrees';
import { SyntaxFacts, decideMultiline, syntaxFacts } from './syntax/multiline';

export interface CompletionDeps {
  host: EngineHost;
  trees: DocumentTrees;
  cache: CompletionCache;
  log: Logger;
  config: () => ServerConfig;
  openDocs: () => OpenDoc[];
}

const EMPTY: InlineCompletionList = { items: [] };
/** Single-line completions need few tokens; cap them to keep latency low. */
const SINGLE_LINE_MAX_TOKENS = 48;

export function newCounts(): RequestCounts {
  return { total: 0, completed: 0, cached: 0, cancelled: 0, empty: 0, errors: 0, notReady: 0 };
}

export class CompletionService {
  readonly counts = newCounts();
  lastLatencyMs: number | null = null;
  /** Requests in flight, by document; a newer request for any document supersedes them all
   *  (the engine runs one generation at a time, so stale work only delays the latest). */
  private inflight: AbortController | null = null;
  private seq = 0;

  constructor(private readonly deps: CompletionDeps) {}

  async provide(
    doc: TextDocument,
    position: Position,
    triggerKind: InlineCompletionTriggerKind | undefined,
    token: CancellationToken,
  ): Promise<InlineCompletionList> {
    const { host, cache, log } = this.deps;
    const config = this.deps.config();
    const id = ++this.seq;
    this.counts.total++;
    if (!config.enable || !languageEnabled(config, doc.languageId)) return EMPTY;

    this.inflight?.abort();
    const ac = new AbortController();
    this.inflight = ac;
    const sub = token.onCancellationRequested(() => ac.abort());
    // A $/cancelRequest processed before this handler ran leaves the token already cancelled,
    // and listeners added afterwards are not called.
    if (token.isCancellationRequested) ac.abort();
    const started = Date.now();
    try {
      // Capture the text now: later didChange notifications mutate the document.
      const text = doc.getText();
      const offset = doc.offsetAt(position);
      const pos = doc.positionAt(offset);
      const version = doc.version;

      const hit = cache.lookup({ uri: doc.uri, text, offset });
      if (hit) {
        this.counts.cached++;
        log.debug(`#${id} cache hit (typed ${hit.typed})`);
        return hit.completion.length > 0 ? list(hit.completion, pos) : EMPTY;
      }

      const engine = host.ready;
      if (!engine) {
        this.counts.notReady++;
        return EMPTY;
      }

      const explicit = triggerKind === InlineCompletionTriggerKind.Invoked;
      if (!explicit && !(await sleep(config.debounceMs, ac.signal))) return this.cancelled(id);

      // Edited during the debounce: this request is stale (the client asks again).
      if (doc.version !== version) return this.cancelled(id);

      const win = contextWindow(text, offset, config.prefixChars, config.suffixChars);
      if (looksBinary(win.prefix.slice(-2000)) || looksBinary(win.suffix.slice(0, 500))) {
        log.debug(`#${id} binary content near the cursor: no completion`);
        this.counts.empty++;
        return EMPTY;
      }

      const multiline = await this.multiline(doc, version, text, offset, win.prefix, win.suffix);
      if (ac.signal.aborted || doc.version !== version) return this.cancelled(id);

      const snippets = config.extraContext
        ? extraSnippets({ uri: doc.uri, languageId: doc.languageId, prefix: win.prefix }, this.deps.openDocs())
        : undefined;

      let raw: string;
      try {
        const res = await engine.complete({
          prefix: win.prefix,
          suffix: win.suffix,
          snippets,
          mode: config.mode,
          maxTokens: multiline ? config.maxTokens : Math.min(config.maxTokens, SINGLE_LINE_MAX_TOKENS),
          maxTimeMs: config.maxTimeMs,
          stop: multiline ? undefined : ['\n'],
          uscd: config.uscd.enabled ? { ...config.uscd } : undefined,
          signal: ac.signal,
        });
        if (res.stopReason === 'aborted' || ac.signal.aborted) return this.cancelled(id);
        raw = res.completion;
        this.lastLatencyMs = Date.now() - started;
        log.debug(
          `#${id} ${res.mode} ${multiline ? 'multi' : 'single'}-line: ${res.generatedTokens} tokens in ${res.ms} ms ` +
            `(${res.stopReason}) ${JSON.stringify(raw.slice(0, 80))}`,
        );
      } catch (e) {
        if (ac.signal.aborted || (e as { code?: string }).code === 'ABORTED') return this.cancelled(id);
        this.counts.errors++;
        log.error(`#${id} completion failed: ${errorMessage(e)}`);
        return EMPTY;
      }

      const out = postprocess(raw, { languageId: doc.languageId, prefix: win.prefix, suffix: win.suffix, multiline });
      if (out === null) {
        this.counts.empty++;
        return EMPTY;
      }
      cache.store(doc.uri, text, offset, out, multiline);
      this.counts.completed++;
      return list(out, pos);
    } catch (e) {
      this.counts.errors++;
      log.error(`#${id} inline completion failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      return EMPTY;
    } finally {
      sub.dispose();
      if (this.inflight === ac) this.inflight = null;
    }
  }

  private cancelled(id: number): InlineCompletionList {
    this.counts.cancelled++;
    this.deps.log.debug(`#${id} cancelled`);
    return EMPTY;
  }

  private async multiline(
    doc: TextDocument,
    version: number,
    text: string, offset: number, prefix: string, suffix: string): Promise<boolean> {
    let facts: SyntaxFacts | null = null;
    try {
      const tree = await this.deps.trees.tree(doc.uri, () => doc.getText());
      if (doc.version !== version) return false;
      if (tree) facts = syntaxFacts(tree, text, offset, doc.languageId);
      this.deps.log.debug(`syntax ${doc.languageId}: ${facts ? JSON.stringify(facts) : 'no tree (heuristics)'}`);
    } catch (e) {
      this.deps.log.warn(`tree-sitter failed on ${doc.uri}: ${errorMessage(e)}`);
    }
    return decideMultiline(lineBeforeCursor(prefix), lineAfterCursor(suffix), doc.languageId, facts);
  }

  /** Aborts whatever is running (shutdown, reload). */
  abortAll(): void {
    this.inflight?.abort();
  }
}

function list(insertText: string, pos: Position): InlineCompletionList {
  const item: InlineCompletionItem = { insertText, range: { start: pos, end: pos } };
  return { items: [item] };
}
