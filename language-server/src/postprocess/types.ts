// Shared shapes and small text helpers for the post-processing pipeline.

export interface PostprocessContext {
  languageId: string;
  /** Text before the cursor (window), '\n' line endings. */
  prefix: string;
  /** Text after the cursor (window), '\n' line endings. */
  suffix: string;
  /** Whether a multi-line completion is wanted here. */
  multiline: boolean;
}

/** A post-processing step: returns the new completion ('' drops it). Pure. */
export type PostprocessStep = (completion: string, ctx: PostprocessContext) => string;

/** Languages whose blocks are defined by indentation alone. */
const INDENT_LANGUAGES = new Set(['python', 'yaml', 'coffeescript', 'nim', 'haml', 'pug', 'sass', 'makefile']);
export function isIndentLanguage(languageId: string): boolean {
  return INDENT_LANGUAGES.has(languageId);
}

/** Width of the leading whitespace (tab = 4 columns). */
export function indentWidth(line: string): number {
  let w = 0;
  for (const ch of line) {
    if (ch === ' ') w += 1;
    else if (ch === '\t') w += 4;
    else break;
  }
  return w;
}

export function isBlank(line: string): boolean {
  return line.trim().length === 0;
}

/** The part of the current line before the cursor. */
export function lineBeforeCursor(prefix: string): string {
  return prefix.slice(prefix.lastIndexOf('\n') + 1);
}

/** The part of the current line after the cursor. */
export function lineAfterCursor(suffix: string): string {
  const nl = suffix.indexOf('\n');
  return nl < 0 ? suffix : suffix.slice(0, nl);
}

export const OPENERS: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
export const CLOSERS: Record<string, string> = { ')': '(', ']': '[', '}': '{' };

/**
 * Walks code and reports brackets outside string literals (single-line '…', "…", `…`
 * with backslash escapes) and line comments (# or //). Approximate by design: enough to
 * balance brackets in a short completion.
 */
export function scanBrackets(
  text: string,
  languageId: string,
  onBracket: (ch: string, index: number) => boolean | void,
): void {
  const hashComments = isIndentLanguage(languageId) || ['shellscript', 'ruby', 'perl', 'r', 'toml'].includes(languageId);
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = null;
      else if (ch === '\n' && quote !== '`') quote = null;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') {
      quote = ch;
      continue;
    }
    if ((hashComments && ch === '#') || (!hashComments && ch === '/' && text[i + 1] === '/')) {
      const nl = text.indexOf('\n', i);
      if (nl < 0) return;
      i = nl;
      continue;
    }
    if (ch in OPENERS || ch in CLOSERS) {
      if (onBracket(ch, i) === false) return;
    }
  }
}
