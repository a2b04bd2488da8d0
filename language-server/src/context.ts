// Builds the text the engine sees: prefix/suffix windows around the cursor (capped by
// characters; the engine trims by tokens) and optional snippets from other open documents.

export interface Window {
  prefix: string;
  suffix: string;
}

/** Replaces lone UTF-16 surrogates with U+FFFD (they cannot be encoded as UTF-8). */
export function toWellFormed(s: string): string {
  // Fast path: most text has no surrogates at all.
  if (!/[\uD800-\uDFFF]/.test(s)) return s;
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

export function contextWindow(text: string, offset: number, prefixChars: number, suffixChars: number): Window {
  const at = Math.max(0, Math.min(offset, text.length));
  let start = Math.max(0, at - prefixChars);
  // Do not start the window in the middle of a line when a line start is close by:
  // a partial first line confuses the model less than a cut-off one.
  if (start > 0) {
    const nl = text.indexOf('\n', start);
    if (nl >= 0 && nl < at && nl - start < 200) start = nl + 1;
  }
  let end = Math.min(text.length, at + suffixChars);
  if (end < text.length) {
    const nl = text.lastIndexOf('\n', end);
    if (nl > at && end - nl < 200) end = nl + 1;
  }
  return { prefix: toWellFormed(text.slice(start, at)), suffix: toWellFormed(text.slice(at, end)) };
}

/** Heuristic: NULs or many control characters near the cursor mean binary content. */
export function looksBinary(sample: string): boolean {
  if (sample.length === 0) return false;
  if (sample.includes('\u0000')) return true;
  let ctrl = 0;
  for (let i = 0; i < sample.length; i++) {
    const c = sample.charCodeAt(i);
    if (c < 32 && c !== 9 && c !== 10 && c !== 13 && c !== 12) ctrl++;
  }
  return ctrl / sample.length > 0.1;
}

export interface OpenDoc {
  uri: string;
  languageId: string;
  text: string;
}

export interface Snippet {
  path: string;
  text: string;
}

function words(s: string): Set<string> {
  const set = new Set<string>();
  for (const m of s.matchAll(/[A-Za-z_][A-Za-z0-9_]{2,}/g)) set.add(m[0]);
  return set;
}

/**
 * Snippets from other open documents of the same language: each document is cut into
 * chunks of lines, and the chunks most similar (Jaccard over identifiers) to the text
 * near the cursor are kept within a character budget.
 */
export function extraSnippets(
  current: { uri: string; languageId: string; prefix: string },
  docs: OpenDoc[],
  budgetChars = 1500,
  chunkLines = 20,
): Snippet[] {
  const near = words(current.prefix.slice(-1500));
  if (near.size === 0) return [];
  const scored: { score: number; snippet: Snippet }[] = [];
  for (const d of docs) {
    if (d.uri === current.uri || d.languageId !== current.languageId) continue;
    if (d.text.length > 1_000_000 || looksBinary(d.text.slice(0, 4096))) continue;
    const lines = d.text.split('\n');
    for (let i = 0; i < lines.length; i += chunkLines) {
      const text = lines.slice(i, i + chunkLines).join('\n');
      const w = words(text);
      if (w.size === 0) continue;
      let inter = 0;
      for (const x of w) if (near.has(x)) inter++;
      const score = inter / (near.size + w.size - inter);
      if (score > 0.05) scored.push({ score, snippet: { path: shortPath(d.uri), text: toWellFormed(text) } });
    }
  }
  scored.sort((a, b) => b.score - a.score);
  const out: Snippet[] = [];
  let used = 0;
  for (const s of scored) {
    if (used + s.snippet.text.length > budgetChars) continue;
    out.push(s.snippet);
    used += s.snippet.text.length;
    if (out.length >= 3) break;
  }
  return out;
}

function shortPath(uri: string): string {
  const path = uri.replace(/^file:\/\//, '');
  const parts = path.split('/');
  return decodeURIComponentSafe(parts.slice(-2).join('/'));
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
