// Reading held-out source code for evaluation suites: deterministic file walks, a filter for
// readable (hand-written, not minified or generated) files, and a scanner that tells code from
// comments and string literals so cursors land only in code.
import * as fs from 'node:fs';
import * as path from 'node:path';

export type SourceLang = 'python' | 'typescript' | 'javascript';

/** Every file below `dir`, in sorted order (so suites built from them are reproducible). */
export function walkFiles(dir: string, skipDir: (name: string) => boolean): string[] {
  const out: string[] = [];
  const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (!skipDir(e.name)) out.push(...walkFiles(p, skipDir));
    } else if (e.isFile()) out.push(p);
  }
  return out;
}

export interface ReadableLimits {
  /** Larger files are mostly bundles or generated tables. */
  maxFileBytes: number;
  /** A longer line means minified or generated code. */
  maxLineChars: number;
}

/** The file's text when it reads as hand-written source: no '\r', no invalid UTF-8, within limits. */
export function readReadableSource(file: string, limits: ReadableLimits): string | null {
  if (fs.statSync(file).size > limits.maxFileBytes) return null;
  const text = fs.readFileSync(file, 'utf8');
  if (text.includes('\r') || text.includes('\uFFFD')) return null;
  if (text.split('\n').some((l) => l.length > limits.maxLineChars)) return null;
  return text;
}

/**
 * mask[i] = 1 where character i is code, 0 inside comments and string literals. A simple scanner
 * (no regex literals, no nested template expressions): good enough to keep cursors out of prose.
 */
export function codeMask(text: string, lang: SourceLang): Uint8Array {
  const mask = new Uint8Array(text.length);
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text[i];
    if (lang === 'python' && c === '#') {
      while (i < n && text[i] !== '\n') i++;
    } else if (lang !== 'python' && c === '/' && text[i + 1] === '/') {
      while (i < n && text[i] !== '\n') i++;
    } else if (lang !== 'python' && c === '/' && text[i + 1] === '*') {
      const e = text.indexOf('*/', i + 2);
      i = e < 0 ? n : e + 2;
    } else if (c === '"' || c === "'" || (c === '`' && lang !== 'python')) {
      const triple = lang === 'python' && text.startsWith(c.repeat(3), i);
      const close = triple ? c.repeat(3) : c;
      i += close.length;
      while (i < n && !text.startsWith(close, i)) {
        if (text[i] === '\\') i++;
        else if (text[i] === '\n' && !triple && c !== '`') break; // unterminated: stop at line end
        i++;
      }
      i += close.length;
    } else {
      mask[i] = 1;
      i++;
    }
  }
  return mask;
}
