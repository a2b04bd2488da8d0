// Token budgets for the prompt's prefix and suffix, counted with the real tokenizer and trimmed at
// line boundaries (the prefix loses its oldest lines, the suffix its last ones).
import { Tokenizer } from '../tokenizer/tokenizer';

function lineStarts(s: string): number[] {
  const out = [0];
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) out.push(i + 1);
  return out;
}

/** The longest tail of `prefix`, starting at a line start, whose encoding fits in `budget` tokens. */
export function trimPrefix(tok: Tokenizer, prefix: string, budget: number): string {
  // Characters first: a token holds at most a few dozen characters, so a huge file is cut cheaply.
  if (prefix.length > budget * 16) prefix = prefix.slice(prefix.length - budget * 16);
  if (tok.encode(prefix).length <= budget) return prefix;
  const starts = lineStarts(prefix);
  // Binary search the first line start whose tail fits.
  let lo = 1;
  let hi = starts.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (tok.encode(prefix.slice(starts[mid])).length <= budget) {
      best = mid;
      hi = mid - 1;
    } else lo = mid + 1;
  }
  if (best >= 0) return prefix.slice(starts[best]);
  // One line longer than the budget: keep its tail by characters.
  let tail = prefix.slice(starts[starts.length - 1]);
  while (tail.length > 0 && tok.encode(tail).length > budget) tail = tail.slice(Math.ceil(tail.length / 4));
  return tail;
}

/** The longest head of `suffix`, ending at a line end, whose encoding fits in `budget` tokens. */
export function trimSuffix(tok: Tokenizer, suffix: string, budget: number): string {
  if (suffix.length > budget * 16) suffix = suffix.slice(0, budget * 16);
  if (tok.encode(suffix).length <= budget) return suffix;
  const ends = lineStarts(suffix).slice(1); // a head ending just after each newline
  let lo = 0;
  let hi = ends.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (tok.encode(suffix.slice(0, ends[mid])).length <= budget) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (best >= 0) return suffix.slice(0, ends[best]);
  let head = suffix.slice(0, ends[0] ?? suffix.length);
  while (head.length > 0 && tok.encode(head).length > budget) head = head.slice(0, Math.floor((head.length * 3) / 4));
  return head;
}
