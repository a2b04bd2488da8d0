// Single- vs multi-line: multi-line only at an empty line or right after a block opener
// (`:` of a Python compound statement, `{`, or an opening bracket at the end of the line);
// never inside a string or comment, never when code follows the cursor on the line.
import type { Node, Tree } from 'web-tree-sitter';
import { isIndentLanguage } from '../postprocess/types';

export interface SyntaxFacts {
  /** Cursor strictly inside a string literal or a comment. */
  inStringOrComment: boolean;
  /** The last token before the cursor opens a block (tree-sitter's view). */
  afterBlockOpener: boolean;
}

const PY_BLOCK_PARENTS = new Set([
  'function_definition',
  'class_definition',
  'if_statement',
  'elif_clause',
  'else_clause',
  'for_statement',
  'while_statement',
  'with_statement',
  'try_statement',
  'except_clause',
  'except_group_clause',
  'finally_clause',
  'match_statement',
  'case_clause',
  'decorated_definition',
]);

/** For incomplete code tree-sitter puts the `:` under ERROR; then the line's keyword decides. */
const PY_COMPOUND_LINE = /^\s*(async\s+)?(def|class|if|elif|else|for|while|with|try|except|finally|match|case)\b/;

/** Python: inside a triple-quoted string when the text before has an odd number of them. */
function inTripleQuoted(text: string, offset: number): boolean {
  const before = text.slice(Math.max(0, offset - 1_000_000), offset);
  const n = (before.match(/"""|'''/g) ?? []).length;
  return n % 2 === 1;
}

const CLOSING_QUOTES = new Set(['"', "'", '`', 'string_end']);

function isStringOrComment(leaf: Node | null, offset: number): boolean {
  for (let n = leaf, depth = 0; n && depth < 6; n = n.parent, depth++) {
    const t = n.type;
    if (t.includes('comment')) {
      if (offset === n.endIndex && n.text.endsWith('*/')) return false;
      return offset > n.startIndex && offset <= n.endIndex;
    }
    if (t.includes('string') || t === 'template_string') {
      if (offset <= n.startIndex || offset > n.endIndex) return false;
      if (offset < n.endIndex) return true;
      // At the node's end: inside only if the string is unterminated (no closing quote yet).
      return !CLOSING_QUOTES.has(leaf?.type ?? '');
    }
  }
  return false;
}

/** What the syntax tree says about the cursor at `offset` in `text`. */
export function syntaxFacts(tree: Tree, text: string, offset: number, languageId: string): SyntaxFacts {
  const root = tree.rootNode;
  const at = offset > 0 ? root.descendantForIndex(offset - 1, offset) : root;
  const inStringOrComment =
    offset > 0 && (isStringOrComment(at, offset) || (isIndentLanguage(languageId) && inTripleQuoted(text, offset)));

  // Last non-whitespace character before the cursor, and the leaf covering it.
  let i = offset - 1;
  while (i >= 0 && (text[i] === ' ' || text[i] === '\t' || text[i] === '\r')) i--;
  let afterBlockOpener = false;
  if (i >= 0 && text[i] !== '\n') {
    const leaf = root.descendantForIndex(i, i + 1);
    const t = leaf?.type;
    if (t === ':' && isIndentLanguage(languageId)) {
      const parent = leaf?.parent?.type ?? 'ERROR';
      const lineStart = text.lastIndexOf('\n', i) + 1;
      afterBlockOpener = PY_BLOCK_PARENTS.has(parent) || (parent === 'ERROR' && PY_COMPOUND_LINE.test(text.slice(lineStart, i)));
    } else if (t === '{' || t === '(' || t === '[') {
      afterBlockOpener = true;
    }
  }
  return { inStringOrComment, afterBlockOpener };
}

/** Text-only guess used when there is no tree (unknown language, huge file). */
export function textOpener(lineBefore: string, languageId: string): boolean {
  const t = lineBefore.trimEnd();
  if (/[{([]$/.test(t)) return true;
  return isIndentLanguage(languageId) && t.endsWith(':') && !t.trimStart().startsWith('#');
}

export function decideMultiline(
  lineBefore: string,
  lineAfter: string,
  languageId: string,
  facts: SyntaxFacts | null,
): boolean {
  if (facts?.inStringOrComment) return false;
  // Code to the right of the cursor (other than closers / punctuation): complete the line only.
  if (/[^\s)\]}'"`;,]/.test(lineAfter)) return false;
  if (lineBefore.trim().length === 0) return true;
  // `f(|)`: a call or index closed on the same line is completed inline; `{|}` may hold a block.
  if (/[([]\s*$/.test(lineBefore) && lineAfter.trim().length > 0) return false;
  return facts ? facts.afterBlockOpener : textOpener(lineBefore, languageId);
}
