// Feeds the context ring from document events (open, edit, save), from the editor's
// bytefill/contextChunk notifications (copies, definitions), and hands its chunks to completions.
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { Connection, TextDocuments } from 'vscode-languageserver/node';
import type { ContextSnippet } from '../../engine/src/index';
import { ChunkSource, ContextRing, EditTracker, RingLimits, DEFAULT_RING_LIMITS, chunkAround } from './contextRing';
import { looksBinary } from './context';
import { Logger } from './logger';
import { ContextChunkNotification, ContextStatus, ServerConfig } from './protocol';

/** Documents larger than this give no chunks (generated or minified files). */
const MAX_DOC_CHARS = 1_000_000;

export class ContextFeed {
  readonly ring = new ContextRing();
  private readonly edits = new EditTracker();
  /** Line of the latest change per document, recorded while the change is applied. */
  private readonly changedLine = new Map<string, number>();
  private documents: TextDocuments<TextDocument> | null = null;

  constructor(
    private readonly config: () => ServerConfig,
    private readonly log: Logger,
  ) {}

  /** Wires the document events and the notification. */
  listen(connection: Connection, documents: TextDocuments<TextDocument>): void {
    this.documents = documents;
    documents.onDidOpen((e) => {
      const d = e.document;
      if (!this.usable(d)) return;
      const c = chunkAround(d.getText(), 0, this.ring.limits.chunkLines);
      this.add(d.uri, c.text, 'open', c.startLine, c.endLine);
    });
    documents.onDidChangeContent((e) => {
      const line = this.changedLine.get(e.document.uri);
      if (line === undefined) return;
      const moved = this.edits.edited(e.document.uri, line, this.ring.limits.chunkLines);
      if (moved) {
        const from = documents.get(moved.uri);
        if (from && this.usable(from)) this.addAround(from, moved.line, 'edit');
      }
    });
    documents.onDidSave((e) => {
      const line = this.edits.current(e.document.uri);
      if (line !== null && this.usable(e.document)) this.addAround(e.document, line, 'save');
    });
    documents.onDidClose((e) => {
      // The ring keeps what the user worked with; only the edit location is forgotten.
      this.edits.forget(e.document.uri);
      this.changedLine.delete(e.document.uri);
    });
    connection.onNotification(ContextChunkNotification, (p) => {
      if (!p || typeof p.uri !== 'string' || typeof p.text !== 'string' || (p.source !== 'copy' && p.source !== 'definition')) {
        this.log.warn('bytefill/contextChunk ignored: it needs uri and text strings and source "copy" or "definition"');
        return;
      }
      const start = Number.isInteger(p.startLine) ? p.startLine : undefined;
      const end = Number.isInteger(p.endLine) ? p.endLine : start;
      this.add(p.uri, p.text, p.source, start, end);
    });
  }

  /** Called by the document store for each change it applies (the line it starts at). */
  changed(uri: string, line: number): void {
    this.changedLine.set(uri, line);
  }

  /** Applies the ring's settings. */
  configure(config: ServerConfig): void {
    const limits: RingLimits = { ...DEFAULT_RING_LIMITS, maxChunks: config.context.maxChunks, maxBytes: config.context.maxBytes };
    this.ring.setLimits(limits);
    if (!config.context.enabled) this.ring.clear();
  }

  /** Chunks for a completion in `uri` whose prompt window holds lines [fromLine, toLine), oldest first. */
  forRequest(uri: string, languageId: string, fromLine: number, toLine: number): ContextSnippet[] {
    return this.ring.forRequest(uri, fromLine, toLine, languageId).map((c) => ({ path: c.path, text: c.text }));
  }

  status(last: ContextStatus['last']): ContextStatus {
    return {
      enabled: this.config().context.enabled,
      chunks: this.ring.size,
      bytes: this.ring.totalBytes,
      generation: this.ring.generation,
      paths: this.ring.all().map((c) => c.path),
      last,
    };
  }

  private usable(d: TextDocument): boolean {
    if (!this.config().context.enabled) return false;
    const n = d.getText().length;
    return n > 0 && n <= MAX_DOC_CHARS;
  }

  private addAround(d: TextDocument, line: number, source: ChunkSource): void {
    const c = chunkAround(d.getText(), line, this.ring.limits.chunkLines);
    this.add(d.uri, c.text, source, c.startLine, c.endLine);
  }

  private add(uri: string, text: string, source: ChunkSource, startLine?: number, endLine?: number): void {
    if (!this.config().context.enabled || looksBinary(text.slice(0, 4096))) return;
    const languageId = this.documents?.get(uri)?.languageId ?? languageOfPath(uri);
    if (this.ring.add({ uri, text, source, startLine, endLine, languageId })) {
      this.log.debug(`context ring: +${source} ${uri}${startLine !== undefined ? `:${startLine + 1}-${endLine}` : ''} (${this.ring.size} chunks, ${this.ring.totalBytes} bytes)`);
    }
  }
}

const EXTENSIONS: Record<string, string> = {
  py: 'python', ts: 'typescript', tsx: 'typescriptreact', js: 'javascript', jsx: 'javascriptreact', mjs: 'javascript', cjs: 'javascript',
  go: 'go', rs: 'rust', java: 'java', c: 'c', h: 'c', cpp: 'cpp', cc: 'cpp', hpp: 'cpp', rb: 'ruby', cs: 'csharp', php: 'php',
};

/** The language of a file the server does not have open (a definition's file), from its extension. */
function languageOfPath(uri: string): string | undefined {
  const m = /\.([A-Za-z0-9]+)$/.exec(uri);
  return m ? EXTENSIONS[m[1].toLowerCase()] : undefined;
}
