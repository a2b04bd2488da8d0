// The single/multi-line decision for a text that is not an open document (the point after an
// accept, an evaluation case): parsed once under a scratch name, then the same rules as for
// documents (tree-sitter facts + line heuristics).
import { contextWindow } from '../context';
import { lineAfterCursor, lineBeforeCursor } from '../postprocess/types';
import { DocumentTrees } from './documentTrees';
import { SyntaxFacts, decideMultiline, syntaxFacts } from './multiline';

/** A fresh parse blocks the thread (no earlier tree to reuse): larger texts use the heuristics. */
export const MAX_FRESH_PARSE_CHARS = 200_000;

export async function decideForText(trees: DocumentTrees, scratchUri: string, text: string, offset: number, languageId: string): Promise<boolean> {
  let facts: SyntaxFacts | null = null;
  if (text.length <= MAX_FRESH_PARSE_CHARS) facts = await factsOf(trees, scratchUri, text, offset, languageId);
  const win = contextWindow(text, offset, 2000, 500);
  return decideMultiline(lineBeforeCursor(win.prefix), lineAfterCursor(win.suffix), languageId, facts);
}

async function factsOf(trees: DocumentTrees, scratchUri: string, text: string, offset: number, languageId: string): Promise<SyntaxFacts | null> {
  trees.open(scratchUri, languageId);
  let facts: SyntaxFacts | null = null;
  try {
    const tree = await trees.tree(scratchUri, () => text);
    if (tree) facts = syntaxFacts(tree, text, offset, languageId);
  } catch {
    // No grammar or a parse failure: the line heuristics decide.
  } finally {
    trees.close(scratchUri);
  }
  return facts;
}
