// A ring buffer of code chunks the user recently worked with (edited, saved, opened, copied,
// definitions of symbols at the cursor), given to the model as context from beyond the file.
// Bounded in chunks and bytes (the oldest go first); a chunk that is a near-duplicate of one
// already there (Jaccard similarity of their sets of non-blank lines above a threshold) replaces
// it. The order is oldest first and changes only when a chunk comes or goes, never per keystroke,
// so the context part of the prompt stays a cached prefix while the user types.
import { toWellFormed } from './context';

export type ChunkSource = 'open' | 'edit' | 'save' | 'copy' | 'definition';

export interface ContextChunk {
  uri: string;
  /** Shown to the model (the last two path segments). */
  path: string;
  text: string;
  source: ChunkSource;
  /** The document's language, when the server has the document. */
  languageId?: string;
  /** Line range in the document (0-based, end exclusive) when known: far parts of the current file. */
  startLine?: number;
  endLine?: number;
  bytes: number;
  lines: Set<string>;
}

export interface RingLimits {
  maxChunks: number;
  maxBytes: number;
  /** Lines per chunk taken around an edit or from the top of an opened file. */
  chunkLines: number;
  /** Chunks whose line sets are at least this similar (Jaccard) count as duplicates. */
  similarity: number;
}

export const DEFAULT_RING_LIMITS: RingLimits = { maxChunks: 16, maxBytes: 8192, chunkLines: 24, similarity: 0.5 };

/** Longest chunk kept, in bytes (a pasted file is cut to its head). */
const MAX_CHUNK_BYTES = 4096;

function lineSet(text: string): Set<string> {
  const out = new Set<string>();
  for (const l of text.split('\n')) {
    const t = l.trim();
    if (t) out.add(t);
  }
  return out;
}

export function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let inter = 0;
  const [small, big] = a.size <= b.size ? [a, b] : [b, a];
  for (const x of small) if (big.has(x)) inter++;
  return inter / (a.size + b.size - inter);
}

export function shortPath(uri: string): string {
  const path = uri.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '');
  const parts = path.split('/').filter(Boolean);
  const tail = parts.slice(-2).join('/');
  try {
    return decodeURIComponent(tail);
  } catch {
    return tail;
  }
}

function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Cuts a chunk to at most `max` UTF-8 bytes at a line end (or by characters for one long line). */
function capBytes(text: string, max: number): string {
  if (utf8Length(text) <= max) return text;
  let cut = text.slice(0, max);
  while (utf8Length(cut) > max) cut = cut.slice(0, -1);
  const nl = cut.lastIndexOf('\n');
  return nl > 0 ? cut.slice(0, nl + 1) : cut;
}

export class ContextRing {
  private chunks: ContextChunk[] = [];
  private bytes = 0;
  /** Changes whenever the chunk list does (tests and logs). */
  generation = 0;

  constructor(public limits: RingLimits = DEFAULT_RING_LIMITS) {}

  get size(): number {
    return this.chunks.length;
  }

  get totalBytes(): number {
    return this.bytes;
  }

  /** Oldest first. */
  all(): readonly ContextChunk[] {
    return this.chunks;
  }

  /**
   * Adds a chunk as the newest. A near-duplicate already there is removed (an unchanged one is
   * left where it is, so that re-opening or re-copying the same code does not reorder the prompt).
   * Returns false when nothing changed (empty, binary or an exact repeat).
   */
  add(c: { uri: string; text: string; source: ChunkSource; startLine?: number; endLine?: number; path?: string; languageId?: string }): boolean {
    let text = toWellFormed(c.text);
    if (!text.trim() || text.includes('\u0000')) return false;
    text = capBytes(text, Math.min(MAX_CHUNK_BYTES, this.limits.maxBytes));
    if (!text.trim()) return false;
    const lines = lineSet(text);
    const chunk: ContextChunk = {
      uri: c.uri,
      path: c.path ?? shortPath(c.uri),
      text,
      source: c.source,
      ...(c.languageId !== undefined && { languageId: c.languageId }),
      ...(c.startLine !== undefined && { startLine: c.startLine, endLine: c.endLine ?? c.startLine }),
      bytes: utf8Length(text),
      lines,
    };
    if (this.chunks.some((x) => x.text === text && x.uri === c.uri)) return false;
    for (let i = this.chunks.length - 1; i >= 0; i--) {
      if (jaccard(this.chunks[i].lines, lines) >= this.limits.similarity) this.removeAt(i);
    }
    this.chunks.push(chunk);
    this.bytes += chunk.bytes;
    while (this.chunks.length > this.limits.maxChunks || this.bytes > this.limits.maxBytes) this.removeAt(0);
    this.generation++;
    return true;
  }

  /** Drops everything of a document (closed, or deleted). */
  forget(uri: string): void {
    for (let i = this.chunks.length - 1; i >= 0; i--) if (this.chunks[i].uri === uri) this.removeAt(i);
    this.generation++;
  }

  clear(): void {
    this.chunks = [];
    this.bytes = 0;
    this.generation++;
  }

  /** Applies new limits, dropping the oldest chunks that no longer fit. */
  setLimits(limits: RingLimits): void {
    this.limits = limits;
    while (this.chunks.length > limits.maxChunks || this.bytes > limits.maxBytes) this.removeAt(0);
  }

  /**
   * The chunks to give with a completion in `uri`: all of them, oldest first, except chunks of the
   * same document whose lines overlap the part of it the prompt already holds ([fromLine, toLine)),
   * and chunks of another language family (a Python chunk is noise in a TypeScript prompt).
   */
  forRequest(uri: string, fromLine: number, toLine: number, languageId?: string): ContextChunk[] {
    return this.chunks.filter(
      (c) =>
        (c.uri !== uri || (c.startLine !== undefined && (c.endLine! <= fromLine || c.startLine >= toLine))) &&
        (languageId === undefined || c.languageId === undefined || languageFamily(c.languageId) === languageFamily(languageId)),
    );
  }

  private removeAt(i: number): void {
    this.bytes -= this.chunks[i].bytes;
    this.chunks.splice(i, 1);
  }
}

const FAMILIES: Record<string, string> = {
  typescript: 'js', typescriptreact: 'js', javascript: 'js', javascriptreact: 'js', vue: 'js', svelte: 'js',
  c: 'c', cpp: 'c', cuda: 'c', 'objective-c': 'c',
};

/** Languages whose code helps each other's completions (TypeScript and JavaScript, C and C++). */
export function languageFamily(languageId: string): string {
  return FAMILIES[languageId] ?? languageId;
}

/** The `chunkLines` lines around `line` (0-based) of `text`, with their range. */
export function chunkAround(text: string, line: number, chunkLines: number): { text: string; startLine: number; endLine: number } {
  const lines = text.split('\n');
  const start = Math.max(0, Math.min(line - Math.floor(chunkLines / 2), lines.length - chunkLines));
  const end = Math.min(lines.length, start + chunkLines);
  return { text: lines.slice(start, end).join('\n'), startLine: start, endLine: end };
}

/**
 * Where the user edits, per document: a chunk around an edit enters the ring when the editing
 * moves away from it (to another document, or more than a chunk's height away) or the document
 * is saved. Typing in one place therefore does not change the ring (nor the cached prompt).
 */
export class EditTracker {
  private last: { uri: string; line: number } | null = null;

  /** An edit at `line` of `uri`; returns the previous location when the edit moved away from it. */
  edited(uri: string, line: number, chunkLines: number): { uri: string; line: number } | null {
    const prev = this.last;
    this.last = { uri, line };
    if (prev && (prev.uri !== uri || Math.abs(prev.line - line) > chunkLines)) return prev;
    return null;
  }

  /** The location being edited in `uri` (for a save), if any. */
  current(uri: string): number | null {
    return this.last?.uri === uri ? this.last.line : null;
  }

  forget(uri: string): void {
    if (this.last?.uri === uri) this.last = null;
  }
}
