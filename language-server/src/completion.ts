// One inline-completion request, end to end: cache, speculation, debounce, cancellation, context,
// single/multi-line decision, engine call (several candidates), post-processing, statistics.
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
import { contextWindow, looksBinary } from './context';
import { shortPath } from './contextRing';
import type { ContextSnippet } from '../../engine/src/index';
import { sleep } from './debounce';
import { EngineHost } from './engineHost';
import { Logger, errorMessage } from './logger';
import type { HostedEngine } from './engineHost';
import { finishCandidates, requestShape } from './pipeline';
import { lineAfterCursor, lineBeforeCursor } from './postprocess/types';
import { ACCEPT_COMMAND, LastContext, RequestCounts, RequestTimings, ServerConfig } from './protocol';
import { AcceptanceTracker } from './acceptance';
import { SpeculationTarget, Speculator } from './speculation';
import { WarmOutcome, WarmTarget, Warmer } from './warming';
import { decideForText } from './syntax/decide';
import { AnswerSource, Stats } from './stats';
import { DocumentTrees } from './syntax/documentTrees';
import { SyntaxFacts, decideMultiline, syntaxFacts } from './syntax/multiline';

export interface CompletionDeps {
  host: EngineHost;
  trees: DocumentTrees;
  cache: CompletionCache;
  log: Logger;
  config: () => ServerConfig;
  /** Context chunks for a completion in `uri` whose window holds lines [fromLine, toLine) (oldest first). */
  context: (uri: string, languageId: string, fromLine: number, toLine: number) => ContextSnippet[];
}

/** Line comment marker per language, for models without a repository format. */
const LINE_COMMENT: Record<string, string> = {
  python: '#', shellscript: '#', ruby: '#', perl: '#', r: '#', yaml: '#', toml: '#', dockerfile: '#', makefile: '#', powershell: '#',
  lua: '--', sql: '--', haskell: '--',
};

const EMPTY: InlineCompletionList = { items: [] };

/**
 * Decoding steps alternatives may take after the first candidate is done, whatever the clock says
 * (then `candidateExtraMs`, 250 ms, applies): a short alternative (a few tokens) is not lost when
 * the machine is busy. Bounded: at most this many batched steps more.
 */
const CANDIDATE_EXTRA_STEPS = 8;

export function newCounts(): RequestCounts {
  return { total: 0, completed: 0, cached: 0, cancelled: 0, empty: 0, errors: 0, notReady: 0 };
}

export class CompletionService {
  readonly counts = newCounts();
  lastLatencyMs: number | null = null;
  /** Per-stage timing of the last request that ran the engine. */
  lastTimings: RequestTimings | null = null;
  /** Prompt, context and KV-cache reuse of the last engine call. */
  lastContext: LastContext | null = null;
  readonly stats = new Stats();
  readonly accepts = new AcceptanceTracker();
  readonly speculator: Speculator;
  readonly warmer: Warmer;
  /** Requests in flight, by document; a newer request for any document supersedes them all
   *  (the engine runs one generation at a time, so stale work only delays the latest). */
  private inflight: AbortController | null = null;
  private seq = 0;

  constructor(private readonly deps: CompletionDeps) {
    this.speculator = new Speculator((target, signal) => this.speculate(target, signal));
    this.warmer = new Warmer(
      (target, signal) => this.prefill(target, signal),
      (e) => deps.log.warn(`warm-up failed: ${errorMessage(e)}`),
    );
  }

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
    this.stats.request(doc.languageId);

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

      // Speculative work for exactly this state (the user accepted the shown suggestion) is this
      // request's answer: wait for it. Any other request makes it stale.
      const pending = this.speculator.pendingFor(doc.uri, text, offset);
      if (pending) {
        log.debug(`#${id} waiting for the speculative completion of this point`);
        await Promise.race([pending, new Promise<void>((r) => ac.signal.addEventListener('abort', () => r(), { once: true }))]);
        if (ac.signal.aborted) return this.cancelled(id);
      } else this.speculator.cancel();

      // Typing gets one candidate (fastest ghost text); an explicit request (the editor's
      // next/previous suggestion keys ask explicitly) gets all of them.
      const explicit = triggerKind === InlineCompletionTriggerKind.Invoked;
      const want = explicit ? config.candidates : 1;
      const hit = cache.lookup({ uri: doc.uri, text, offset });
      if (hit && !(hit.typed === 0 && hit.entry.asked < want)) {
        this.counts.cached++;
        const source: AnswerSource = hit.entry.speculative && hit.typed === 0 ? 'speculation' : 'cache';
        if (source === 'speculation') this.speculator.counts.used++;
        log.debug(`#${id} ${source} hit (typed ${hit.typed}, ${hit.items.length} candidates)`);
        // Typing through the suggestion on screen continues it; anything else is a new suggestion.
        const continues = hit.typed > 0;
        const items = explicit ? hit.items.slice(0, config.candidates) : hit.items;
        return this.answer(doc, text, offset, pos, items, source, started, !continues, config);
      }

      const engine = host.ready;
      if (!engine) {
        this.counts.notReady++;
        return EMPTY;
      }

      if (!explicit && !(await sleep(config.debounceMs, ac.signal))) return this.cancelled(id);
      const debounceMs = Date.now() - started;

      // Edited during the debounce: this request is stale (the client asks again).
      if (doc.version !== version) return this.cancelled(id);

      const multiline = await this.multiline(doc, version, text, offset);
      if (multiline === null || ac.signal.aborted || doc.version !== version) return this.cancelled(id);
      // The engine is needed now: a warm-up gives way (what it computed stays cached).
      this.warmer.cancel();

      const out = await this.generate(engine, { uri: doc.uri, languageId: doc.languageId, text, offset }, multiline, ac.signal, config, want, id);
      if (out === 'cancelled') return this.cancelled(id);
      if (out === 'error') return EMPTY;
      this.lastLatencyMs = Date.now() - started;
      this.lastTimings = { ...out.timings, debounceMs, totalMs: this.lastLatencyMs };
      if (out.items.length === 0) {
        this.counts.empty++;
        return EMPTY;
      }
      cache.store(doc.uri, text, offset, out.items, multiline, { asked: want });
      this.counts.completed++;
      return this.answer(doc, text, offset, pos, out.items, 'engine', started, true, config);
    } catch (e) {
      this.counts.errors++;
      log.error(`#${id} inline completion failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      return EMPTY;
    } finally {
      sub.dispose();
      if (this.inflight === ac) this.inflight = null;
    }
  }

  /** Records and returns a non-empty answer; starts speculating on its first item. */
  private answer(
    doc: TextDocument, text: string, offset: number, pos: Position, items: string[],
    source: AnswerSource, started: number, newSuggestion: boolean, config: ServerConfig,
  ): InlineCompletionList {
    this.stats.answered(doc.languageId, source, Date.now() - started, newSuggestion);
    const shownId = this.accepts.shown({ uri: doc.uri, languageId: doc.languageId, text, offset, items });
    if (config.speculate) {
      const target = Speculator.accepted(doc.uri, doc.languageId, text, offset, items[0]);
      if (!this.deps.cache.lookup(target)) this.speculator.start(target);
    }
    return {
      items: items.map((insertText, index): InlineCompletionItem => ({
        insertText,
        range: { start: pos, end: pos },
        command: { title: 'bytefill: accepted', command: ACCEPT_COMMAND, arguments: [{ id: shownId, index }] },
      })),
    };
  }

  /** Engine call and post-processing for one point; items distinct after post-processing. */
  private async generate(
    engine: Completer,
    at: SpeculationTarget,
    multiline: boolean,
    signal: AbortSignal,
    config: ServerConfig,
    candidates: number,
    id: number | string,
  ): Promise<{ items: string[]; timings: Omit<RequestTimings, 'debounceMs' | 'totalMs'> } | 'cancelled' | 'error'> {
    const { log } = this.deps;
    const win = contextWindow(at.text, at.offset, config.prefixChars, config.suffixChars);
    if (looksBinary(win.prefix.slice(-2000)) || looksBinary(win.suffix.slice(0, 500))) {
      log.debug(`#${id} binary content near the cursor: no completion`);
      return { items: [], timings: emptyTimings(at.languageId) };
    }
    const shape = requestShape(win.prefix, win.suffix, multiline, config.maxTokens);
    let snippets: ContextSnippet[] | undefined;
    if (config.context.enabled) {
      const fromLine = countLines(at.text, 0, at.offset - win.prefix.length);
      const toLine = fromLine + countLines(win.prefix + win.suffix, 0, win.prefix.length + win.suffix.length) + 1;
      snippets = this.deps.context(at.uri, at.languageId, fromLine, toLine);
    }
    let res;
    try {
      res = await engine.complete({
        prefix: win.prefix,
        suffix: win.suffix,
        ...(snippets?.length && {
          snippets,
          path: shortPath(at.uri),
          lineComment: LINE_COMMENT[at.languageId] ?? '//',
          contextTokens: config.context.tokens,
          returnContext: log.level === 'debug',
        }),
        mode: config.mode,
        maxTokens: shape.maxTokens,
        maxTimeMs: config.maxTimeMs,
        stop: shape.stop,
        stopAfterLeadingWhitespace: shape.stopAfterLeadingWhitespace,
        uscd: config.uscd.enabled ? { ...config.uscd } : undefined,
        candidates,
        // Alternatives get a few steps past the first one even on a busy machine (250 ms may be one step).
        candidateExtraSteps: CANDIDATE_EXTRA_STEPS,
        signal,
      });
      if (res.stopReason === 'aborted' || signal.aborted) return 'cancelled';
    } catch (e) {
      if (signal.aborted || (e as { code?: string }).code === 'ABORTED') return 'cancelled';
      this.counts.errors++;
      log.error(`#${id} completion failed: ${errorMessage(e)}`);
      return 'error';
    }
    // Speculative work and warm-ups are not requests the user made.
    if (id !== 'speculative' && id !== 'warm') this.lastContext = {
      promptTokens: res.promptTokens,
      contextTokens: res.contextTokens ?? 0,
      contextChunks: res.contextSnippets ?? 0,
      cachedTokens: res.cachedTokens ?? 0,
      // The engine places the newest chunks that fit.
      paths: (snippets ?? []).slice((snippets?.length ?? 0) - (res.contextSnippets ?? 0)).map((s) => s.path),
    };
    if (res.context !== undefined) log.debug(`#${id} context (${res.contextTokens} tokens, ${res.contextSnippets} chunks): ${JSON.stringify(res.context)}`);
    const raws = res.items?.map((i) => i.completion) ?? [res.completion];
    log.debug(
      `#${id} ${res.mode} ${multiline ? 'multi' : 'single'}-line: ${res.generatedTokens} tokens in ${Math.round(res.ms)} ms ` +
        `(${res.stopReason}, ${raws.length} candidates) ${JSON.stringify(raws[0].slice(0, 80))}`,
    );
    const t = performance.now();
    const items = finishCandidates(raws, { languageId: at.languageId, prefix: win.prefix, suffix: win.suffix }, shape);
    const e = res.timings;
    return {
      items,
      timings: {
        languageId: at.languageId,
        queueMs: e?.queueMs ?? 0,
        promptMs: e?.promptMs ?? 0,
        prefillMs: e?.prefillMs ?? 0,
        coversMs: e?.coversMs ?? 0,
        decodeMs: e?.decodeMs ?? res.ms,
        postprocessMs: performance.now() - t,
        candidates: items.length,
        promptTokens: res.promptTokens,
        cachedTokens: res.cachedTokens,
      },
    };
  }

  /**
   * bytefill/warm: the cursor went to `position` (a jump, an opened file). Prefills the prompt a
   * request there would use, unless warming is off or the engine has nothing loaded.
   */
  warm(doc: TextDocument | undefined, position: Position): Promise<void> {
    const config = this.deps.config();
    const engine = this.deps.host.ready;
    if (!doc || !config.warmCache || !config.enable || !languageEnabled(config, doc.languageId) || !engine) {
      this.warmer.skip();
      return Promise.resolve();
    }
    const offset = doc.offsetAt(position);
    return this.warmer.start({ uri: doc.uri, languageId: doc.languageId, text: doc.getText(), offset, line: doc.positionAt(offset).line });
  }

  /** The warm-up runner: the engine prefills what generate() would send for this point. */
  private async prefill(at: WarmTarget, signal: AbortSignal): Promise<WarmOutcome | null> {
    const engine = this.deps.host.ready;
    if (!engine) return null;
    let outcome: WarmOutcome | null = null;
    // generate() builds the request (windows, snippets, mode): the same prompt as a completion
    // there, whatever goes into it. This engine view prefills it instead of decoding.
    const prefillOnly: Completer = {
      complete: async (req) => {
        const r = await engine.warm(req);
        outcome = {
          promptTokens: r.models.reduce((n, m) => n + m.promptTokens, 0),
          computedTokens: r.models.reduce((n, m) => n + m.computedTokens, 0),
          ms: r.ms,
        };
        return { completion: '', mode: req.mode ?? 'byte', models: r.models.map((m) => m.model), promptTokens: outcome.promptTokens, generatedTokens: 0, ms: r.ms, stopReason: 'max_tokens' };
      },
    };
    const out = await this.generate(prefillOnly, at, false, signal, this.deps.config(), 1, 'warm');
    if (out === 'cancelled') throw Object.assign(new Error('warm-up cancelled'), { code: 'ABORTED' });
    if (out === 'error') throw new Error('the engine failed to prefill (logged above)');
    return outcome;
  }

  /** The speculation runner: computes the point after an accept and stores it in the cache. */
  private async speculate(target: SpeculationTarget, signal: AbortSignal): Promise<boolean> {
    const engine = this.deps.host.ready;
    const config = this.deps.config();
    if (!engine || !config.speculate) return false;
    // The same decision a request there would take, from a parse of the text after the accept.
    const multiline = await decideForText(this.deps.trees, `speculation:${target.uri}`, target.text, target.offset, target.languageId);
    if (signal.aborted) return false;
    // One candidate: the answer after an accept is shown while typing (explicit requests recompute).
    const out = await this.generate(engine, target, multiline, signal, config, 1, 'speculative');
    if (typeof out === 'string' || signal.aborted || out.items.length === 0) return false;
    this.deps.cache.store(target.uri, target.text, target.offset, out.items, multiline, { speculative: true });
    this.deps.log.debug(`speculative completion ready: ${JSON.stringify(out.items[0].slice(0, 80))}`);
    return true;
  }

  /** A document changed: stale speculation stops; accepts are counted. */
  documentChanged(uri: string, text: () => string): void {
    this.speculator.documentChanged(uri, text);
    const ev = this.accepts.documentChanged(uri, text());
    if (ev) this.stats.accepted(ev.languageId, ev.kind === 'full', ev.chars);
  }

  /** The editor accepted a whole suggestion (bytefill/didAccept). */
  didAccept(id: number, index?: number): void {
    const ev = this.accepts.didAccept(id, index);
    if (ev) this.stats.accepted(ev.languageId, true, ev.chars);
  }

  private cancelled(id: number): InlineCompletionList {
    this.counts.cancelled++;
    this.deps.log.debug(`#${id} cancelled`);
    return EMPTY;
  }

  /** Single- or multi-line at the cursor; null when the document changed meanwhile. */
  private async multiline(doc: TextDocument, version: number, text: string, offset: number): Promise<boolean | null> {
    const win = contextWindow(text, offset, 2000, 500);
    let facts: SyntaxFacts | null = null;
    try {
      const tree = await this.deps.trees.tree(doc.uri, () => doc.getText());
      if (doc.version !== version) return null;
      if (tree) facts = syntaxFacts(tree, text, offset, doc.languageId);
      this.deps.log.debug(`syntax ${doc.languageId}: ${facts ? JSON.stringify(facts) : 'no tree (heuristics)'}`);
    } catch (e) {
      this.deps.log.warn(`tree-sitter failed on ${doc.uri}: ${errorMessage(e)}`);
    }
    return decideMultiline(lineBeforeCursor(win.prefix), lineAfterCursor(win.suffix), doc.languageId, facts);
  }

  /** Aborts whatever is running (shutdown, reload). */
  abortAll(): void {
    this.inflight?.abort();
    this.speculator.cancel();
    this.warmer.cancel();
  }
}

/** What generate() needs of an engine: a hosted engine, or a warm-up's prefill-only view of one (prefill()). */
type Completer = Pick<HostedEngine, 'complete'>;

function emptyTimings(languageId: string): Omit<RequestTimings, 'debounceMs' | 'totalMs'> {
  return { languageId, queueMs: 0, promptMs: 0, prefillMs: 0, coversMs: 0, decodeMs: 0, postprocessMs: 0, candidates: 0 };
}

function countLines(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = s.indexOf('\n', from); i >= 0 && i < to; i = s.indexOf('\n', i + 1)) n++;
  return n;
}
