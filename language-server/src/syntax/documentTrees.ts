// One syntax tree per open document, kept up to date incrementally: edits are applied to
// the old tree as they arrive (tree.edit) and the document is re-parsed lazily, with the
// old tree, when a completion needs it.
import { Edit, Parser, Tree } from 'web-tree-sitter';
import { createParser, hasGrammar } from './grammars';

/** Larger documents are not parsed (windows and heuristics still work). */
export const MAX_PARSE_CHARS = 2_000_000;
const PARSE_BUDGET_MS = 300;

export interface TextEdit {
  startIndex: number;
  oldEndIndex: number;
  newEndIndex: number;
  startPosition: { row: number; column: number };
  oldEndPosition: { row: number; column: number };
  newEndPosition: { row: number; column: number };
}

interface Entry {
  languageId: string;
  tree: Tree | null;
  /** Whether `tree` is out of date with the document text. */
  stale: boolean;
}

export class DocumentTrees {
  private readonly docs = new Map<string, Entry>();
  private readonly parsers = new Map<string, Promise<Parser | null>>();

  /** `onError` hears grammar load failures (logged once per language). */
  constructor(private readonly onError: (message: string) => void = () => undefined) {}

  open(uri: string, languageId: string): void {
    this.close(uri);
    this.docs.set(uri, { languageId, tree: null, stale: true });
  }

  close(uri: string): void {
    const e = this.docs.get(uri);
    e?.tree?.delete();
    this.docs.delete(uri);
  }

  /** A ranged edit: shift the old tree so the next parse can reuse it. */
  edit(uri: string, edit: TextEdit): void {
    const e = this.docs.get(uri);
    if (!e) return;
    e.stale = true;
    if (e.tree) {
      try {
        e.tree.edit(new Edit(edit));
      } catch {
        this.drop(e);
      }
    }
  }

  /** A full-content change: the old tree cannot be reused. */
  replaced(uri: string): void {
    const e = this.docs.get(uri);
    if (!e) return;
    this.drop(e);
  }

  private drop(e: Entry): void {
    e.tree?.delete();
    e.tree = null;
    e.stale = true;
  }

  /** The up-to-date tree, or null (no grammar, too large, parse failed). */
  async tree(uri: string, getText: () => string): Promise<Tree | null> {
    const e = this.docs.get(uri);
    if (!e || !hasGrammar(e.languageId)) return null;
    if (!e.stale && e.tree) return e.tree;
    const parser = await this.parser(e.languageId);
    if (!parser || this.docs.get(uri) !== e) return null;
    if (!e.stale && e.tree) return e.tree;
    // Read the text after the await: edits may have arrived meanwhile.
    const text = getText();
    if (text.length > MAX_PARSE_CHARS) return null;
    const started = Date.now();
    const old = e.tree;
    const tree = parser.parse(text, old, { progressCallback: () => Date.now() - started > PARSE_BUDGET_MS });
    if (!tree) {
      parser.reset();
      this.drop(e);
      return null;
    }
    old?.delete();
    e.tree = tree;
    e.stale = false;
    return tree;
  }

  private parser(languageId: string): Promise<Parser | null> {
    let p = this.parsers.get(languageId);
    if (!p) {
      p = createParser(languageId).catch((e: unknown) => {
        this.onError(`tree-sitter grammar for ${languageId} failed to load: ${e instanceof Error ? e.message : String(e)}`);
        return null;
      });
      this.parsers.set(languageId, p);
    }
    return p;
  }

  get size(): number {
    return this.docs.size;
  }
}

/** The tree-sitter edit for an LSP change, given offsets/positions in the old text. */
export function editFor(
  startIndex: number,
  oldEndIndex: number,
  start: { line: number; character: number },
  oldEnd: { line: number; character: number },
  newText: string,
): TextEdit {
  const lastNl = newText.lastIndexOf('\n');
  const lines = lastNl < 0 ? 0 : newText.split('\n').length - 1;
  const newEndPosition =
    lastNl < 0
      ? { row: start.line, column: start.character + newText.length }
      : { row: start.line + lines, column: newText.length - lastNl - 1 };
  return {
    startIndex,
    oldEndIndex,
    newEndIndex: startIndex + newText.length,
    startPosition: { row: start.line, column: start.character },
    oldEndPosition: { row: oldEnd.line, column: oldEnd.character },
    newEndPosition,
  };
}
