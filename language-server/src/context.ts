// Builds the text the engine sees: prefix/suffix windows around the cursor (capped by
// characters; the engine trims by tokens). Context from beyond the window: contextRing.ts.

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
