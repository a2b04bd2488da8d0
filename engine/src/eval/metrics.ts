// Text metrics for completions. All lengths are in characters = Unicode code points,
// so an emoji or a CJK character counts once (matching what a user sees, not UTF-16 units).

function codePoints(s: string): Int32Array {
  const out = new Int32Array(s.length); // upper bound: one code point per UTF-16 unit
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.codePointAt(i)!;
    out[n++] = c;
    if (c > 0xffff) i++;
  }
  return out.subarray(0, n);
}

/**
 * Levenshtein distance over code points. O(n*m) time, O(min(n, m)) memory: one row over the
 * shorter string. The common prefix and suffix are stripped first (cheap and often large).
 */
export function levenshtein(a: string, b: string): number {
  let x = codePoints(a);
  let y = codePoints(b);
  let start = 0;
  while (start < x.length && start < y.length && x[start] === y[start]) start++;
  let endX = x.length;
  let endY = y.length;
  while (endX > start && endY > start && x[endX - 1] === y[endY - 1]) {
    endX--;
    endY--;
  }
  x = x.subarray(start, endX);
  y = y.subarray(start, endY);
  if (x.length < y.length) [x, y] = [y, x]; // y is the shorter: the row runs over it
  const m = y.length;
  if (m === 0) return x.length;
  const row = new Int32Array(m + 1);
  for (let j = 0; j <= m; j++) row[j] = j;
  for (let i = 1; i <= x.length; i++) {
    let diag = row[0]; // row[i-1][j-1]
    row[0] = i;
    const xi = x[i - 1];
    for (let j = 1; j <= m; j++) {
      const up = row[j]; // row[i-1][j]
      const cost = xi === y[j - 1] ? diag : diag + 1;
      const del = up + 1;
      const ins = row[j - 1] + 1;
      row[j] = cost < del ? (cost < ins ? cost : ins) : del < ins ? del : ins;
      diag = up;
    }
  }
  return row[m];
}

function cpLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** 1 - levenshtein / max length (code points); 1 for two empty strings. */
export function editSimilarity(a: string, b: string): number {
  const max = Math.max(cpLength(a), cpLength(b));
  if (max === 0) return 1;
  return 1 - levenshtein(a, b) / max;
}

/** Removes trailing whitespace (spaces, tabs, \r, \n, ...). */
export function trimTrailing(s: string): string {
  return s.replace(/\s+$/u, '');
}

/** First line (up to the first '\n'), with trailing whitespace and '\r' removed. */
export function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return trimTrailing(i < 0 ? s : s.slice(0, i));
}

export function firstLineExactMatch(completion: string, reference: string): boolean {
  return firstLine(completion) === firstLine(reference);
}

export function exactMatch(completion: string, reference: string): boolean {
  return trimTrailing(completion) === trimTrailing(reference);
}

/** Number of characters (code points) of `reference` reproduced before the first difference. */
export function prefixMatchLength(completion: string, reference: string): number {
  const a = completion[Symbol.iterator]();
  let n = 0;
  for (const ch of reference) {
    const next = a.next();
    if (next.done || next.value !== ch) break;
    n++;
  }
  return n;
}

/** Did the completion finish the identifier the cursor was inside (`conti|` -> `nue...`)? */
export function identifierContinuation(completion: string, restOfIdentifier: string): boolean {
  return completion.startsWith(restOfIdentifier);
}
