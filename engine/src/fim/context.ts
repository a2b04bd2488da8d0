// Context from other files (and far parts of this one) placed before the FIM prompt.
// In the model's repository format when its tokenizer has one (Qwen2.5-Coder: <|repo_name|> and
// <|file_sep|>; StarCoder-style and the bundled models: <file_sep>), as line comments otherwise.
// Chunks are given oldest first and kept in that order, so a prompt shares its context part with
// the previous one until the chunk list itself changes: the prefix KV cache reuses it across
// keystrokes. When they do not all fit, the newest are kept (they are the likeliest to matter).
import type { ContextSnippet } from '../core/types';
import { Tokenizer } from '../tokenizer/tokenizer';

export type ContextFormat = 'repo' | 'comment';

export interface ContextLayout {
  format: ContextFormat;
  /** Separator before each file (repo format). */
  fileSepId?: number;
  /** `<|repo_name|>` (Qwen2.5-Coder): the context opens with it and a repository name. */
  repoNameId?: number;
}

/** Repository format when the tokenizer has a file separator, comments otherwise. */
export function contextLayout(tok: Tokenizer): ContextLayout {
  const fileSepId = tok.tokenId('<|file_sep|>') ?? tok.tokenId('<file_sep>');
  if (fileSepId === undefined) return { format: 'comment' };
  const repoNameId = tok.tokenId('<|repo_name|>') ?? tok.tokenId('<repo_name>');
  return { format: 'repo', fileSepId, ...(repoNameId !== undefined && { repoNameId }) };
}

export interface ContextOptions {
  /** Path of the file being completed (repo format: its <file_sep> header before the FIM prompt). */
  path?: string;
  /** Line comment marker for the comment format (default '//'). */
  lineComment?: string;
  /** Repository name for formats that have one (default 'workspace'). */
  repoName?: string;
}

export interface RenderedContext {
  ids: number[];
  /** How many of the given snippets were placed (the newest ones). */
  placed: number;
}

function commented(marker: string, s: ContextSnippet): string {
  const body = s.text.endsWith('\n') ? s.text.slice(0, -1) : s.text;
  return `${marker} ${s.path}\n${body.split('\n').map((l) => (l ? `${marker} ${l}` : marker)).join('\n')}\n\n`;
}

/**
 * Token ids of the context part of the prompt: the newest snippets that fit in `budget` tokens,
 * in the given (oldest-first) order. Empty when none fits or none is given.
 */
export function renderContext(tok: Tokenizer, snippets: readonly ContextSnippet[], budget: number, opts: ContextOptions = {}): RenderedContext {
  if (snippets.length === 0 || budget <= 0) return { ids: [], placed: 0 };
  const layout = contextLayout(tok);
  let head: number[] = [];
  let tail: number[] = [];
  const pieces: number[][] = [];
  if (layout.format === 'repo') {
    if (layout.repoNameId !== undefined) head = [layout.repoNameId, ...tok.encode(`${opts.repoName ?? 'workspace'}\n`)];
    tail = opts.path ? [layout.fileSepId!, ...tok.encode(`${opts.path}\n`)] : [];
    for (const s of snippets) {
      const text = s.text.endsWith('\n') ? s.text : `${s.text}\n`;
      pieces.push([layout.fileSepId!, ...tok.encode(`${s.path}\n${text}`)]);
    }
  } else {
    const marker = opts.lineComment ?? '//';
    for (const s of snippets) pieces.push(tok.encode(commented(marker, s)));
    tail = opts.path ? tok.encode(`${marker} ${opts.path}\n`) : [];
  }
  let used = head.length + tail.length;
  let first = pieces.length;
  // Newest first until one does not fit: the kept ones are a contiguous, newest run.
  while (first > 0 && used + pieces[first - 1].length <= budget) used += pieces[--first].length;
  if (first === pieces.length) return { ids: [], placed: 0 };
  const ids = [...head];
  for (let i = first; i < pieces.length; i++) ids.push(...pieces[i]);
  ids.push(...tail);
  return { ids, placed: pieces.length - first };
}
